"""Model vs human coders: gold standard, hand-derived comparisons, and held-out folds without leakage."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from matrixcoder.cli import app
from matrixcoder.evaluation import agreement as ag
from matrixcoder.evaluation.held_out import model_codes
from matrixcoder.evaluation.model_vs_human import evaluate_model, gold_standard
from matrixcoder.evaluation.multilabel import BootstrapConfig, coding_table
from matrixcoder.labels.coded_units import CodedUnit, read_coded_units

CONFIG = BootstrapConfig(n_resamples=1000, seed=0)
LABELS = ["SI1", "SI2"]


def _table(rows: dict[str, list], labels=LABELS):
    units = [
        CodedUnit(f"D{i // 2}", f"U{i}", f"text {i}", tuple(codes), coder)
        for coder, codings in rows.items()
        for i, codes in enumerate(codings)
        if codes is not None
    ]
    return coding_table(units, labels)


def test_gold_is_majority_with_ties_to_the_primary_coder() -> None:
    # A codes 4 units, B and C 2 each. Unit 0: A, B, C all SI1 -> SI1. Unit 1: A SI1, B and C
    # none -> 1 of 3, not SI1. Unit 2: A SI2, B none -> tie, A is primary -> SI2. Unit 3: A only.
    rows = {"A": [["SI1"], ["SI1"], ["SI2"], ["SI2"]], "B": [["SI1"], [], [], None], "C": [["SI1"], [], None, None]}
    name, table, description = gold_standard(_table(rows))
    gold = table.coder_index(name)
    assert [table.code_set(gold, u) for u in range(4)] == [{"SI1"}, set(), {"SI2"}, {"SI2"}]
    assert "ties to A" in description


def test_adjudicated_coder_is_the_gold() -> None:
    name, table, _ = gold_standard(_table({"A": [["SI1"]], "adjudicated": [[]]}))
    assert name == "adjudicated" and table.coders == ("A", "adjudicated")


def test_model_against_gold_and_the_human_ceiling() -> None:
    # Humans agree on SI1 everywhere (8 units, 4 with SI1): ceiling alpha 1. The model finds
    # SI1 on 3 of the 4 and adds one false positive: P = R = 3/4.
    human = [["SI1"], [], ["SI1"], [], ["SI1"], [], ["SI1"], []]
    model = np.zeros((8, 2), dtype=bool)
    model[[0, 2, 4, 1], 0] = True
    evaluation = evaluate_model(_table({"A": human, "B": human}), model, "test model", CONFIG)
    vs_gold = evaluation.units["model vs gold"].labels[0].statistics
    assert vs_gold["precision"].value == pytest.approx(3 / 4) and vs_gold["recall"].value == pytest.approx(3 / 4)
    # Two coders, 16 values, 8 ones, 8 zeros, 2 disagreeing units: alpha = 1 - 15 * 2 / 64.
    assert vs_gold["alpha"].value == pytest.approx(1 - 30 / 64)
    assert evaluation.ceiling == "A vs B"
    assert evaluation.units["A vs B"].labels[0].statistics["alpha"].value == 1.0
    assert [label for label, _, _ in evaluation.below_ceiling()] == ["SI1"]
    # Documents are unit pairs: D0 {SI1} (model {SI1}), D1 {SI1} (model {SI1}), D2 {SI1}
    # (model {SI1}), D3 {SI1} (model {}): recall 3/4, precision 1.
    doc = evaluation.documents["model vs gold"].labels[0].statistics
    assert doc["recall"].value == pytest.approx(3 / 4) and doc["precision"].value == 1.0
    json.dumps(evaluation.to_json(), allow_nan=False)


class RandomEncoder:
    """A fixed random unit vector per text: a model that saw a unit can memorise it, no other can."""

    name = "random"
    fingerprint = "random"

    def encode(self, texts):
        rows = []
        for text in texts:
            seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
            rows.append(np.random.default_rng(seed).standard_normal(64))
        return np.array(rows)


@pytest.fixture
def memorisable(tmp_path, monkeypatch, codebook):
    """60 units in 12 documents with random SI1/SI2 codes, and a bundle trained on exactly that file."""
    from matrixcoder.training import embeddings

    monkeypatch.setattr(embeddings, "load_encoder", lambda name=None: RandomEncoder())
    monkeypatch.setattr(embeddings, "default_embedder", lambda encoder: embeddings.Embedder(encoder, None))
    rng = np.random.default_rng(0)
    lines = [
        {"doc_id": f"D{i // 5}", "unit_id": f"U{i:02d}", "text": f"unit {i}", "coder": "A",
         "codes": [label for label in LABELS if rng.random() < 0.4]}
        for i in range(60)
    ]  # fmt: skip
    path = tmp_path / "coded.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    info = {
        "name": "memoriser",
        "training_data": {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "coder": "A"},
        "encoder": {"name": "random"},
        "labels": [{"id": label, "mode": "head"} for label in codebook.label_ids],
        "cv": {"n_splits": 4},
        "config": {"random_state": 0, "C": 4.0},
        "features": "embedding",
    }
    bundle = type("Bundle", (), {"info": info, "path": tmp_path})()
    return path, bundle


def test_held_out_codes_come_from_models_that_never_saw_the_unit(memorisable, codebook) -> None:
    from matrixcoder.training.data import UnitBatch
    from matrixcoder.training.model import MatrixModel

    path, bundle = memorisable
    table = coding_table(read_coded_units(path, codebook), codebook.label_ids)
    made = model_codes(path, table, codebook, bundle)
    assert made.held_out.all() and made.n_folds == 4 and "cross-validation by document" in made.description
    truth = table.codes[0]
    # Power check: a model fitted on these very units reproduces their random codes.
    X = UnitBatch(list(table.texts), RandomEncoder().encode(table.texts))
    fallback = np.zeros(len(codebook.label_ids), dtype=bool)
    seen = MatrixModel("embedding", 4.0, fallback, np.zeros((len(fallback), 64))).fit(X, truth).decision_function(X) >= 0
    si1 = codebook.label_ids.index("SI1")
    assert ag.cohen_kappa(seen[:, si1], truth[:, si1]) > 0.9
    # Held out, random codes cannot be predicted: agreement stays near chance.
    try:
        held_out_kappa = ag.cohen_kappa(made.codes[:, si1], truth[:, si1])
    except ValueError:  # the model predicted one category only: kappa 0/0, no leakage either
        held_out_kappa = 0.0
    assert held_out_kappa < 0.4


def test_evaluate_command_prints_model_beside_humans(memorisable, monkeypatch, tmp_path) -> None:
    path, bundle = memorisable
    lines = path.read_text().splitlines()
    # A second coder on the first 20 units, agreeing with A except on one unit.
    extra = []
    for k, line in enumerate(lines[:20]):
        record = json.loads(line) | {"coder": "B"}
        if k == 3:
            record["codes"] = [] if record["codes"] else ["SI1"]
        extra.append(json.dumps(record))
    path.write_text("\n".join(lines + extra) + "\n")
    bundle.info["training_data"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr("matrixcoder.models.default.resolve_model", lambda model, codebook: bundle)
    result = CliRunner().invoke(app, ["evaluate", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "model vs gold" in result.output and "A vs B\tceiling" in result.output
    data = json.loads((tmp_path / "out" / "evaluate.json").read_text())
    assert data["ceiling"] == "A vs B" and data["units"]["A vs B"]["n_units"] == 20
    assert data["documents"]["A vs B"]["n_units"] == 4  # units 0-19 are documents D0-D3
