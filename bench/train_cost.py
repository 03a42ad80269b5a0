"""Wall time and peak memory of training the default model cold, as ``make demo`` does it.

``make demo`` on a fresh clone trains the default model with ``train --compare``: the ONNX
export of the encoder, the embedding of every example, writer-held-out and within-writer
cross-validation of the model and the baselines, the learning curve, and the final fit. The
budget is 15 minutes on 2 cores with peak memory under 4 GB.

The run is cold: a fresh ``MATRIXCODER_HOME`` (no encoder export, no cached embedding) and a
fresh output folder. Cross-validation runs in worker processes, so the peak is that of the
whole process tree: every 0.2 s the resident sets of the command and all its descendants
(``/proc``) are summed, and the largest sum is reported beside ``wait4``'s peak of the largest
single process. CPU time shows what the wall time would be on idle cores when the machine
is shared (the load average at the end says whether it was).

Measured on 2026-12-03 after the heads' solver kept the embedding and TF-IDF blocks apart in
float32 (``training.logistic``; same objective and stopping rule as scikit-learn's lbfgs), same
units and recipe as below: **12.8 minutes wall**, 22.9 minutes of CPU, peak 3.09 GB for the
process tree (1.40 GB the largest process); load average 2.1 at the end.

Before that, on 2026-12-03 with 53,868 units and 88 writers (16 new), heads fitted to convergence
(tolerance 3e-5 instead of scikit-learn's 1e-4) at C = 2, term counts made once, the within-writer
comparison in 2 folds and the learning curve in 2 groups: **17.4 minutes wall, over the 15-minute
budget**, 31.0 minutes of CPU, peak 3.69 GB for the process tree (1.40 GB the largest process).
The same setup with C = 1, 3 within-writer folds, 3 curve groups and per-fold copies of the batch
made in the main process: 18.6 minutes, 31.7 of CPU, 4.16 GB. About 3 minutes of either go to the
encoder's ONNX export, embedding the units and counting their terms, before any fit.

Earlier on 2026-12-03, with the same 43,390 units, 96% of them now adjudicated (weights scaled to
mean 1): 13.7 minutes wall, 23.3 minutes of CPU, peak 2.74 GB for the process tree (1.55 GB the
largest process); with the weights unscaled (every adjudicated unit at 2, so C in effect doubled)
14.6 minutes and 24.5 of CPU. The same recipe on the same units took 11.2 minutes the day before,
on another machine and with a third of the units adjudicated.

Measured on 2026-12-02 with 43,390 units and 72 writers (writers held out in 8 groups, the
within-writer comparison in 3 folds, the learning curve in 3 groups, the final fit as a task of
the cross-validation workers): 11.2 minutes wall, 19.0 minutes of CPU, peak 2.70 GB for the
process tree (1.57 GB the largest process); an earlier run of the same setup, on a busier
machine, took 12.6 minutes. On the earlier 30,435 units and 49 writers, 8
groups and the pooled final fit (still 5 folds and 4 groups) took 9.6 minutes; before that, 10
groups with the final fit on its own took 10.9 minutes, 19.0 of CPU and 2.33 GB, and the whole
cold `make clean && make demo` 11.7 minutes.

Earlier, on 2026-12-02 (12,507 units, 17 writers left out one at a time, 2 idle cores): 13.6 minutes wall, 23.1
minutes of CPU, peak 1.88 GB for the process tree (1.20 GB the largest process). On the same
machine while other jobs kept both cores busy: 21.0 minutes.

Usage: ``python bench/train_cost.py [--examples labels/examples.jsonl] [--no-compare]``
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from matrixcoder.console import print_table
from matrixcoder.training.default_model import DEFAULT_EXAMPLES


def tree_rss_mb(root: int) -> float:
    """Summed resident set size (MiB) of ``root`` and every process descended from it."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:  # the process ended while we looked
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        parents[pid] = int(fields.get("PPid", "0").strip())
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree, grew = {root}, True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return sum(rss.get(pid, 0) for pid in tree) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, default=DEFAULT_EXAMPLES)
    parser.add_argument("--no-compare", action="store_true", help="train without the baselines and the learning curve")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home, out = Path(scratch, "home"), Path(scratch, "model")
        command = [sys.executable, "-m", "matrixcoder", "train", str(args.examples), "--out", str(out)]
        command += [] if args.no_compare else ["--compare"]
        env = os.environ | {"MATRIXCODER_HOME": str(home), "HF_HUB_OFFLINE": "1"}
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        peak = [0.0]

        def sample() -> None:
            while child.poll() is None:
                peak[0] = max(peak[0], tree_rss_mb(child.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        sampler.join()
        output = child.stdout.read().decode() if child.stdout else ""
        # The train process reaps its workers, so their CPU time is counted in its children's.
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_seconds = cpu.ru_utime + cpu.ru_stime
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"train failed:\n{output}")
    print(output)
    print_table(
        f"Cold training of {args.examples.name} on {os.cpu_count()} cores",
        ["figure", "value", "budget"],
        [
            ["wall time", f"{seconds / 60:.1f} min", "15 min"],
            ["CPU time, all processes", f"{cpu_seconds / 60:.1f} min", f"{os.cpu_count()} cores × 15 min"],
            ["peak memory, process tree", f"{peak[0] / 1024:.2f} GB", "4 GB"],
            ["peak memory, largest process", f"{usage.ru_maxrss / 1024**2:.2f} GB", ""],
            ["load average at the end", f"{os.getloadavg()[0]:.1f}", "2 cores idle: < 2"],
        ],
    )


if __name__ == "__main__":
    main()
