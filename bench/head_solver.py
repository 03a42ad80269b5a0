"""The heads' solver against scikit-learn's on the stacked matrix: time, optimum, held-out skill.

Training fits 39 logistic heads per model, and a cold ``make demo`` fits 15 models. scikit-learn's
``LogisticRegression`` needs the 384 embedding columns and the TF-IDF blocks stacked into one
float64 sparse matrix; :func:`~matrixcoder.training.logistic.fit_logistic` minimises the same
objective with the same L-BFGS-B settings over the blocks kept apart, in float32. This script
fits a few heads both ways on one fold of whole writers (trained on the other writers) and
reports the time ratio, how far apart the two optima are, and the average precision of each on
the held-out writers.

Measured on 2026-12-03 (53,868 units, 88 writers; trained on 46,382 units, tested on the 7,486
units of one group of 11 writers held out; C = 2, tolerance 3e-5, one BLAS thread):

==============  =========  ============  ======  ========  ===============  =========
head            positives  scikit-learn  blocks  speed-up  AP scikit-learn  AP blocks
==============  =========  ============  ======  ========  ===============  =========
SI2             2090       4.1 s         2.3 s   1.78      .5822            .5826
CL1             993        4.1 s         2.2 s   1.84      .6608            .6604
SD4-2           77         1.3 s         0.7 s   1.79      .4883            .4904
CB3             779        3.3 s         1.6 s   2.04      .6712            .6775
relevance gate  20217      5.2 s         4.0 s   1.30      .8955            .8951
all                        18.0 s        10.9 s  1.66
==============  =========  ============  ======  ========  ===============  =========

The whole unseen-writer cross-validation of the model (8 groups) went from 513 s to 341 s,
kappa .5517 -> .5513 (float32 products end the solver at a slightly different point of the
same flat optimum), and the cold training of ``make demo`` from 17.4 to 12.8 minutes
(``bench/train_cost.py``).

Usage: ``python bench/head_solver.py [--labels SI2,CL1,SD4-2,CB3] [--C 2]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from threadpoolctl import threadpool_limits

from matrixcoder.console import print_table
from matrixcoder.encoding import embeddings
from matrixcoder.encoding.features import TfidfFeatures
from matrixcoder.labels.codebook import load_codebook
from matrixcoder.training.data import load_training_set
from matrixcoder.training.default_model import DEFAULT_EXAMPLES
from matrixcoder.training.folds import writer_folds
from matrixcoder.training.heads import SOLVER_MAX_ITER, SOLVER_TOL
from matrixcoder.training.logistic import FeatureBlocks, fit_logistic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", default="SI2,CL1,SD4-2,CB3", help="comma-separated label ids (the gate is always added)")
    parser.add_argument("--C", type=float, default=2.0)
    args = parser.parse_args()
    codebook = load_codebook()
    data = load_training_set(DEFAULT_EXAMPLES, codebook)
    vectors = embeddings.default_embedder(embeddings.load_encoder(None)).embed(data.texts, "embedding examples")
    test = writer_folds(data.writers)[0][0]
    train = np.setdiff1d(np.arange(len(data.texts)), test)
    texts = np.array(data.texts, dtype=object)
    tfidf = TfidfFeatures(char=True).fit(list(texts[train]))
    terms = tfidf.transform(list(texts))
    stacked = sparse.hstack([sparse.csr_matrix(vectors), terms], format="csr")
    blocks = FeatureBlocks([vectors[train], terms[train]])
    weight = np.where(data.gold, 2.0, 1.0)[train]
    targets = {label: data.Y[:, data.label_ids.index(label)].astype(bool) for label in args.labels.split(",")}
    targets["relevance gate"] = data.Y.any(axis=1)
    rows, totals = [], np.zeros(2)
    with threadpool_limits(limits=1, user_api="blas"):
        for name, y in targets.items():
            start = time.perf_counter()
            reference = LogisticRegression(C=args.C, class_weight="balanced", tol=SOLVER_TOL, max_iter=SOLVER_MAX_ITER)
            reference.fit(stacked[train], y[train], sample_weight=weight)
            middle = time.perf_counter()
            coef, intercept = fit_logistic(blocks, y[train], weight, args.C, SOLVER_TOL, SOLVER_MAX_ITER)
            end = time.perf_counter()
            totals += (middle - start, end - middle)
            ours = stacked[test] @ coef + intercept
            theirs = reference.decision_function(stacked[test])
            rows.append(
                [
                    name,
                    str(int(y[train].sum())),
                    f"{middle - start:.1f}",
                    f"{end - middle:.1f}",
                    f"{(middle - start) / (end - middle):.2f}",
                    f"{average_precision_score(y[test], theirs):.4f}",
                    f"{average_precision_score(y[test], ours):.4f}",
                ]
            )
    rows.append(["all", "", f"{totals[0]:.1f}", f"{totals[1]:.1f}", f"{totals[0] / totals[1]:.2f}", "", ""])
    print_table(
        f"Heads on {len(train)} units, tested on {len(test)} units of unseen writers (C = {args.C})",
        ["head", "positives", "scikit-learn s", "blocks s", "speed-up", "AP scikit-learn", "AP blocks"],
        rows,
    )


if __name__ == "__main__":
    main()
