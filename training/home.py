"""Where run stores and caches live: ``<repo>/.matrixcoder`` unless ``MATRIXCODER_HOME`` says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import matrixcoder

__all__ = ["home", "tracking_uri"]


def home() -> Path:
    """The folder for the embedding cache and the MLflow store (created on demand)."""
    folder = Path(os.environ.get("MATRIXCODER_HOME") or Path(matrixcoder.__file__).resolve().parent / ".matrixcoder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def tracking_uri() -> str:
    """MLflow tracking URI: ``MLFLOW_TRACKING_URI`` if set, else a SQLite store in :func:`home`."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home() / 'mlflow.db'}"
