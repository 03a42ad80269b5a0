"""Test doubles shared by the test modules (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import hashlib
import re

import numpy as np

__all__ = ["HashingEncoder"]


class HashingEncoder:
    """Deterministic hashed bag of words: a fast stand-in for the sentence encoder.

    It records the texts it encodes and the number of calls, and can fail on a given call
    to simulate an interrupted run.

    Args:
        fingerprint: The encoder identity the embedding cache keys on.
        fail_on_call: Raise ``RuntimeError`` on this call (1-based); None never fails.
    """

    name = "hashing-test-encoder"

    def __init__(self, fingerprint: str = "hashing-64", fail_on_call: int | None = None) -> None:
        self.fingerprint = fingerprint
        self.fail_on_call = fail_on_call
        self.calls = 0
        self.encoded: list[str] = []

    def encode(self, texts):
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("interrupted")
        self.encoded.extend(texts)
        vectors = np.full((len(texts), 64), 1e-3, dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                vectors[i, h % 64] += 3.0 if (h >> 7) % 2 else -3.0
        return vectors
