"""Embeddings: normalised vectors, the cache keyed by encoder fingerprint and text, encoder loading."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import HashingEncoder

from matrixcoder.encoding import embeddings
from matrixcoder.encoding.embeddings import DEFAULT_ENCODER, Embedder, EmbeddingCache, SentenceEncoder, load_encoder
from matrixcoder.errors import InputError


def test_vectors_are_unit_length_and_in_input_order(tmp_path):
    embedder = Embedder(HashingEncoder(), EmbeddingCache(tmp_path / "cache.sqlite"))
    texts = ["stackable micro-credentials", "a course on data", "stackable micro-credentials"]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert not np.allclose(vectors[0], vectors[1])


def test_cache_hit_avoids_re_encoding_across_embedders(tmp_path):
    cache_file = tmp_path / "cache.sqlite"
    first = HashingEncoder()
    cold = Embedder(first, EmbeddingCache(cache_file)).embed(["one sentence", "another sentence", "one sentence"])
    assert first.encoded == ["one sentence", "another sentence"]  # duplicates once

    second = HashingEncoder()  # a new process would build a new encoder: the cache is on disk
    warm = Embedder(second, EmbeddingCache(cache_file)).embed(["another sentence", "one sentence", "a new one"])
    assert second.encoded == ["a new one"]
    np.testing.assert_array_equal(warm[0], cold[1])
    np.testing.assert_array_equal(warm[1], cold[0])


def test_cache_is_keyed_by_encoder_fingerprint(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    Embedder(HashingEncoder("v1"), cache).embed(["same text"])
    changed = HashingEncoder("v2")
    Embedder(changed, cache).embed(["same text"])
    assert changed.encoded == ["same text"]


def test_no_cache_encodes_every_time():
    encoder = HashingEncoder()
    embedder = Embedder(encoder, None)
    embedder.embed(["x y"])
    embedder.embed(["x y"])
    assert encoder.encoded == ["x y", "x y"]


def test_default_embedder_uses_matrixcoder_home(home):
    embeddings.default_embedder(HashingEncoder()).embed(["text"])
    assert (home / "embeddings.sqlite").is_file()


def test_fingerprint_follows_weights_and_config_but_not_readme(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "modules.json").write_text("[]")
    (folder / "model.safetensors").write_bytes(b"weights-1")
    (folder / "README.md").write_text("about")
    encoder = load_encoder(str(folder))
    before = encoder.fingerprint
    (folder / "README.md").write_text("about, edited")
    assert SentenceEncoder(encoder.name, folder).fingerprint == before
    (folder / "model.safetensors").write_bytes(b"weights-2")
    assert SentenceEncoder(encoder.name, folder).fingerprint != before


def test_unknown_encoder_is_input_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(InputError, match="no such model folder"):
        load_encoder("no-such-org/no-such-model")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="not a sentence-transformers model folder"):
        load_encoder(str(empty))


def test_real_default_encoder_embeds_and_caches(tmp_path):
    encoder = load_encoder(None)
    assert encoder.name == DEFAULT_ENCODER and len(encoder.fingerprint) == 64
    embedder = Embedder(encoder, EmbeddingCache(tmp_path / "cache.sqlite"))
    texts = [
        "Micro-credentials can be stacked towards a master's degree.",
        "Short courses may be accumulated into a full degree.",
        "The canteen serves lunch from noon.",
    ]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    cached = EmbeddingCache(tmp_path / "cache.sqlite").get(encoder.fingerprint, [embeddings.text_key(t) for t in texts])
    assert len(cached) == 3
    np.testing.assert_allclose(cached[embeddings.text_key(texts[2])], vectors[2])


def test_an_unwritable_home_is_one_clear_error(tmp_path, monkeypatch):
    from matrixcoder.errors import InputError
    from matrixcoder.home import home

    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("MATRIXCODER_HOME", str(blocker / "home"))
    with pytest.raises(InputError, match="MATRIXCODER_HOME"):
        home()
