"""Evaluation phase: training from scratch, baselines, metrics and comparison tables."""
