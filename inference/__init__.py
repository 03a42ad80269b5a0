"""Applying a model bundle: unit scores, document suggestions with evidence, corpus scoring."""
