"""Model bundles: pickle-free files and loading, codebook refusal, damage checks, MLflow logging."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fakes import HashingEncoder
from synthetic import fake_environment, write_examples

from matrixcoder.encoding import embeddings
from matrixcoder.errors import InputError
from matrixcoder.labels import load_codebook
from matrixcoder.labels.codebook import DEFAULT_CODEBOOK
from matrixcoder.models.bundle import load_bundle
from matrixcoder.models.info import EncoderInfo, LabelInfo
from matrixcoder.models.predictor import Predictor
from matrixcoder.training.train import TrainConfig, train_model


def _trained(tmp, mlflow):
    with pytest.MonkeyPatch.context() as patch:
        fake_environment(patch, tmp / "home", mlflow=mlflow)
        examples = write_examples(tmp / "examples.jsonl", 6, 12, labels=("AP-MC", "CL1", "FD3"), n_empty=1, sentence=False)
        yield tmp, train_model(examples, tmp / "model", TrainConfig(n_splits=3, min_positives=5))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A trained bundle (with TF-IDF features forced off or on by the data) and the patched
    environment; saved without MLflow, which ``mlflow_env`` has."""
    yield from _trained(tmp_path_factory.mktemp("bundle"), mlflow=False)


@pytest.fixture(scope="module")
def mlflow_env(tmp_path_factory):
    """As ``env``, trained with MLflow logging in the home's store."""
    yield from _trained(tmp_path_factory.mktemp("bundle-mlflow"), mlflow=True)


def test_bundle_has_no_pickle_and_loads_with_pickle_disabled(env, monkeypatch):
    tmp, result = env
    folder = result.bundle.path
    for file in folder.rglob("*"):
        if file.is_file():
            assert file.suffix in {".json", ".npy", ".md"}, file
            assert not file.read_bytes().startswith(b"\x80"), f"{file} looks like a pickle"

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading a bundle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    bundle = load_bundle(folder, load_codebook())
    assert bundle.coef_embedding.dtype == np.float32
    scores = Predictor(bundle, embeddings.Embedder(HashingEncoder(), None)).score(["stackable credits towards a degree"])
    assert scores.probabilities.shape == (1, 39)


def test_arrays_match_the_trained_model(env):
    _, result = env
    loaded = load_bundle(result.bundle.path)
    np.testing.assert_allclose(loaded.coef_embedding, result.bundle.coef_embedding, rtol=1e-6)
    np.testing.assert_allclose(loaded.thresholds, result.bundle.thresholds, atol=1e-6)
    assert loaded.label_ids == load_codebook().label_ids
    assert loaded.info.training_data.sha256 == hashlib.sha256((env[0] / "examples.jsonl").read_bytes()).hexdigest()
    assert loaded.info.codebook.content_hash == load_codebook().content_hash
    assert loaded.info.encoder == EncoderInfo(name="hashing-test-encoder", fingerprint="hashing-64", dim=64)


def test_different_codebook_exits_2_with_a_clear_message(env, tmp_path, monkeypatch, capsys):
    from matrixcoder.cli import main

    _, result = env
    raw = yaml.safe_load(DEFAULT_CODEBOOK.read_text())
    raw["version"] = "9.9.9"
    raw["codes"][0]["indicator"] += " Edited."
    other = tmp_path / "codebook.yaml"
    other.write_text(yaml.safe_dump(raw, allow_unicode=True))
    units = tmp_path / "units.jsonl"
    units.write_text(json.dumps({"unit_id": "u1", "text": "stackable credits"}) + "\n")
    monkeypatch.setattr("sys.argv", ["matrixcoder", "predict", str(units), "--model", str(result.bundle.path), "--codebook", str(other)])
    with pytest.raises(SystemExit) as stop:
        main()
    captured = capsys.readouterr()
    assert stop.value.code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "trained on codebook version 1.0.0" in lines[0] and "9.9.9" in lines[0] and "retrain" in lines[0]


def test_damaged_bundles_are_input_errors(env, tmp_path):
    _, result = env
    with pytest.raises(InputError, match="not a model bundle"):
        load_bundle(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(result.bundle.path, copy)
    np.save(copy / "weights" / "intercept.npy", np.zeros(3))
    with pytest.raises(InputError, match="array shapes"):
        load_bundle(copy)
    np.save(copy / "weights" / "intercept.npy", np.array([{"x": 1}], dtype=object))
    with pytest.raises(InputError, match="not a plain numeric array"):
        load_bundle(copy)
    (copy / "weights" / "intercept.npy").unlink()
    with pytest.raises(InputError, match="missing"):
        load_bundle(copy)


def test_mlflow_run_logs_params_metrics_artifacts_and_a_pyfunc_model(mlflow_env):
    import mlflow

    tmp, result = mlflow_env
    assert result.bundle.info.mlflow is not None
    run_id = result.bundle.info.mlflow.run_id
    assert json.loads((result.bundle.path / "bundle.json").read_text())["mlflow"]["run_id"] == run_id
    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'home' / 'mlflow.db'}")
    run = mlflow.get_run(run_id)
    assert run.data.params["features"] == result.bundle.info.features
    assert run.data.params["codebook_hash"] == load_codebook().content_hash
    assert "model.macro_f1" in run.data.metrics and "f1.CL1" in run.data.metrics
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "bundle")}
    assert "bundle/MODEL.md" in artifacts
    assert run.info.artifact_uri.startswith((tmp / "home" / "mlartifacts").as_uri())  # beside the store, not in the cwd

    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    output = model.predict(pd.DataFrame({"text": ["stackable credits accumulate towards a degree", "lunch at the canteen"]}))
    assert list(output.columns[:2]) == ["codes", "relevance"]
    assert list(output.columns[2:]) == load_codebook().label_ids
    local = Predictor(result.bundle, embeddings.Embedder(HashingEncoder(), None)).score(
        ["stackable credits accumulate towards a degree", "lunch at the canteen"]
    )
    np.testing.assert_allclose(output[load_codebook().label_ids].to_numpy(), local.probabilities, rtol=1e-6, atol=1e-9)
    model_dir = mlflow.artifacts.download_artifacts(f"runs:/{run_id}/model")
    assert not [p for p in Path(model_dir).rglob("*") if p.suffix in {".pkl", ".pickle", ".joblib"}]


