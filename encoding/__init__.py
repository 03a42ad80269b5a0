"""The model runtime shared by training and inference: encoders, the embedding cache, TF-IDF features, unit batches."""
