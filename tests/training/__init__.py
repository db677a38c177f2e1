"""Tests of lib/training."""
