"""The Spark engine: score a corpus's units with the bundle's MLflow pyfunc model on a Spark cluster.

The bundle is saved as a pyfunc model (code plus the bundle folder, nothing pickled) and applied
with :func:`mlflow.pyfunc.spark_udf`, which ships it to the executors. Units get their corpus row
number, are range-partitioned on it (one partition per core Spark offers) and sorted within each
partition, so the part files Spark writes, read in name order, are in corpus order. The driver
then turns them into the unit-score table, a batch at a time, exactly as the local engine does.

Executors embed through their own embedding cache (``MATRIXCODER_HOME`` on each node); in local
mode that is this machine's cache, shared with training and the local engine.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from matrixcoder.errors import InputError
from matrixcoder.fileio import reset_work_folder
from matrixcoder.inference.corpus_reader import CorpusReader
from matrixcoder.inference.unit_scores import UNIT_COLUMNS, unit_score_batch, unit_score_schema, write_unit_scores
from matrixcoder.models.bundle import ModelBundle
from matrixcoder.models.pyfunc import save_pyfunc_model

__all__ = ["SparkEngine"]

_ROW = "_row"
_READ_BATCH = 8192


@dataclass(frozen=True)
class SparkEngine:
    """Scores units with Spark.

    Attributes:
        bundle: The model (a bundle folder on disk).
        master: Spark master URL; None keeps Spark's own setting (``spark-submit --master``,
            ``spark-defaults.conf``), which is ``local[*]`` when nothing sets it. An active Spark
            session is used as it is.
    """

    bundle: ModelBundle
    master: str | None = None

    def unit_scores(self, corpus: CorpusReader, work: Path, target: Path) -> None:
        """Write the unit-score table of ``corpus`` to ``target``, using ``work`` as scratch space.

        On a cluster, the corpus and ``work`` (beside the output folder) must be on storage that
        the driver and every executor see under the same path.

        Raises:
            InputError: The bundle is not a folder on disk, or Spark's output misses units.
        """
        if self.bundle.path is None:
            raise InputError("model", "the Spark engine needs a model bundle folder on disk")
        # MLflow's download bars would drown the command's report; Spark's workers inherit this too.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        reset_work_folder(work)
        model = work / "pyfunc"
        save_pyfunc_model(self.bundle.path.resolve(), self.bundle.label_ids, model)
        scored = work / "unit_scores"
        _run_spark(corpus.units_path.resolve(), model, scored.resolve(), self.master)
        parts = sorted(scored.glob("part-*.parquet"))
        schema = unit_score_schema(self.bundle.label_ids)
        written = write_unit_scores(target, schema, self._batches(parts))
        if written != corpus.n_units:
            raise InputError(
                work,
                f"Spark wrote scores for {written} of {corpus.n_units} units; on a cluster, the corpus and the output folder must be on storage every node sees",
            )

    def _batches(self, parts: list[Path]):
        label_ids, gate = self.bundle.label_ids, self.bundle.thresholds[-1]
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=_READ_BATCH):
                probabilities = batch.select(label_ids).to_pandas().to_numpy()
                relevance = batch.column("relevance").to_numpy()
                yield unit_score_batch(batch, label_ids, probabilities, relevance, gate, batch.column("codes").to_pylist())


def _run_spark(units: Path, model: Path, out: Path, master: str | None) -> None:
    import mlflow.pyfunc
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    # spark_udf warns that env_manager="local" does not rebuild the model's environment: by design here.
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
    active = SparkSession.getActiveSession()
    if active is None:
        # Python workers run this interpreter (the one with matrixcoder installed) unless
        # PYSPARK_PYTHON names the executors' own, as it must on a cluster whose nodes differ.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("matrixcoder score")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        spark = active or (builder.master(master) if master else builder).getOrCreate()
        if active is None:
            spark.sparkContext.setLogLevel("ERROR")
        try:
            predict = mlflow.pyfunc.spark_udf(spark, str(model), env_manager="local")
            # file: URIs: a bare path would be resolved on the cluster's default file system (HDFS, say).
            units_frame = spark.read.parquet(units.as_uri()).select(*UNIT_COLUMNS, "text").withColumn(_ROW, F.monotonically_increasing_id())
            scored = (
                units_frame.repartitionByRange(spark.sparkContext.defaultParallelism, _ROW)
                .withColumn("prediction", predict("text"))
                .select(_ROW, *UNIT_COLUMNS, "prediction.*")
                .sortWithinPartitions(_ROW)
                .drop(_ROW)
            )
            scored.write.mode("overwrite").parquet(out.as_uri())
        finally:
            if active is None:
                spark.stop()
