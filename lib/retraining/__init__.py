"""Continuous retraining: counting new labels, queueing trainings, the promotion gate and each model's history."""
