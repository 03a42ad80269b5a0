"""Units/s of ``matrixcoder score --engine spark --master local[2]`` ÷ the local engine's, in one run.

Each engine scores the same corpus end to end as a user runs it (a ``matrixcoder score``
subprocess: start-up, model loading, scoring, summaries), first with a cold embedding cache (a
fresh ``MATRIXCODER_HOME`` per engine), then again warm, which leaves mostly the engines' fixed
costs (for Spark: the JVM, the job, each task loading the model).

Usage: ``python bench/spark_vs_local.py [--factor N] [--model M]`` (default: 10× the demo
corpus, made with ``make_scale_corpus``, and the default model).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from make_scale_corpus import demo_corpus, make_scale_corpus

from matrixcoder.console import print_table
from matrixcoder.labels import load_codebook
from matrixcoder.training.default_model import default_model_path, resolve_model

ENGINES = {"local": [], "spark local[2]": ["--engine", "spark", "--master", "local[2]"]}


def seconds(corpus: Path, out: Path, model: Path, home: Path, engine: list[str]) -> float:
    """Wall time of one ``matrixcoder score`` subprocess."""
    command = [sys.executable, "-m", "matrixcoder", "score", str(corpus), "--out", str(out), "--model", str(model), *engine]
    start = time.perf_counter()
    done = subprocess.run(command, env=os.environ | {"MATRIXCODER_HOME": str(home)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"score {' '.join(engine) or '(local)'} failed:\n{done.stderr.decode()[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=10, help="size of the corpus in demo corpora")
    parser.add_argument("--model", type=Path, help="model bundle (default: models/default)")
    args = parser.parse_args()
    model = args.model or default_model_path()
    resolve_model(args.model, load_codebook())  # trains the default model first if it must
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = demo_corpus(tmp / "x1")
        if args.factor > 1:
            corpus = make_scale_corpus(corpus, tmp / f"x{args.factor}", args.factor)
        times = {}
        for state in ("cold", "warm"):
            for name, engine in ENGINES.items():
                times[state, name] = seconds(corpus, tmp / "out", model, tmp / f"home-{name}", engine)
    print_table(
        f"Spark local[2] ÷ local engine, units/s on {args.factor}× the demo corpus",
        ["cache", "spark ÷ local"],
        [[state, f"{times[state, 'local'] / times[state, 'spark local[2]']:.2f}"] for state in ("cold", "warm")],
    )


if __name__ == "__main__":
    main()
