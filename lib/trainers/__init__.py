"""Train tasks, one file per model (same names as lib/configs and lib/infers)."""
