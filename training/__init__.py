"""Embeddings, per-label classifiers with tuned thresholds, baselines and cross-validation."""
