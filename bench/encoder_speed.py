"""The default int8 ONNX encoder against the bundled torch model it is made from, in one run.

- int8 units/s ÷ torch units/s, raw ``encode`` on the same texts (the shipped examples);
- mean and minimum cosine between their vectors of each text;
- with ``--cv``: cross-validated macro-F1 and mean kappa of the model trained on each
  (``train_model`` on the shipped examples, same folds), their differences, and whether agreement
  holds (both within 0.01 of torch's, the rule that made int8 the default). Takes a few minutes.

Usage: ``python bench/encoder_speed.py [--cv]``. Vectors come from the encoders directly, never
from the embedding cache; the ``--cv`` trainings use the cache in the project's home (it is keyed
by encoder fingerprint) and log to a temporary MLflow store, not the user's.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from matrixcoder.console import print_table
from matrixcoder.encoding import embeddings
from matrixcoder.fileio import read_jsonl
from matrixcoder.training.default_model import DEFAULT_EXAMPLES
from matrixcoder.training.train import TrainConfig, train_model

# Agreement holds when each cross-validated figure is within this of the torch encoder's.
TOLERANCE = 0.01


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _cv(encoder: str, out: Path) -> dict:
    result = train_model(DEFAULT_EXAMPLES, out, TrainConfig(encoder=encoder))
    return result.systems[result.selected]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", action="store_true", help="also cross-validate a model on each encoder (minutes)")
    args = parser.parse_args()
    texts = list(dict.fromkeys(record["text"] for _, record in read_jsonl(DEFAULT_EXAMPLES)))
    int8 = embeddings.load_encoder(embeddings.DEFAULT_ENCODER)
    full = embeddings.load_encoder(embeddings.BUNDLED_ENCODER)
    for encoder in (int8, full):
        encoder.encode(texts[:32])  # load (and for int8, build if need be) and warm up, outside every timing
    # Interleaved, best of two each: on a shared machine that keeps a load spike from deciding the ratio.
    int8_time = full_time = float("inf")
    for _ in range(2):
        full_time = min(full_time, _timed(lambda: full.encode(texts)))
        int8_time = min(int8_time, _timed(lambda: int8.encode(texts)))
    cosine = np.sum(int8.encode(texts) * full.encode(texts), axis=1)
    rows = [
        [f"{int8.name} ÷ {full.name} units/s", f"{full_time / int8_time:.2f}×"],
        [f"{full.name} units/s", f"{len(texts) / full_time:.0f}"],
        ["cosine int8 · torch, mean", f"{cosine.mean():.4f}"],
        ["cosine int8 · torch, min", f"{cosine.min():.4f}"],
    ]
    if args.cv:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
            figures = {encoder.name: _cv(encoder.name, Path(tmp) / encoder.name) for encoder in (full, int8)}
        for metric in ("macro_f1", "mean_kappa"):
            base, quantised = figures[full.name][metric], figures[int8.name][metric]
            rows += [
                [f"CV {metric}, {full.name}", f"{base:.4f}"],
                [f"CV {metric}, {int8.name}", f"{quantised:.4f}"],
                [f"CV {metric}, int8 − torch", f"{quantised - base:+.4f}"],
            ]
        holds = all(abs(figures[int8.name][m] - figures[full.name][m]) <= TOLERANCE for m in ("macro_f1", "mean_kappa"))
        rows.append([f"agreement holds (both within {TOLERANCE})", "yes" if holds else "no"])
    print_table(
        f"Encoders on {len(texts)} distinct example texts; torch threads {torch.get_num_threads()}, int8 texts in parallel {int8.threads}",
        ["measure", "value"],
        rows,
    )


if __name__ == "__main__":
    main()
