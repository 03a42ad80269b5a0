"""Peak memory of ``matrixcoder score`` at 10× the demo corpus ÷ at 1× (goal ≤ 1.2), in one run.

Each score runs in its own subprocess, and its peak resident set size is the one ``wait4``
reports for that child. Both sizes are scored twice: with a cold embedding cache (a fresh
``MATRIXCODER_HOME``: the encoder is loaded and every unit encoded) and then warm (the same
home again: no encoder, every vector from the cache, so whatever grows with the corpus is a
larger share of the total).

Usage: ``python bench/memory.py [--model M]`` (default: the default model).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from make_scale_corpus import demo_corpus, make_scale_corpus

from matrixcoder.console import print_table
from matrixcoder.labels import load_codebook
from matrixcoder.training.default_model import default_model_path, resolve_model


def peak_rss_mb(corpus: Path, out: Path, model: Path, home: Path) -> float:
    """Run ``matrixcoder score`` in a subprocess and return its peak RSS in MiB."""
    command = [sys.executable, "-m", "matrixcoder", "score", str(corpus), "--out", str(out), "--model", str(model)]
    child = subprocess.Popen(command, env=os.environ | {"MATRIXCODER_HOME": str(home)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"score failed on {corpus}:\n{child.stderr.read().decode()}")
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model bundle (default: models/default)")
    args = parser.parse_args()
    model = args.model or default_model_path()
    resolve_model(args.model, load_codebook())  # trains the default model first if it must
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpora = {1: demo_corpus(tmp / "x1")}
        corpora[10] = make_scale_corpus(corpora[1], tmp / "x10", 10)
        peaks = {}
        for state in ("cold", "warm"):
            for factor, corpus in corpora.items():
                peaks[state, factor] = peak_rss_mb(corpus, tmp / f"out-{factor}", model, tmp / f"home-{factor}")
    print_table(
        "Peak RSS of 'matrixcoder score', 10× ÷ 1× the demo corpus",
        ["cache", "1× MiB", "10× MiB", "10× ÷ 1×"],
        [
            [state, f"{peaks[state, 1]:.0f}", f"{peaks[state, 10]:.0f}", f"{peaks[state, 10] / peaks[state, 1]:.2f}"]
            for state in ("cold", "warm")
        ],
    )


if __name__ == "__main__":
    main()
