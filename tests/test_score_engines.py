"""The Spark engine against the local engine on the demo corpus, with the real encoder.

Spark runs in local mode (``local[2]``) with one session for the module; its Python workers are
separate processes, so the model here is a real one (trained on a few synthetic examples with
the bundled encoder) and they find everything through ``MATRIXCODER_HOME``, as on a cluster.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from cli_runner import run_cli
from synthetic import fake_environment, write_examples

from matrixcoder.corpus import ingest_paths, load_corpus
from matrixcoder.labels import load_codebook
from matrixcoder.training.train import TrainConfig, train_model

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime and there is no 'java' on PATH")

DEMO = Path(__file__).resolve().parent.parent / "corpus" / "demo"
# Words of their own for the real encoder (not the shared synthetic set): longer phrases it
# places apart; the draws depend on the order of the labels.
VOCABULARY = {
    "AP-MC": "micro-credential course learners enrol module online ects",
    "AP-EVENT": "webinar conference workshop event register speakers",
    "CL1": "stackable credits towards degree qualification recognised",
}
FILLER = "alliance university students campus mobility research network partners europe".split()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from pyspark.sql import SparkSession

    tmp = tmp_path_factory.mktemp("engines")
    with pytest.MonkeyPatch.context() as patch:
        # Set before the JVM starts: Spark's Python workers inherit its environment.
        fake_environment(patch, tmp / "home", encoder=None, mlflow=True)
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        examples = write_examples(
            tmp / "examples.jsonl", 4, 12, labels=list(VOCABULARY), n_empty=1, seed=7, vocabulary=VOCABULARY, filler=FILLER
        )
        bundle = train_model(examples, tmp / "model", TrainConfig(n_splits=3, min_positives=3)).bundle
        ingest_paths([DEMO], tmp / "corpus")
        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .getOrCreate()
        )
        try:
            yield tmp, bundle
        finally:
            spark.stop()


def test_spark_and_local_engines_write_the_same_tables_on_the_demo_corpus(env, monkeypatch, capsys):
    tmp, bundle = env
    # Spark first: its workers embed with a cold cache, which the local run then shares.
    code, out, _ = run_cli(
        monkeypatch, capsys, "score", tmp / "corpus", "--out", tmp / "spark", "--engine", "spark", "--model", bundle.path
    )
    corpus = load_corpus(tmp / "corpus")
    expected = f"Scored {len(corpus.units)} units of {len(corpus.documents)} documents"
    assert code == 0 and expected in out.replace("\n", " ")
    code, _, _ = run_cli(monkeypatch, capsys, "score", tmp / "corpus", "--out", tmp / "local", "--model", bundle.path)
    assert code == 0
    assert not (tmp / "spark.partial").exists()

    spark, local = (pd.read_parquet(tmp / name / "unit_scores.parquet") for name in ("spark", "local"))
    assert pq.read_schema(tmp / "spark" / "unit_scores.parquet") == pq.read_schema(tmp / "local" / "unit_scores.parquet")
    assert spark["unit_id"].tolist() == local["unit_id"].tolist() == pd.read_parquet(tmp / "corpus" / "units.parquet")["unit_id"].tolist()
    labels = load_codebook().label_ids
    np.testing.assert_allclose(spark[labels].to_numpy(), local[labels].to_numpy(), atol=1e-6)
    assert spark["codes"].map(list).tolist() == local["codes"].map(list).tolist()
    assert spark["relevant"].tolist() == local["relevant"].tolist()
    assert local["codes"].map(len).sum() > 0  # the comparison is not between two empty codings
    for name in ("document_codes.csv", "alliance_matrix.csv", "approach_table.csv", "approach_table.md"):
        assert (tmp / "spark" / name).read_text() == (tmp / "local" / name).read_text(), name
