"""Inference: predict, suggest (evidence offsets, confidence), score (tables), the default model."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from fakes import HashingEncoder
from synthetic import fake_environment, unit_text, write_document, write_examples

from matrixcoder.corpus import ingest_paths, load_corpus, read_document, segment
from matrixcoder.encoding import embeddings
from matrixcoder.inference.aggregate import aggregate
from matrixcoder.inference.corpus_reader import open_corpus
from matrixcoder.inference.local_engine import LocalEngine
from matrixcoder.inference.score import score_corpus
from matrixcoder.inference.suggest import suggest_documents
from matrixcoder.labels import load_codebook
from matrixcoder.models.predictor import Predictor
from matrixcoder.training import default_model as default
from matrixcoder.training.train import TrainConfig, train_model


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inference")
    with pytest.MonkeyPatch.context() as patch:
        fake_environment(patch, tmp / "home")
        result = train_model(write_examples(tmp / "examples.jsonl"), tmp / "model", TrainConfig(n_splits=3, min_positives=5))
        docs = tmp / "docs"
        write_document(docs / "CIVIS" / "civis-page.md", ["AP-MC", "CL1", None, "AP-MC"], seed=1)
        write_document(docs / "ECIU" / "eciu-event.txt", ["AP-EVENT", None, "FD3"], seed=2)
        write_document(docs / "ECIU" / "eciu-news.txt", [None, None], seed=3)
        yield tmp, result.bundle, docs


def test_predict_scores_every_label_for_unseen_text(env, tmp_path, monkeypatch, capsys):
    _, bundle, _ = env
    units = tmp_path / "units.jsonl"
    texts = ["A brand new sentence about stackable credits towards a degree.", "Nothing the model has ever seen: zebra quantum tango."]
    units.write_text("".join(json.dumps({"unit_id": f"u{i}", "text": t, "extra": 1}) + "\n" for i, t in enumerate(texts)))
    code, out, _ = run_cli(monkeypatch, capsys, "predict", units, "--model", bundle.path)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["unit_id"] for line in lines] == ["u0", "u1"]
    labels = load_codebook().label_ids
    thresholds = dict(zip(labels, bundle.thresholds, strict=False))
    for line in lines:
        assert set(line) == {"unit_id", "codes", "scores"}
        assert list(line["scores"]) == labels
        assert all(0.0 <= p <= 1.0 for p in line["scores"].values())
        assert all(line["scores"][c] >= round(thresholds[c], 4) - 1e-4 for c in line["codes"])
    assert "CL1" in lines[0]["codes"]


def test_predict_rejects_a_line_without_text(env, tmp_path, monkeypatch, capsys):
    units = tmp_path / "units.jsonl"
    units.write_text(json.dumps({"unit_id": "u1", "text": "fine"}) + "\n" + json.dumps({"unit_id": "u2"}) + "\n")
    code, out, err = run_cli(monkeypatch, capsys, "predict", units, "--model", env[1].path)
    assert code == 2 and out == ""
    assert f"{units}:2" in err and "'text'" in err and len(err.strip().splitlines()) == 1


def test_suggest_evidence_offsets_round_trip_and_confidence_is_top_k_noisy_or(env):
    _, bundle, docs = env
    predictor = Predictor(bundle, embeddings.Embedder(HashingEncoder(), None))
    codebook = load_codebook()
    paths = [docs / "CIVIS" / "civis-page.md", docs / "ECIU" / "eciu-event.txt"]
    suggestions = suggest_documents(paths, predictor, codebook)
    assert [s.doc_id for s in suggestions] == ["civis-page", "eciu-event"]
    assert "AP-MC" in {c.code for c in suggestions[0].codes}
    for path, suggestion in zip(paths, suggestions, strict=False):
        text = read_document(path).text
        units = segment(read_document(path))
        scores = predictor.score([u.text for u in units])
        gated = scores.probabilities * (scores.relevance >= bundle.thresholds[-1])[:, None]
        for code in suggestion.codes:
            assert 1 <= len(code.evidence) <= 3 and code.evidence_count >= len(code.evidence)
            for evidence in code.evidence:
                assert text[evidence.start : evidence.end] == evidence.text
            assert [e.score for e in code.evidence] == sorted((e.score for e in code.evidence), reverse=True)
            j = codebook.label_ids.index(code.code)
            top = np.sort(gated[:, j])[::-1][:3]
            assert code.confidence == pytest.approx(1 - np.prod(1 - top), abs=1e-4)
        groups = suggestion.by_dimension(codebook)
        order = [d.id for d in sorted(codebook.dimensions, key=lambda d: d.order)] + ["AP"]
        assert [g[0] for g in groups] == [d for d in order if d in {g[0] for g in groups}]
        for _, _, codes in groups:
            assert [c.confidence for c in codes] == sorted((c.confidence for c in codes), reverse=True)


def test_suggest_command_json_and_table(env, monkeypatch, capsys):
    _, bundle, docs = env
    code, out, _ = run_cli(monkeypatch, capsys, "suggest", docs / "CIVIS" / "civis-page.md", "--model", bundle.path, "--format", "json")
    assert code == 0
    document = json.loads(out)["documents"][0]
    evidence = document["dimensions"][-1]["codes"][0]["evidence"][0]
    assert set(evidence) == {"unit_id", "text", "start", "end", "score"}
    code, out, _ = run_cli(monkeypatch, capsys, "suggest", docs / "ECIU" / "eciu-event.txt", "--model", bundle.path)
    assert code == 0 and "eciu-event" in out and "AP-EVENT" in out


def test_suggest_unreadable_file_exits_2(env, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "image.png"
    bad.write_bytes(b"\x89PNG")
    code, out, err = run_cli(monkeypatch, capsys, "suggest", bad, "--model", env[1].path)
    assert code == 2 and "image.png" in err


def test_aggregate_gates_ranks_and_limits_evidence():
    probabilities = np.array([[0.9, 0.1], [0.5, 0.2], [0.6, 0.3], [0.4, 0.0], [0.95, 0.0]])
    relevant = np.array([True, True, True, True, False])
    predicted = probabilities >= 0.45
    predicted[4] = False
    summary = aggregate(probabilities, relevant, predicted, k=3)
    assert summary.confidence[0] == pytest.approx(1 - 0.1 * 0.4 * 0.5)  # top 3 relevant: .9 .6 .5
    assert summary.evidence_count.tolist() == [3, 0]
    assert summary.evidence[0] == [0, 2, 1]
    assert summary.evidence[1] == []


def test_score_writes_unit_scores_document_codes_alliance_matrix_and_approach_table(env, monkeypatch, capsys):
    tmp, bundle, docs = env
    ingest_paths([docs], tmp / "corpus")
    corpus = load_corpus(tmp / "corpus")
    code, out, _ = run_cli(monkeypatch, capsys, "score", tmp / "corpus", "--out", tmp / "scores", "--model", bundle.path)
    assert code == 0 and "Approaches on micro-credentials in each alliance (N = 2)" in out
    scores = tmp / "scores"
    units = pd.read_parquet(scores / "unit_scores.parquet")
    labels = load_codebook().label_ids
    assert len(units) == len(corpus.units) and set(labels) <= set(units.columns)
    assert units["unit_id"].tolist() == corpus.units["unit_id"].tolist()
    doc_codes = pd.read_csv(scores / "document_codes.csv")
    for row in doc_codes.itertuples():
        assert all(unit.startswith(row.doc_id) for unit in row.evidence_units.split())
    matrix = pd.read_csv(scores / "alliance_matrix.csv")
    assert sorted(matrix["alliance"]) == ["CIVIS", "ECIU"]
    assert [c for c in matrix.columns if c.endswith("_confidence")] == [f"{label}_confidence" for label in labels]
    eciu = matrix.set_index("alliance").loc["ECIU"]
    assert eciu["documents"] == 2 and eciu["AP-EVENT_evidence"] >= 1
    table = pd.read_csv(scores / "approach_table.csv", dtype=str, keep_default_na=False)
    assert table["Alliance"].tolist() == ["CIVIS", "ECIU", "No. and % of alliances per type"]
    body = table.iloc[:2]
    types = [c for c in table.columns if c not in ("Alliance", "Types per alliance")]
    assert types == [a.name for a in load_codebook().approach_types]
    for column in types:
        count = (body[column] == "X").sum()
        assert table.iloc[2][column] == f"{count} ({100 * count / 2:.2f}%)"
    assert body["Types per alliance"].astype(int).tolist() == (body[types] == "X").sum(axis=1).tolist()
    assert (scores / "approach_table.md").read_text().startswith("| Alliance |")


def test_score_result_matches_the_predictor(env):
    tmp, bundle, docs = env
    ingest_paths([docs], tmp / "corpus2")
    predictor = Predictor(bundle, embeddings.Embedder(HashingEncoder(), None))
    corpus = load_corpus(tmp / "corpus2")
    result = score_corpus(open_corpus(tmp / "corpus2"), LocalEngine(predictor), load_codebook(), tmp / "scores2")
    table = pd.read_parquet(result.out / "unit_scores.parquet")
    direct = predictor.score(corpus.units["text"].tolist())
    np.testing.assert_allclose(table[direct.label_ids].to_numpy(), direct.probabilities, rtol=1e-5)
    assert table["codes"].map(list).tolist() == direct.codes()


def test_default_model_lives_in_the_home_when_the_checkout_is_read_only(tmp_path, home, monkeypatch):
    """An installed package (site-packages) is never written: the default model goes to MATRIXCODER_HOME."""
    monkeypatch.setattr(default, "_CHECKOUT_MODEL", tmp_path / "readonly" / "models" / "default")
    assert default.default_model_path() == home / "models" / "default"
    (tmp_path / "writable" / "models").mkdir(parents=True)
    monkeypatch.setattr(default, "_CHECKOUT_MODEL", tmp_path / "writable" / "models" / "default")
    assert default.default_model_path() == tmp_path / "writable" / "models" / "default"


def test_default_model_is_trained_once_and_retrained_when_examples_change(tmp_path, fake_encoder, monkeypatch):
    monkeypatch.setattr(default, "default_model_path", lambda: tmp_path / "models" / "default")
    monkeypatch.setattr(default, "DEFAULT_EXAMPLES", tmp_path / "examples.jsonl")
    calls = []
    real_train = default.train_model
    monkeypatch.setattr(default, "train_model", lambda *a, **k: calls.append(a) or real_train(*a, **k))
    codebook = load_codebook()
    with pytest.raises(Exception, match="no shipped examples"):
        default.default_model(codebook)
    write_examples(tmp_path / "examples.jsonl")
    first = default.default_model(codebook)
    again = default.default_model(codebook)
    assert len(calls) == 1 and again.info.created == first.info.created
    write_examples(tmp_path / "examples.jsonl", seed=9)
    default.default_model(codebook)
    assert len(calls) == 2


def test_predict_with_the_real_encoder(tmp_path, home, monkeypatch, capsys):
    examples = write_examples(tmp_path / "examples.jsonl", n_docs=4, units_per_doc=10, seed=4)
    bundle = train_model(examples, tmp_path / "model", TrainConfig(n_splits=3, min_positives=3)).bundle
    units = tmp_path / "units.jsonl"
    units.write_text(json.dumps({"unit_id": "x", "text": "Learners can enrol in an online module of four weeks."}) + "\n")
    code, out, _ = run_cli(monkeypatch, capsys, "predict", units, "--model", bundle.path)
    assert code == 0
    assert len(json.loads(out)["scores"]) == 39


def write_units(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


@pytest.mark.parametrize("content", ["", "\n  \n\n"])
def test_predict_on_a_file_without_units_exits_2(env, tmp_path, monkeypatch, capsys, content):
    # Before: exit 0 with no output at all.
    units = tmp_path / "units.jsonl"
    units.write_text(content)
    code, out, err = run_cli(monkeypatch, capsys, "predict", units, "--model", env[1].path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{units}: no units" in err


def test_predict_refuses_duplicate_unit_ids_naming_line_and_id(env, tmp_path, monkeypatch, capsys):
    # Before: two output lines for "u1", exit 0.
    units = write_units(
        tmp_path / "units.jsonl", [{"unit_id": "u1", "text": "a"}, {"unit_id": "u2", "text": "b"}, {"unit_id": "u1", "text": "c"}]
    )
    code, out, err = run_cli(monkeypatch, capsys, "predict", units, "--model", env[1].path)
    assert code == 2 and out == ""
    assert err == f"matrixcoder: error: {units}:3: duplicate unit_id 'u1' (first on line 1)\n"


def test_predict_warns_once_about_empty_texts_and_scores_them(env, tmp_path, monkeypatch, capsys):
    # Before: no word about them.
    records = [{"unit_id": "u1", "text": ""}, {"unit_id": "u2", "text": "stackable credits"}, {"unit_id": "u3", "text": "  \n"}]
    units = write_units(tmp_path / "units.jsonl", records)
    code, out, err = run_cli(monkeypatch, capsys, "predict", units, "--model", env[1].path)
    assert code == 0
    assert [json.loads(line)["unit_id"] for line in out.splitlines()] == ["u1", "u2", "u3"]
    assert err == f"matrixcoder: warning: {units}: 2 unit(s) with empty text (first on line 1); scored as they are\n"


class NanEncoder(HashingEncoder):
    """The test encoder, broken: a text containing 'zebra' embeds as NaN."""

    def encode(self, texts):
        vectors = super().encode(texts)
        vectors[["zebra" in text for text in texts]] = np.nan
        return vectors


def strict_json(line):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_predict_prints_strict_json_and_refuses_nan_scores(env, tmp_path, monkeypatch, capsys):
    # Before: a NaN embedding gave "SI1": NaN in the output (invalid JSON) and exit 0.
    units = write_units(
        tmp_path / "units.jsonl", [{"unit_id": "ok", "text": "stackable credits"}, {"unit_id": "bad", "text": "zebra tango"}]
    )
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "predict",
        write_units(tmp_path / "good.jsonl", [{"unit_id": "ok", "text": "stackable credits"}]),
        "--model",
        env[1].path,
    )
    assert code == 0 and all(strict_json(line) for line in out.splitlines())
    fake_environment(monkeypatch, tmp_path / "home", encoder=NanEncoder)  # keep NaN vectors out of the shared cache
    code, out, err = run_cli(monkeypatch, capsys, "predict", units, "--model", env[1].path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "NaN scores for 1 unit(s), first 'bad'" in err


def write_suggest_batch(folder, make_pdf):
    """Two readable documents around a PDF without text, as a user would pass them."""
    rng = random.Random(5)
    folder.mkdir()
    html = "".join(f"<p>{unit_text(rng, code)}</p>" for code in ["CL1", "AP-MC", None])
    (folder / "a.html").write_text(f"<html><body><h1>Page</h1>{html}</body></html>", encoding="utf-8")
    make_pdf(folder / "notext.pdf", [[]])
    write_document(folder / "b.txt", ["AP-EVENT", None], seed=6)
    return [folder / "a.html", folder / "notext.pdf", folder / "b.txt"]


def test_suggest_reports_a_bad_file_and_suggests_for_the_rest(env, tmp_path, monkeypatch, capsys, make_pdf):
    # Before: "notext.pdf: PDF has no extractable text" and exit 2, with nothing suggested for a.html and b.txt.
    files = write_suggest_batch(tmp_path / "docs", make_pdf)
    code, out, err = run_cli(monkeypatch, capsys, "suggest", *files, "--model", env[1].path, "--format", "json")
    assert code == 2
    assert [d["doc_id"] for d in json.loads(out)["documents"]] == ["a", "b"]
    assert err.count("\n") == 1 and err.startswith(f"matrixcoder: error: {files[1]}: ")
    code, out, err = run_cli(monkeypatch, capsys, "suggest", *files, "--model", env[1].path)
    assert code == 2 and "a (" in out and "b (" in out and str(files[1]) in err


def test_suggest_qdpx_keeps_the_good_documents_when_one_file_is_bad(env, tmp_path, monkeypatch, capsys, make_pdf):
    import zipfile

    from lxml import etree

    files = write_suggest_batch(tmp_path / "docs", make_pdf)
    out_file = tmp_path / "suggested.qdpx"
    code, out, err = run_cli(monkeypatch, capsys, "suggest", *files, "--model", env[1].path, "--format", "qdpx", "-o", out_file)
    assert code == 2 and "Wrote 2 documents" in out and str(files[1]) in err, err
    with zipfile.ZipFile(out_file) as archive:
        project = etree.fromstring(archive.read("project.qde"))
    assert sorted(s.get("name") for s in project.iter("{*}TextSource")) == ["a.html", "b.txt"]


def test_suggest_with_no_readable_file_reports_each_and_exits_2(env, tmp_path, monkeypatch, capsys, make_pdf):
    files = write_suggest_batch(tmp_path / "docs", make_pdf)
    bad = tmp_path / "docs" / "image.png"
    bad.write_bytes(b"\x89PNG")
    out_file = tmp_path / "suggested.qdpx"
    code, out, err = run_cli(monkeypatch, capsys, "suggest", files[1], bad, "--model", env[1].path, "--format", "qdpx", "-o", out_file)
    lines = err.splitlines()
    assert code == 2 and out == "" and not out_file.exists()
    assert len(lines) == 3 and str(files[1]) in lines[0] and str(bad) in lines[1] and "no document could be read" in lines[2]
