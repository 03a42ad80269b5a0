"""Model vs human coders: gold standard, hand-derived comparisons, and held-out folds without leakage."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from matrixcoder.cli import app
from matrixcoder.evaluation import agreement as ag
from matrixcoder.evaluation.coding_agreement import BootstrapConfig, coding_table
from matrixcoder.evaluation.held_out import model_codes
from matrixcoder.evaluation.model_vs_human import evaluate_model, gold_standard
from matrixcoder.labels.coded_units import CodedUnit, read_coded_units
from matrixcoder.models.info import BundleInfo, CodebookRef, ConfigInfo, CVInfo, EncoderInfo, LabelInfo, TrainingDataInfo

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
    from matrixcoder.encoding import embeddings

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
    info = BundleInfo(
        name="memoriser",
        created="2025-01-01T00:00:00+00:00",
        encoder=EncoderInfo(name="random", fingerprint="random", dim=64),
        codebook=CodebookRef(codebook.name, codebook.version, codebook.content_hash),
        training_data=TrainingDataInfo(
            path="", sha256=hashlib.sha256(path.read_bytes()).hexdigest(), coder="A", units=60, documents=12, empty_units=0
        ),
        features="embedding",
        labels=tuple(LabelInfo(id=label, mode="head", support=0) for label in codebook.label_ids),
        config=ConfigInfo(n_splits=4, C=4.0, min_positives=1, random_state=0),
        cv=CVInfo(n_splits=4, n_repeats=1, feature_sets=("embedding",), micro_f1=0.0, macro_f1=0.0, mean_kappa=0.0),
    )
    bundle = type("Bundle", (), {"info": info, "path": tmp_path})()
    return path, bundle


def test_held_out_codes_come_from_models_that_never_saw_the_unit(memorisable, codebook) -> None:
    from matrixcoder.encoding.batch import UnitBatch
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
    bundle.info = replace(
        bundle.info, training_data=replace(bundle.info.training_data, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    )
    monkeypatch.setattr("matrixcoder.training.default_model.resolve_model", lambda model, codebook: bundle)
    result = CliRunner().invoke(app, ["evaluate", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "model vs gold" in result.output and "A vs B\tceiling" in result.output
    data = json.loads((tmp_path / "out" / "evaluate.json").read_text())
    assert data["ceiling"] == "A vs B" and data["units"]["A vs B"]["n_units"] == 20
    assert data["documents"]["A vs B"]["n_units"] == 4  # units 0-19 are documents D0-D3


# Issue 10, item 3: overlap with the training data is found by unit, not by file hash.

TRAINED_LABELS = ["CL1", "AP-MC", "SI6", "FD3", "CB4"]


def _examples(n_docs: int, first_doc: int = 0, seed: int = 0) -> list[dict]:
    """Units of 6 words from 400 with random codes: a model can memorise them, never predict them."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(400)]
    return [
        {"doc_id": f"D{d}", "unit_id": f"D{d}-{u}", "text": " ".join(rng.choice(words, 6, replace=False)),
         "codes": [label for label in TRAINED_LABELS if rng.random() < 0.3], "coder": "A"}
        for d in range(first_doc, first_doc + n_docs)
        for u in range(14)
    ]  # fmt: skip


def _write(path, records) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


@pytest.fixture(scope="module")
def trained_bundle(tmp_path_factory):
    """A real bundle, trained with the hashing encoder on 126 units of 9 documents."""
    from synthetic import fake_environment

    from matrixcoder.training.train import TrainConfig, train_model

    tmp = tmp_path_factory.mktemp("trained")
    examples = tmp / "examples.jsonl"
    _write(examples, _examples(9))
    with pytest.MonkeyPatch.context() as patch:
        # MLflow logging is not under test here and costs ~20 s of store creation: save the bundle only.
        fake_environment(patch, tmp / "home")
        train_model(examples, tmp / "model", TrainConfig(n_splits=3, min_positives=5))
    return examples, tmp / "model"


@pytest.fixture
def relabelled(trained_bundle, tmp_path, fake_encoder):
    """The training file with 30 lines relabelled, plus 28 units of 2 documents the model never saw."""
    examples, model = trained_bundle
    records = [json.loads(line) for line in examples.read_text().splitlines()]
    for record in records[::4][:30]:
        record["codes"] = [] if record["codes"] else ["CB4"]
    gold = tmp_path / "gold.jsonl"
    _write(gold, records + _examples(2, first_doc=9, seed=1))
    return gold, examples, model


def test_trained_units_are_found_by_unit_and_cross_fitted(relabelled, codebook) -> None:
    from matrixcoder.models.bundle import load_bundle

    gold, examples, model = relabelled
    bundle = load_bundle(model, codebook)
    assert len(bundle.info.training_data.unit_keys) == 126 * 12
    table = coding_table(read_coded_units(gold, codebook), codebook.label_ids)
    made = model_codes(gold, table, codebook, bundle)
    # Before: file hashes differ, so "not trained on this file" and all 154 units scored by the bundle.
    assert made.n_trained == 126 and made.n_folds == 3 and made.scored.all()
    assert "126 of 154 gold units were in the model's training data" in made.description
    assert "scored by cross-fitting" in made.description and "the other 28 units" in made.description
    # The 126 training units get exactly the out-of-fold codes they get on the training file itself.
    own = coding_table(read_coded_units(examples, codebook), codebook.label_ids)
    cross_fitted = model_codes(examples, own, codebook, bundle)
    assert cross_fitted.held_out.all()
    assert made.held_out[:126].all() and not made.held_out[126:].any()
    assert np.array_equal(np.asarray(made.codes[:126]), np.asarray(cross_fitted.codes))
    # ...and not the bundle's own codes for them, which it fitted on those very units.
    from matrixcoder.models.predictor import Predictor

    memorised = Predictor.from_bundle(bundle).score(list(own.texts)).predicted
    assert not np.array_equal(memorised, np.asarray(cross_fitted.codes))


