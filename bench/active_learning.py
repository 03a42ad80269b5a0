"""Does the review queue teach the model faster than reviewing units at random?

A simulated analyst on a writer the model has never seen (leave one writer out of
labels/examples.jsonl; the held-out writer's coder-A units are the analyst's answers):

1. Hold out writer W. Their documents are split (seeded, by document) into a *pool* the
   analyst reviews (2/3) and a *test* set nobody reviews (1/3).
2. The starting model learns from every other writer (the shipped model saw W, so it cannot be
   the start: it is the same recipe without W). Thresholds (per label and the relevance gate)
   are tuned once on its 3-fold by-document out-of-fold scores and kept for the whole run.
3. The analyst reviews 50, 100, 200, 400 pool units, chosen either by the review queue
   (``matrixcoder.review.queue.ActiveQueue``: uncertainty under the current model, spread over
   documents and content, re-scored after each batch) or at random. After each budget the
   model is refitted on the other writers plus the reviewed units, each counted
   ``--weight`` times as in the app's retraining, and scored on W's test documents.
4. Figure: mean per-label Cohen's kappa on the test units (labels present there), as
   ``matrixcoder train`` reports it; micro-F1 beside it.

The model is the shipped recipe's embedding heads (``LinearHeads("embedding")`` per label and a
relevance gate), without the TF-IDF block and the per-step cross-validation that
``matrixcoder train`` adds: 13 fits per writer instead of hundreds keeps the bench within
minutes on 2 cores; both strategies get the same simplification.

    .venv/bin/python bench/active_learning.py [--writers w07 w09 w10 | --writers all] [--budgets 50 100 200 400]
        [--seeds 1] [--weight 3] [--out out/bench/active_learning]

Writes ``active_learning.json``, ``active_learning.png`` and ``active_learning.html`` (the plot and the
table) into ``--out``.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import sys
import time
from pathlib import Path

import numpy as np


def load_examples():
    from matrixcoder.encoding import embeddings
    from matrixcoder.labels import load_codebook
    from matrixcoder.training.data import load_training_set
    from matrixcoder.training.default_model import DEFAULT_EXAMPLES

    codebook = load_codebook()
    data = load_training_set(DEFAULT_EXAMPLES, codebook, "A")
    embedder = embeddings.default_embedder(embeddings.load_encoder(None))
    vectors = np.asarray(embedder.embed(data.texts, "embedding examples"), dtype=np.float32)
    return data, vectors


class Heads:
    """Per-label logistic heads and a relevance gate on embeddings, with fixed raw thresholds."""

    def __init__(self, C: float = 4.0) -> None:
        self.C = C

    def fit(self, X: np.ndarray, Y: np.ndarray, texts: list[str]) -> Heads:
        from matrixcoder.encoding.batch import UnitBatch
        from matrixcoder.training.heads import LinearHeads

        batch = UnitBatch(texts, X)
        self.heads = LinearHeads("embedding", self.C).fit(batch, Y)
        self.gate = LinearHeads("embedding", self.C).fit(batch, Y.any(axis=1, keepdims=True))
        return self

    def scores(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from matrixcoder.encoding.batch import UnitBatch

        batch = UnitBatch([""] * len(X), X)
        return self.heads.decision_function(batch), self.gate.decision_function(batch)[:, 0]


def tune_thresholds(X, Y, docs, texts, C, seed) -> tuple[np.ndarray, float]:
    """Raw-score thresholds per label and for the gate from 3-fold by-document out-of-fold scores."""
    from matrixcoder.training.thresholds import best_gate_threshold, best_threshold

    names = np.array(sorted(set(docs.tolist())))
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(names, rng.permutation(len(names)) % 3, strict=True))
    fold = np.array([fold_of[d] for d in docs])
    label_scores, gate_scores = np.zeros(Y.shape), np.zeros(len(Y))
    for k in range(3):
        train, test = fold != k, fold == k
        model = Heads(C).fit(X[train], Y[train], [texts[i] for i in np.flatnonzero(train)])
        label_scores[test], gate_scores[test] = model.scores(X[test])
    thresholds = np.array([best_threshold(label_scores[:, j], Y[:, j]) for j in range(Y.shape[1])])
    thresholds = np.where(np.isfinite(thresholds), thresholds, 1e6)
    gate = best_gate_threshold(gate_scores, label_scores >= thresholds, Y)
    return thresholds, float(gate if np.isfinite(gate) else -1e6)


def predict(model: Heads, X, thresholds, gate):
    labels, relevance = model.scores(X)
    return (labels >= thresholds) & (relevance >= gate)[:, None], labels, relevance


def queue_picks(model, X_pool, doc_pool, reviewed: list[int], n: int, thresholds, gate, label_ids) -> list[int]:
    from matrixcoder.review.queue import ActiveQueue

    _, labels, relevance = predict(model, X_pool, thresholds, gate)
    margins = np.minimum(labels - thresholds, (relevance - gate)[:, None]).astype(np.float32)
    queue = ActiveQueue(margins, X_pool, doc_pool, label_ids, reviewed)
    return queue.pick(n)


def run_writer(writer, data, vectors, budgets, weight, C, seed, log) -> dict:
    from matrixcoder.training.metrics import multilabel_report

    writers, docs, Y, texts = data.writers, data.doc_ids, data.Y.astype(np.int8), data.texts
    held = writers == writer
    base = np.flatnonzero(~held)
    held_docs = np.array(sorted(set(docs[held].tolist())))
    rng = np.random.default_rng(seed)
    rng.shuffle(held_docs)
    pool_docs = set(held_docs[: round(len(held_docs) * 2 / 3)].tolist())
    pool = np.flatnonzero(held & np.isin(docs, list(pool_docs)))
    test = np.flatnonzero(held & ~np.isin(docs, list(pool_docs)))
    budgets = [b for b in budgets if b <= len(pool)]
    log(
        f"{writer}: {len(base)} training units from other writers; pool {len(pool)} units in {len(pool_docs)} documents; test {len(test)} units"
    )
    thresholds, gate = tune_thresholds(vectors[base], Y[base], docs[base], [texts[i] for i in base], C, seed)

    def fit(reviewed_pool_rows: list[int]) -> Heads:
        rows = np.concatenate([base, np.repeat(pool[reviewed_pool_rows], weight)]) if reviewed_pool_rows else base
        return Heads(C).fit(vectors[rows], Y[rows], [texts[i] for i in rows])

    def score(model) -> dict:
        predicted, _, _ = predict(model, vectors[test], thresholds, gate)
        report = multilabel_report(Y[test], predicted, data.label_ids)
        return {"kappa": round(report.mean_kappa, 4), "micro_f1": round(report.micro_f1, 4)}

    start = fit([])
    result = {"writer": writer, "pool": len(pool), "test": len(test), "start": score(start), "queue": {}, "random": {}}
    log(f"  start: {result['start']}")
    # The queue: pick the next batch with the model of the previous step.
    model, reviewed = start, []
    doc_index = np.unique(docs[pool], return_inverse=True)[1]
    for budget in budgets:
        reviewed += queue_picks(model, vectors[pool], doc_index, reviewed, budget - len(reviewed), thresholds, gate, data.label_ids)
        model = fit(reviewed)
        result["queue"][budget] = score(model) | {"documents": int(len(set(doc_index[reviewed].tolist())))}
        log(f"  queue {budget}: {result['queue'][budget]}")
    order = list(np.random.default_rng(seed + 1).permutation(len(pool)))
    for budget in budgets:
        chosen = order[:budget]
        result["random"][budget] = score(fit(chosen)) | {"documents": int(len(set(doc_index[chosen].tolist())))}
        log(f"  random {budget}: {result['random'][budget]}")
    return result


def summarise(results: list[dict], budgets: list[int]) -> dict:
    summary = {"start": float(np.mean([r["start"]["kappa"] for r in results]))}
    for strategy in ("queue", "random"):
        summary[strategy] = {}
        for budget in budgets:
            values = [r[strategy][budget]["kappa"] for r in results if budget in r[strategy]]
            if values:
                summary[strategy][budget] = float(np.mean(values))
    target = summary["random"].get(max(budgets))
    reached = [b for b in budgets if target is not None and summary["queue"].get(b, -1) >= target]
    summary["queue_units_to_reach_random_max"] = min(reached) if reached else None
    return summary


def plot(results, summary, budgets, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    xs = [0, *budgets]
    for strategy, colour in (("queue", "#2f5bd3"), ("random", "#b3261e")):
        for r in results:
            ys = [r["start"]["kappa"], *[r[strategy][b]["kappa"] for b in budgets if b in r[strategy]]]
            ax.plot(xs[: len(ys)], ys, color=colour, alpha=0.25, linewidth=1)
        ys = [summary["start"], *[summary[strategy][b] for b in budgets if b in summary[strategy]]]
        ax.plot(xs[: len(ys)], ys, color=colour, linewidth=2.5, marker="o", label=f"{strategy} (mean of {len(results)} writer(s))")
    ax.set_xlabel("units reviewed by the analyst")
    ax.set_ylabel("mean per-label kappa, unseen writer's test units")
    ax.set_title("Review queue vs random review (leave one writer out)")
    ax.set_xticks(xs)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_html(results, summary, budgets, png: Path, path: Path, seconds: float) -> None:
    image = base64.b64encode(png.read_bytes()).decode()
    rows = []
    for r in results:
        for strategy in ("queue", "random"):
            cells = "".join(f"<td>{r[strategy][b]['kappa']:.3f}</td>" if b in r[strategy] else "<td>–</td>" for b in budgets)
            rows.append(f"<tr><td>{html.escape(r['writer'])}</td><td>{strategy}</td><td>{r['start']['kappa']:.3f}</td>{cells}</tr>")
    for strategy in ("queue", "random"):
        cells = "".join(f"<td><b>{summary[strategy][b]:.3f}</b></td>" if b in summary[strategy] else "<td>–</td>" for b in budgets)
        rows.append(f"<tr><td><b>mean</b></td><td>{strategy}</td><td><b>{summary['start']:.3f}</b></td>{cells}</tr>")
    reached = summary["queue_units_to_reach_random_max"]
    verdict = (
        f"The queue reaches random's {max(budgets)}-unit kappa with {reached} units."
        if reached
        else f"The queue does not reach random's {max(budgets)}-unit kappa within {max(budgets)} units."
    )
    path.write_text(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Active learning bench</title>
<style>body{{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right}}td:first-child,td:nth-child(2){{text-align:left}}</style>
</head><body><h1>Review queue vs random review</h1>
<p>Leave one writer out of the shipped examples; the held-out writer's coded units answer for the analyst. {html.escape(verdict)} ({seconds:.0f} s.)</p>
<img alt="kappa against units reviewed, queue vs random" src="data:image/png;base64,{image}" width="840">
<table><thead><tr><th>writer</th><th>strategy</th><th>start</th>{"".join(f"<th>{b}</th>" for b in budgets)}</tr></thead><tbody>{"".join(rows)}</tbody></table>
<p>Mean per-label Cohen's kappa on the writer's test documents (never reviewed).</p></body></html>""",
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", nargs="+", default=["w07", "w09", "w10"], help="writers to hold out in turn, or 'all'")
    parser.add_argument("--budgets", nargs="+", type=int, default=[50, 100, 200, 400])
    parser.add_argument("--seeds", type=int, default=1, help="repeats with other pool/test splits and random orders")
    parser.add_argument("--weight", type=int, default=3)
    parser.add_argument("--C", type=float, default=4.0)
    parser.add_argument("--out", type=Path, default=Path("out/bench/active_learning"))
    args = parser.parse_args()
    started = time.monotonic()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    data, vectors = load_examples()
    writers = sorted(set(data.writers.tolist())) if args.writers == ["all"] else args.writers
    budgets = sorted(args.budgets)
    results = []
    for seed in range(args.seeds):
        for writer in writers:
            results.append(run_writer(writer, data, vectors, budgets, args.weight, args.C, seed, log) | {"seed": seed})
    summary = summarise(results, budgets)
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / "active_learning.png"
    plot(results, summary, budgets, png)
    seconds = time.monotonic() - started
    write_html(results, summary, budgets, png, args.out / "active_learning.html", seconds)
    (args.out / "active_learning.json").write_text(
        json.dumps({"summary": summary, "results": results, "args": {k: str(v) for k, v in vars(args).items()}}, indent=2)
    )
    print(json.dumps(summary, indent=2))
    log(f"written to {args.out} in {seconds:.0f} s")


if __name__ == "__main__":
    main()
