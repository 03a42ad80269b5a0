"""Throughput ratios of the local score engine, measured in one run on the same texts.

- ``score`` units/s ÷ raw ``model.encode`` units/s: what the pipeline (batches, cache look-ups,
  heads, part files, summaries) costs on top of the encoder, with a cold cache (goal ≥ 0.9). The
  raw baseline is the encoder the model was trained with, hence the one the pipeline runs: for the
  default model that is the int8 onnxruntime session, not the torch model it was exported from
  (``bench/encoder_speed.py`` compares those two);
- cold ÷ warm ``score``: what the embedding cache buys when an unchanged corpus is rescored
  (goal ≥ 20×);
- raw encode with the encoder's default threads (one per core; the int8 encoder runs texts in
  parallel threads, torch splits each batch over its threads) ÷ with one thread: how much the
  second core gives.

Usage: ``python bench/throughput.py [CORPUS] [--model M]`` (default: the demo corpus, ingested
into a temporary folder, and the default model). The cache used here is a fresh temporary one,
so "cold" really is cold and nothing of the user's cache is touched.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from make_scale_corpus import demo_corpus

from matrixcoder.console import print_table
from matrixcoder.encoding import embeddings
from matrixcoder.encoding.onnx_encoder import OnnxEncoder
from matrixcoder.inference.corpus_reader import open_corpus
from matrixcoder.inference.local_engine import LocalEngine
from matrixcoder.inference.score import score_corpus
from matrixcoder.labels import load_codebook
from matrixcoder.models.predictor import Predictor
from matrixcoder.training.default_model import resolve_model


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _single_threaded(encoder: embeddings.TextEncoder, texts: list[str]) -> tuple[int, float]:
    """The encoder's default thread count, and the seconds it takes to encode ``texts`` on one thread."""
    if isinstance(encoder, OnnxEncoder):
        # onnxruntime fixes its threads when the session is made: time a one-thread twin.
        twin = OnnxEncoder(encoder.name, encoder.source, threads=1)
        twin.encode(texts[:32])
        return encoder.threads, _timed(lambda: twin.encode(texts))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return threads, _timed(lambda: encoder.encode(texts))
    finally:
        torch.set_num_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, help="corpus folder (default: the demo corpus)")
    parser.add_argument("--model", type=Path, help="model bundle (default: models/default)")
    args = parser.parse_args()
    codebook = load_codebook()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = open_corpus(args.corpus or demo_corpus(tmp / "corpus"))
        texts = [text for batch in corpus.unit_batches(4096) for text in batch.column("text").to_pylist()]
        bundle = resolve_model(args.model, codebook)
        encoder = embeddings.load_encoder(bundle.info.encoder.name)
        encoder.encode(texts[:32])  # load the model and warm up, outside every timing
        engine = LocalEngine(Predictor(bundle, embeddings.Embedder(encoder, embeddings.EmbeddingCache(tmp / "cache.sqlite"))))
        # The encoder is timed before and after the cold run and its better time kept: on a shared
        # machine that keeps load spikes from flattering the pipeline.
        raw = _timed(lambda: encoder.encode(texts))
        cold = _timed(lambda: score_corpus(corpus, engine, codebook, tmp / "cold"))
        raw = min(raw, _timed(lambda: encoder.encode(texts)))
        warm = _timed(lambda: score_corpus(corpus, engine, codebook, tmp / "warm"))
        threads, single = _single_threaded(encoder, texts)
    n = len(texts)
    print_table(
        f"Throughput on {n} units ({len(set(texts))} distinct texts), encoder {encoder.name}, {threads} threads",
        ["measure", "value"],
        [
            ["raw model.encode units/s", f"{n / raw:.0f}"],
            ["score units/s, cold cache", f"{n / cold:.0f}"],
            ["score units/s, warm cache", f"{n / warm:.0f}"],
            ["score (cold) ÷ raw encode", f"{raw / cold:.2f}"],
            ["cold ÷ warm score", f"{cold / warm:.1f}×"],
            [f"raw encode, {threads} threads ÷ 1 thread", f"{single / raw:.2f}×"],
        ],
    )


if __name__ == "__main__":
    main()
