"""Datasets in Speech Commands layout, the synthetic corpus, features and their cache."""