def damaged_copy(result, tmp_path):
    """A copy of the trained bundle to damage, so the module's bundle stays intact."""
    copy = tmp_path / "copy"
    shutil.copytree(result.bundle.path, copy)
    return copy


def edit_json(file, change):
    content = json.loads(file.read_text())
    change(content)
    file.write_text(json.dumps(content))


def run_predict(monkeypatch, capsys, tmp_path, model, *extra):
    from matrixcoder.cli import main

    units = tmp_path / "units.jsonl"
    units.write_text(json.dumps({"unit_id": "u1", "text": "stackable credits"}) + "\n")
    monkeypatch.setattr("sys.argv", ["matrixcoder", "predict", str(units), "--model", str(model), *extra])
    with pytest.raises(SystemExit) as stop:
        main()
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err


@pytest.mark.parametrize(("name", "value"), [("intercept", np.nan), ("coef_embedding", np.inf), ("coef_embedding", -np.inf)])
def test_non_finite_weights_are_refused_naming_the_file(env, tmp_path, monkeypatch, capsys, name, value):
    # Before: the bundle loaded and predict printed "SI1": NaN (not JSON) with exit 0.
    copy = damaged_copy(env[1], tmp_path)
    file = copy / "weights" / f"{name}.npy"
    array = np.load(file)
    array.flat[0] = value
    np.save(file, array)
    with pytest.raises(InputError, match="1 of .* values are NaN or infinite") as error:
        load_bundle(copy)
    assert error.value.source == str(file)
    code, out, err = run_predict(monkeypatch, capsys, tmp_path, copy)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{name}.npy" in err and "NaN" in err


@pytest.mark.parametrize(
    ("file", "change", "problem"),
    [
        ("thresholds.json", lambda t: t.update(SI1="high"), 'threshold of SI1 is "high"'),
        ("thresholds.json", lambda t: t.update(SI1="0.5"), 'threshold of SI1 is "0.5"'),
        ("thresholds.json", lambda t: t.update(relevance=None), "threshold of relevance is null"),
        ("thresholds.json", lambda t: t.update(CL1=float("nan")), "threshold of CL1 is nan"),
        ("thresholds.json", lambda t: t.update(CL1=7), "threshold of CL1 is 7"),
        ("thresholds.json", lambda t: t.pop("CL2"), "no threshold for CL2"),
        ("bundle.json", lambda b: b["encoder"].update(dim="64"), "'encoder.dim' must be a whole number"),
        ("bundle.json", lambda b: b["codebook"].update(content_hash=5), "'codebook.content_hash' must be text"),
        ("bundle.json", lambda b: b.update(features=["tfidf"]), "'features' must be text"),
        ("bundle.json", lambda b: b["labels"].__setitem__(0, "SI1"), r"labels\[0\] must be an object"),
        ("bundle.json", lambda b: b["labels"][1].update(id=2), r"'labels\[1\].id' must be text"),
    ],
)
def test_bundle_json_with_wrong_types_is_an_input_error(env, tmp_path, file, change, problem):
    # Before: strings in thresholds.json gave "ValueError: could not convert string to float" (exit 1).
    copy = damaged_copy(env[1], tmp_path)
    edit_json(copy / file, change)
    with pytest.raises(InputError, match=problem) as error:
        load_bundle(copy)
    assert error.value.source == str(copy / file)


def test_deeply_nested_or_non_object_bundle_json_is_an_input_error(env, tmp_path):
    copy = damaged_copy(env[1], tmp_path)
    (copy / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        load_bundle(copy)
    (copy / "metrics.json").write_text("[]")
    with pytest.raises(InputError, match="expected a JSON object"):
        load_bundle(copy)


def rename_label(folder, old, new):
    edit_json(folder / "bundle.json", lambda b: next(label for label in b["labels"] if label["id"] == old).update(id=new))
    edit_json(folder / "thresholds.json", lambda t: t.update({new: t.pop(old)}))


def test_renamed_or_reordered_labels_say_what_differs(env, tmp_path, monkeypatch, capsys):
    # Before: "trained on codebook version 1.0.0 (hash 8889396b3628), but ... version 1.0.0 (hash 8889396b3628)".
    copy = damaged_copy(env[1], tmp_path)
    rename_label(copy, "SI1", "ZZ1")
    code, out, err = run_predict(monkeypatch, capsys, tmp_path, copy)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "labels differ: model has ZZ1, codebook has SI1" in err and "hash" not in err
    rename_label(copy, "ZZ1", "SI1")
    edit_json(copy / "bundle.json", lambda b: b["labels"].insert(0, b["labels"].pop(1)))
    with pytest.raises(InputError, match="labels are in another order: label 1 is SI2 in the model, SI1 in the codebook"):
        load_bundle(copy, load_codebook())
    bundle = load_bundle(env[1].bundle.path)
    bundle.info = replace(bundle.info, labels=(*bundle.info.labels, LabelInfo(id="XX9", mode="zero-shot", support=0)))
    with pytest.raises(InputError, match=r"labels differ: model has XX9; retrain"):
        bundle.check_codebook(load_codebook())
