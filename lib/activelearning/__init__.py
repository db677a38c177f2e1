"""Active learning: which study to label next (strategies) and the per-study scores they read (scoring methods)."""
