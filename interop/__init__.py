"""Exchange with the analysts' tools: REFI-QDA projects and codebooks (NVivo, ATLAS.ti, MAXQDA, QualCoder), Label Studio, Prodigy, doccano."""
