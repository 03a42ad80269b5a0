"""The local engine: score a corpus on this machine in bounded memory, resumably.

Units are read a batch at a time and each batch's scores become a part file in the work folder
(``OUT.partial/part-NNNNNN.parquet``), written under a temporary name and renamed when
complete: a part that exists is finished. An interrupted run, started again on the same corpus
with the same model, skips the finished parts, so nothing is computed twice and no unit appears
twice; anything else (another corpus, model or batch size) starts the work folder afresh. The
parts are then concatenated into ``unit_scores.parquet``, one part in memory at a time.

Encoding is where the time goes. It is left to torch's intra-op threads, one per core by default
(``bench/throughput.py`` measures 2 threads at 1.9× one thread's units/s on this project's
2-core machine); the rest of a batch (cache look-ups, the linear heads, writing the part) costs
about 5% on top of the encoder, too little to win back by overlapping it in another thread.
Embeddings go through the shared cache
(:func:`matrixcoder.encoding.embeddings.default_embedder`), so texts already embedded by
training or an earlier score run are not encoded again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from matrixcoder.console import err_console
from matrixcoder.fileio import reset_work_folder
from matrixcoder.inference.corpus_reader import CorpusReader
from matrixcoder.inference.unit_scores import unit_score_batch, unit_score_schema, write_unit_scores
from matrixcoder.models.bundle import ModelBundle
from matrixcoder.models.predictor import Predictor

__all__ = ["DEFAULT_BATCH", "LocalEngine"]

# Units per batch: enough that sorting a batch's texts by length (the embedder does) leaves
# little padding and per-batch costs vanish, small enough to bound memory (a few MB per batch).
DEFAULT_BATCH = 2048
_RUN_FILE = "run.json"


@dataclass(frozen=True)
class LocalEngine:
    """Scores units in this process, a batch at a time.

    Attributes:
        predictor: The model with its encoder and embedding cache.
        batch_size: Units per batch and per part file.
    """

    predictor: Predictor
    batch_size: int = DEFAULT_BATCH

    def unit_scores(self, corpus: CorpusReader, work: Path, target: Path) -> None:
        """Write the unit-score table of ``corpus`` to ``target``, keeping finished batches in ``work``."""
        bundle = self.predictor.bundle
        _prepare(work, {"units_sha256": corpus.units_sha256(), "model": _model_key(bundle), "batch_size": self.batch_size})
        schema = unit_score_schema(bundle.label_ids)
        n_batches = -(-corpus.n_units // self.batch_size)
        parts = []
        for index, batch in enumerate(corpus.unit_batches(self.batch_size)):
            part = work / f"part-{index:06d}.parquet"
            parts.append(part)
            if part.is_file():
                continue
            scores = self.predictor.score(batch.column("text").to_pylist(), f"scoring units (batch {index + 1} of {n_batches})")
            rows = unit_score_batch(batch, scores.label_ids, scores.probabilities, scores.relevance, bundle.thresholds[-1], scores.codes())
            write_unit_scores(part, schema, [rows])
        write_unit_scores(target, schema, (pq.read_table(part) for part in parts))


def _prepare(work: Path, key: dict) -> None:
    """Keep ``work`` if it holds parts of this very run, else start it empty."""
    run_file = work / _RUN_FILE
    if run_file.is_file():
        try:
            same = json.loads(run_file.read_text(encoding="utf-8")) == key
        except (json.JSONDecodeError, UnicodeDecodeError):
            same = False
        if same:
            done = len(list(work.glob("part-*.parquet")))
            if done:
                err_console.print(f"Resuming from {work}: {done} batch(es) already scored")
            return
    reset_work_folder(work)
    temporary = work / f".{_RUN_FILE}.tmp"
    temporary.write_text(json.dumps(key, indent=2) + "\n", encoding="utf-8")
    temporary.replace(run_file)


def _model_key(bundle: ModelBundle) -> str:
    """sha256 over what decides a unit's scores: the bundle's description (encoder fingerprint
    included) and its arrays."""
    digest = hashlib.sha256(json.dumps(bundle.info.to_json(), sort_keys=True).encode())
    idf = bundle.tfidf.idf if bundle.tfidf is not None else None
    for array in (bundle.coef_embedding, bundle.coef_tfidf, idf, bundle.intercept, bundle.thresholds):
        if array is not None:
            digest.update(array.tobytes())
    return digest.hexdigest()
