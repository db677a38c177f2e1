"""Per-study pipelines that compose the spine core into the product's result documents (numpy only)."""