def test_evaluate_excludes_trained_units_when_the_training_file_is_gone(relabelled, tmp_path) -> None:
    gold, examples, model = relabelled
    examples.rename(examples.with_suffix(".moved"))
    try:
        result = CliRunner().invoke(app, ["evaluate", str(gold), "--model", str(model), "--out", str(tmp_path / "out")])
    finally:
        examples.with_suffix(".moved").rename(examples)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "evaluate.json").read_text())
    assert data["excluded_units"] == 126
    assert data["units"]["model vs gold"]["n_units"] == 28 and data["units"]["model vs A"]["n_units"] == 28
    markdown = (tmp_path / "out" / "evaluate.md").read_text()
    assert "126 of 154 gold units were in the model's training data (matched by document id and text): excluded" in markdown


def test_evaluate_report_says_how_many_units_were_cross_fitted(relabelled, tmp_path) -> None:
    gold, _, model = relabelled
    result = CliRunner().invoke(app, ["evaluate", str(gold), "--model", str(model), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "evaluate.json").read_text())
    assert data["excluded_units"] == 0 and data["units"]["model vs gold"]["n_units"] == 154
    assert (
        "126 of 154 gold units were in the model's training data (matched by document id and text): scored by cross-fitting"
        in data["model"]
    )
    assert "not trained on this file" not in (tmp_path / "out" / "evaluate.md").read_text()


# Issue 10, friction: with two coders, say how the gold is formed, compare on the same units, explain MODEL.md.


def test_below_ceiling_compares_the_model_on_the_ceilings_own_units() -> None:
    # A and B agree on units 0-3 (SI1 on 0 and 2), where the model is right too; A alone codes
    # units 4-11, where the model is wrong on half. On the units both humans coded the model
    # equals them: not below. Before, its alpha on all 12 units (below 1) was set beside theirs.
    a = [["SI1"], [], ["SI1"], [], ["SI1"], [], ["SI1"], [], ["SI1"], [], ["SI1"], []]
    b = a[:4] + [None] * 8
    model = np.zeros((12, 2), dtype=bool)
    model[[0, 2, 4, 5, 8, 9], 0] = True
    evaluation = evaluate_model(_table({"A": a, "B": b}), model, "test model", CONFIG)
    assert evaluation.units["model vs gold"].n_units == 12
    assert evaluation.units["model vs gold"].labels[0].statistics["alpha"].value < 1
    same = evaluation.units["model vs gold, ceiling units"]
    assert same.n_units == evaluation.units["A vs B"].n_units == 4
    assert same.labels[0].statistics["alpha"].value == 1.0
    assert evaluation.below_ceiling("units") == [] and evaluation.below_ceiling("documents") == []
    assert evaluation.documents["model vs gold, ceiling units"].n_units == evaluation.documents["A vs B"].n_units == 2


def test_masked_units_are_left_out_of_every_comparison() -> None:
    # Units 4-11 are masked (trained on, not cross-fitted): the model is measured on 0-3 only, and
    # so is the human ceiling, though A coded all 12.
    a = [["SI1"], [], ["SI1"], []] * 3
    model = np.ma.masked_array(np.zeros((12, 2), dtype=bool), mask=np.zeros((12, 2), dtype=bool))
    model[[0, 2], 0] = True
    model[4:] = np.ma.masked
    evaluation = evaluate_model(_table({"A": a, "B": a}), model, "test model", CONFIG)
    assert evaluation.excluded == 8
    assert all(result.n_units == 4 for result in evaluation.units.values())
    assert evaluation.units["model vs A"].labels[0].statistics["kappa"].value == 1.0


def test_report_says_how_gold_is_formed_and_why_figures_differ_from_the_card(relabelled, tmp_path) -> None:
    gold, _, model = relabelled
    records = [json.loads(line) for line in gold.read_text().splitlines()]
    second = [record | {"coder": "B"} for record in records[:20] + records[-14:]]
    second[5]["codes"] = [] if second[5]["codes"] else ["SI6"]
    with gold.open("a") as handle:
        handle.write("".join(json.dumps(record) + "\n" for record in second))
    result = CliRunner().invoke(app, ["evaluate", str(gold), "--model", str(model), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "evaluate.json").read_text())
    assert data["units"]["A vs B"]["n_units"] == data["units"]["model vs gold, ceiling units"]["n_units"] == 34
    assert data["documents"]["A vs B"]["n_units"] == data["documents"]["model vs gold, ceiling units"]["n_units"]
    markdown = (tmp_path / "out" / "evaluate.md").read_text()
    assert "Gold standard: no coder is named 'gold' or 'adjudicated', so a unit's gold codes are the labels given by a majority" in markdown
    assert "ties to A, the primary coder" in markdown
    assert "Labels are compared only on units both sides coded" in markdown and "use the same 34 units" in markdown
    assert "These figures differ from MODEL.md's: MODEL.md reports 3-fold cross-validation by document against coder A's codes" in markdown


def test_description_names_the_repeats_model_md_averages(memorisable, codebook) -> None:
    path, bundle = memorisable
    bundle.info = replace(bundle.info, cv=replace(bundle.info.cv, n_repeats=3))
    table = coding_table(read_coded_units(path, codebook), codebook.label_ids)
    made = model_codes(path, table, codebook, bundle)
    assert "MODEL.md reports the mean over 3 repeats of 4-fold cross-validation by document" in made.description
    assert "here each unit is coded once" in made.description
