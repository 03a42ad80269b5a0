"""The local score engine: batches, resuming an interrupted run, the shared cache, streamed summaries."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fakes import HashingEncoder
from synthetic import fake_environment, unit_text, write_examples

from matrixcoder.corpus.store import write_corpus
from matrixcoder.encoding import embeddings
from matrixcoder.errors import InputError
from matrixcoder.inference import summary
from matrixcoder.inference.aggregate import aggregate
from matrixcoder.inference.corpus_reader import open_corpus
from matrixcoder.inference.local_engine import LocalEngine
from matrixcoder.inference.score import score_corpus, work_folder
from matrixcoder.inference.unit_scores import unit_score_batch, unit_score_schema, write_unit_scores
from matrixcoder.labels import load_codebook
from matrixcoder.models.predictor import Predictor
from matrixcoder.training.train import TrainConfig, train_model

LABELS = ("CL1", "AP-MC", "AP-EVENT")  # the draws depend on this order
OUTPUTS = ["document_codes.csv", "alliance_matrix.csv", "approach_table.csv", "approach_table.md"]


def make_corpus(folder, n_docs=6, units_per_doc=9, seed=0):
    """A corpus of distinct sentences; the last document has no alliance."""
    rng = random.Random(seed)
    documents, units = [], []
    for d in range(n_docs):
        doc_id = f"doc-{d}"
        documents.append({"doc_id": doc_id, "alliance": None if d == n_docs - 1 else ["ALPHA", "BETA"][d % 2], "text": ""})
        for u in range(units_per_doc):
            text = unit_text(rng, rng.choice([None, *LABELS]), number=d * 100 + u)
            units.append({"doc_id": doc_id, "unit_id": f"{doc_id}-{u:03d}", "text": text, "start": 0, "end": len(text), "page": None})
    write_corpus(folder, pd.DataFrame(documents), pd.DataFrame(units).astype({"page": "Int64"}), {"documents": n_docs})
    return folder


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("score-resume")
    examples = write_examples(tmp / "examples.jsonl", 6, 14, labels=LABELS, n_empty=1, seed=1, numbered=True)
    with pytest.MonkeyPatch.context() as patch:
        fake_environment(patch, tmp / "home")
        yield train_model(examples, tmp / "model", TrainConfig(n_splits=3, min_positives=5)).bundle, tmp


def engine(bundle, encoder, batch_size=8):
    return LocalEngine(Predictor(bundle, embeddings.Embedder(encoder, None)), batch_size)


def test_an_interrupted_run_resumes_without_recomputing_or_duplicating(bundle, tmp_path):
    bundle, _ = bundle
    corpus = make_corpus(tmp_path / "corpus")
    codebook = load_codebook()
    reference = score_corpus(open_corpus(corpus), engine(bundle, HashingEncoder()), codebook, tmp_path / "reference")

    out = tmp_path / "scores"
    failing = HashingEncoder(fail_on_call=3)  # one call per batch of 8 distinct texts: batches 1 and 2 finish
    with pytest.raises(RuntimeError, match="interrupted"):
        score_corpus(open_corpus(corpus), engine(bundle, failing), codebook, out)
    assert not out.exists()
    assert sorted(p.name for p in work_folder(out).glob("part-*")) == ["part-000000.parquet", "part-000001.parquet"]

    resumed = HashingEncoder()
    result = score_corpus(open_corpus(corpus), engine(bundle, resumed), codebook, out)
    units = pd.read_parquet(corpus / "units.parquet")
    assert len(failing.encoded) == 16 and len(resumed.encoded) == len(units) - 16
    assert set(failing.encoded).isdisjoint(resumed.encoded)
    table = pd.read_parquet(out / "unit_scores.parquet")
    assert table["unit_id"].tolist() == units["unit_id"].tolist()  # corpus order, each unit once
    pd.testing.assert_frame_equal(table, pd.read_parquet(reference.out / "unit_scores.parquet"))
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (reference.out / name).read_bytes()
    assert not work_folder(out).exists() and result.n_units == len(units)


def test_a_different_run_does_not_reuse_finished_batches(bundle, tmp_path):
    bundle, _ = bundle
    corpus = make_corpus(tmp_path / "corpus")
    out = tmp_path / "scores"
    with pytest.raises(RuntimeError):
        score_corpus(open_corpus(corpus), engine(bundle, HashingEncoder(fail_on_call=3)), load_codebook(), out)
    rerun = HashingEncoder()
    score_corpus(open_corpus(corpus), engine(bundle, rerun, batch_size=16), load_codebook(), out)
    assert len(rerun.encoded) == len(pd.read_parquet(corpus / "units.parquet"))


def test_scoring_uses_the_embedding_cache_that_training_filled(bundle, tmp_path, monkeypatch):
    bundle, tmp = bundle
    monkeypatch.setenv("MATRIXCODER_HOME", str(tmp / "home"))
    examples = [json.loads(line) for line in (tmp / "examples.jsonl").read_text().splitlines()]
    documents = pd.DataFrame({"doc_id": ["D0"], "alliance": ["ALPHA"], "text": [""]})
    units = pd.DataFrame(
        {"doc_id": "D0", "unit_id": [e["unit_id"] for e in examples], "text": [e["text"] for e in examples], "start": 0, "end": 1}
    )
    write_corpus(tmp_path / "corpus", documents, units, {})
    encoder = HashingEncoder()
    cached = LocalEngine(Predictor(bundle, embeddings.default_embedder(encoder)))
    score_corpus(open_corpus(tmp_path / "corpus"), cached, load_codebook(), tmp_path / "scores")
    assert encoder.calls == 0


def test_documents_spanning_read_batches_are_summarised_whole(bundle, tmp_path, monkeypatch):
    bundle, _ = bundle
    corpus = make_corpus(tmp_path / "corpus", n_docs=4, units_per_doc=7)
    codebook = load_codebook()
    monkeypatch.setattr(summary, "_READ_BATCH", 3)
    result = score_corpus(open_corpus(corpus), engine(bundle, HashingEncoder(), batch_size=5), codebook, tmp_path / "scores")
    table = pd.read_parquet(result.out / "unit_scores.parquet")
    codes = pd.read_csv(result.out / "document_codes.csv")
    alliance = {"doc-0": "ALPHA", "doc-1": "BETA", "doc-2": "ALPHA", "doc-3": "(no alliance)"}
    expected = []
    for doc_id, group in table.groupby("doc_id", sort=False):
        predicted = np.array([[label in c for label in codebook.label_ids] for c in group["codes"]])
        agg = aggregate(group[codebook.label_ids].to_numpy(np.float64), group["relevant"].to_numpy(), predicted)
        for j in np.flatnonzero(agg.evidence_count):
            evidence = " ".join(group["unit_id"].iloc[agg.evidence[j]])
            expected.append(
                (doc_id, alliance[doc_id], codebook.label_ids[j], round(float(agg.confidence[j]), 4), int(agg.evidence_count[j]), evidence)
            )
    got = list(codes[["doc_id", "alliance", "code", "confidence", "evidence_count", "evidence_units"]].itertuples(index=False, name=None))
    assert got == expected
    matrix = result.alliance_matrix.set_index("alliance")
    assert matrix.loc["ALPHA", "documents"] == 2 and matrix.loc["ALPHA", "units"] == 14
    alpha = table[table["doc_id"].isin(["doc-0", "doc-2"])]
    top = np.sort((alpha[codebook.label_ids].to_numpy(np.float64) * alpha["relevant"].to_numpy()[:, None]), axis=0)[::-1][:3]
    np.testing.assert_allclose(
        matrix.loc["ALPHA", [f"{label}_confidence" for label in codebook.label_ids]].to_numpy(float),
        1 - np.prod(1 - top, axis=0),
        atol=6e-5,
    )


def test_a_document_whose_units_are_not_consecutive_is_refused(tmp_path):
    codebook = load_codebook()
    labels = codebook.label_ids
    units = pa.record_batch({"doc_id": ["A", "B", "A"], "unit_id": ["A-1", "B-1", "A-2"], "start": [0, 0, 5], "end": [4, 4, 9]})
    batch = unit_score_batch(units, labels, np.full((3, len(labels)), 0.5), np.ones(3), 0.5, [["CL1"], [], []])
    write_unit_scores(tmp_path / "unit_scores.parquet", unit_score_schema(labels), [batch])
    with pytest.raises(InputError, match="document A are not consecutive"):
        summary.summarise(tmp_path / "unit_scores.parquet", {}, codebook, tmp_path)
    assert pq.read_table(tmp_path / "unit_scores.parquet").num_rows == 3


def test_score_command_input_errors(tmp_path, monkeypatch, capsys):
    from matrixcoder.cli import main

    for args, expected in [
        ([str(tmp_path), "--out", str(tmp_path / "o"), "--master", "local[2]"], "--master: only applies with --engine spark"),
        ([str(tmp_path / "nothing"), "--out", str(tmp_path / "o")], "not a corpus folder"),
    ]:
        monkeypatch.setattr("sys.argv", ["matrixcoder", "score", *args])
        with pytest.raises(SystemExit) as stop:
            main()
        err = capsys.readouterr().err
        assert stop.value.code == 2 and expected in err and len(err.strip().splitlines()) == 1
