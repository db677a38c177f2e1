"""MONAI transform chains shared by the infer tasks and trainers (same preprocessing on both sides)."""
