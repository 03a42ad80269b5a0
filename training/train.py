"""Train a model bundle from hand-coded units: embed, cross-validate by writer, fit, log.

The model is judged on documents by writers it has never seen, so when the examples say who
wrote each document (``writer``), every choice (feature set, thresholds, relevance gate) is made
on cross-validation that holds whole writers out (one writer at a time, or groups of writers
when there are many: :func:`~matrixcoder.training.folds.writer_folds`), and that is the
headline figure. Cross-validation by document, where a writer's other documents sit in the
training folds, is reported beside it as the within-writer figure: the gap between the two is
what a new writer costs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np

from matrixcoder.encoding import embeddings
from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.errors import InputError
from matrixcoder.fileio import check_output_folder, output_folder
from matrixcoder.labels.codebook import Codebook, load_codebook
from matrixcoder.labels.coded_units import unit_keys
from matrixcoder.models.bundle import RELEVANCE, ModelBundle
from matrixcoder.models.card import ADJUDICATED_ROWS, render_card
from matrixcoder.models.info import ZERO_SHOT, BundleInfo, CodebookRef, ConfigInfo, CVInfo, EncoderInfo, LabelInfo, TrainingDataInfo
from matrixcoder.training.calibration import calibrated_layer
from matrixcoder.training.cv import LEARNING_CURVE_GROUPS, System, cross_validate, score_out_of_fold, writer_learning_curve
from matrixcoder.training.data import TrainingSet, load_training_set
from matrixcoder.training.folds import document_folds
from matrixcoder.training.heads import LinearHeads
from matrixcoder.training.keywords import KeywordRules
from matrixcoder.training.metrics import TrainingReport
from matrixcoder.training.recipe import Recipe
from matrixcoder.training.tracking import log_training_run
from matrixcoder.training.zeroshot import ZeroShot, label_prompts

__all__ = ["MODEL_FEATURE_SETS", "TFIDF_BASELINE", "WITHIN_WRITER_SPLITS", "TrainConfig", "TrainResult", "train_model"]

# The model's feature set: character n-grams beside word n-grams and embeddings won on unseen
# writers (+.024 kappa, bench/model_selection.py); a tuple so that more candidates can be
# cross-validated against each other (the first wins ties), at the cost of one more run each.
MODEL_FEATURE_SETS = ("embedding+tfidf+char",)
# Folds of the within-writer (by document) comparison beside the unseen-writer headline. Two:
# it is the side figure, each fold costs a fit of every system, and with 53,868 units and
# converged heads three folds took the cold training past its 15 minutes. Each fold learns
# from half of the documents, so the figure understates within-writer skill a little.
WITHIN_WRITER_SPLITS = 2
# The word TF-IDF baseline, named so that its figures can be picked out of the comparison.
TFIDF_BASELINE = "tf-idf + logistic regression"


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Attributes:
        encoder: Encoder name or folder; None for the default (bundled all-MiniLM-L6-v2 as int8 ONNX).
        coder: Whose codes to learn.
        compare: Also cross-validate the baselines on the same folds, and draw the learning
            curve over writers.
        n_splits: Folds per repeat (fewer when there are fewer documents).
        C: Inverse regularisation strength of the logistic heads. 2 won on unseen writers
            once the heads were fitted to convergence (53,868 units, 88 writers, 8 groups: kappa
            .552 against .546 at C = 1 and .550 at C = 4); C = 1 had been chosen when the
            solver stopped early, which regularised as well.
        min_positives: Labels with fewer positive units are scored zero-shot.
        random_state: Seed of the fold shuffles.
        gold_weight: Weight of a unit with adjudicated codes, relative to one with coder A's
            codes alone, when the heads (and the TF-IDF baseline) learn from it (weights are
            scaled to mean 1, :meth:`~matrixcoder.training.recipe.Recipe.sample_weight`). 2 won
            on unseen writers over 1 when a third of the units were adjudicated (72 writers, 8
            groups: kappa .546 against .543 on all units), and over 3 when 56% were (.543
            against .541): the settled codes are the cleaner signal.
    """

    encoder: str | None = None
    coder: str = "A"
    compare: bool = False
    n_splits: int = 5
    C: float = 2.0
    min_positives: int = 10
    random_state: int = 0
    gold_weight: float = 2.0


@dataclass(frozen=True)
class TrainResult:
    """The written bundle and the cross-validated figures of every system."""

    bundle: ModelBundle
    systems: dict[str, TrainingReport]
    selected: str


def train_model(
    examples: str | Path,
    out: str | Path,
    config: TrainConfig = TrainConfig(),
    codebook: Codebook | None = None,
    *,
    force: bool = False,
) -> TrainResult:
    """Cross-validate, fit on all units, and write a bundle to ``out`` (atomically), logged to MLflow.

    Raises:
        InputError: Bad examples, too few documents, or an encoder that cannot be found.
    """
    check_output_folder(out, "train", force=force, inputs=[examples])
    codebook = codebook or load_codebook()
    data = load_training_set(examples, codebook, config.coder)
    if data.n_documents < 3:
        raise InputError(examples, f"cross-validation by document needs at least 3 documents, found {data.n_documents}")
    encoder = embeddings.load_encoder(config.encoder)
    with _data_errors(examples):
        embedder = embeddings.default_embedder(encoder)
        X = UnitBatch.counted(data.texts, embedder.embed(data.texts, "embedding examples"))
        prototypes = embedder.embed(label_prompts(codebook), "embedding label texts")

        n_splits = min(config.n_splits, data.n_documents)
        by_writer = data.n_writers >= 2
        fallback = data.support < config.min_positives
        recipes = [
            Recipe(features, config.C, fallback, by_writer, n_splits, config.random_state, config.gold_weight)
            for features in MODEL_FEATURE_SETS
        ]
        weight = recipes[0].sample_weight(data)
        folds = recipes[0].folds(data)
        candidates = [recipe.system(prototypes, f"model ({recipe.features})") for recipe in recipes]
        tuned, untuned = np.ones(len(codebook.labels), dtype=bool), np.zeros(len(codebook.labels), dtype=bool)
        baselines = [
            System("keyword rules", partial(KeywordRules, codebook), untuned),
            System(TFIDF_BASELINE, partial(LinearHeads, "tfidf", config.C), tuned),
            System("zero-shot similarity", partial(ZeroShot, prototypes), untuned),
        ]
        oofs = cross_validate(
            X, data.Y, folds, candidates + (baselines if config.compare else []), fit_on_all=candidates, sample_weight=weight
        )
        systems = {oof.system.name: score_out_of_fold(oof, data.Y, folds, data.label_ids) for oof in oofs}
        best = max(range(len(candidates)), key=lambda i: (systems[candidates[i].name].macro_f1, -i))
        chosen = oofs[best]
        systems[f"{chosen.system.name} without relevance gate"] = score_out_of_fold(chosen, data.Y, folds, data.label_ids, gate=False)
        if data.gold.any():
            # The same folds scored only on the units two coders coded and an adjudicator settled:
            # the closest the examples come to a gold standard like the one users evaluate on.
            gold = np.flatnonzero(data.gold)
            for oof in [chosen] + [oof for oof in oofs if oof.system.name == TFIDF_BASELINE]:
                systems[f"{oof.system.name}, {ADJUDICATED_ROWS} ({len(gold)})"] = score_out_of_fold(
                    oof, data.Y, folds, data.label_ids, units=gold
                )
        within_writer, curve = {}, {}
        if by_writer:
            document_cv = document_folds(data.doc_ids, data.Y, min(WITHIN_WRITER_SPLITS, n_splits), 1, config.random_state)
            compared = [chosen.system] + (baselines if config.compare else [])
            within_writer = {
                oof.system.name: score_out_of_fold(oof, data.Y, document_cv, data.label_ids)
                for oof in cross_validate(X, data.Y, document_cv, compared, sample_weight=weight)
            }
            if config.compare:
                curve = writer_learning_curve(
                    X, data.Y, data.writers, chosen.system, data.label_ids, random_state=config.random_state, sample_weight=weight
                )
                curve["100%"] = systems[chosen.system.name]

        recipe = recipes[best]
        final = chosen.fitted
        layer = calibrated_layer(final, chosen, data.Y)
    dim = X.embeddings.shape[1]
    out = Path(out)
    info = _bundle_info(out.name, data, codebook, encoder, dim, recipe, config, folds, systems[chosen.system.name])
    metrics = {
        "selected": chosen.system.name,
        "scheme": recipe.scheme,
        "systems": {name: report.to_json() for name, report in systems.items()},
        "within_writer": {name: report.to_json() for name, report in within_writer.items()},
        "within_writer_splits": len(document_cv[0]) if within_writer else None,
        "learning_curve": {share: report.headline() for share, report in curve.items()},
        "learning_curve_groups": LEARNING_CURVE_GROUPS if curve else None,
    }
    thresholds = dict(zip([*data.label_ids, RELEVANCE], layer.thresholds.tolist(), strict=False))
    bundle = ModelBundle(
        info=info,
        coef_embedding=layer.coef[:, :dim],
        coef_tfidf=layer.coef[:, dim:] if final.heads_.tfidf_ else None,
        intercept=layer.intercept,
        thresholds=layer.thresholds,
        tfidf=final.heads_.tfidf_,
        metrics=metrics,
        card=render_card(info, metrics, thresholds, codebook),
    )
    with output_folder(out, "train", force=force, inputs=[examples]) as folder:
        log_training_run(bundle, folder, _params(info), _flat_metrics(systems, chosen.system.name))
    bundle.path = out
    return TrainResult(bundle=bundle, systems=systems, selected=chosen.system.name)


def _bundle_info(
    name: str,
    data: TrainingSet,
    codebook: Codebook,
    encoder: embeddings.TextEncoder,
    dim: int,
    recipe: Recipe,
    config: TrainConfig,
    folds: list[list[np.ndarray]],
    report: TrainingReport,
) -> BundleInfo:
    """What ``bundle.json`` records: enough to check the model's inputs and to re-run its recipe."""
    return BundleInfo(
        name=name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        encoder=EncoderInfo(encoder.name, encoder.fingerprint, dim),
        codebook=CodebookRef(codebook.name, codebook.version, codebook.content_hash),
        training_data=TrainingDataInfo(
            path=str(data.path),
            sha256=data.sha256,
            coder=data.coder,
            units=len(data.texts),
            documents=data.n_documents,
            writers=data.n_writers,
            empty_units=int((~data.Y.any(axis=1)).sum()),
            # Document id + text hash of every training unit, so `evaluate` recognises them in any file.
            unit_keys=unit_keys(data.doc_ids, data.texts),
        ),
        features=recipe.features,
        labels=tuple(
            LabelInfo(label, ZERO_SHOT if recipe.fallback[j] else "head", int(data.support[j])) for j, label in enumerate(data.label_ids)
        ),
        config=ConfigInfo(
            n_splits=config.n_splits,
            C=config.C,
            min_positives=config.min_positives,
            random_state=config.random_state,
            gold_weight=config.gold_weight,
        ),
        cv=CVInfo(
            scheme=recipe.scheme,
            n_splits=len(folds[0]),
            n_repeats=len(folds),
            feature_sets=MODEL_FEATURE_SETS,
            micro_f1=report.micro_f1,
            macro_f1=report.macro_f1,
            mean_kappa=report.mean_kappa,
        ),
    )


@contextlib.contextmanager
def _data_errors(examples: str | Path) -> Iterator[None]:
    """scikit-learn's refusals of degenerate data (no shared word, one class only) as one line about the examples."""
    try:
        yield
    except ValueError as exc:
        raise InputError(examples, f"cannot learn from these examples ({' '.join(str(exc).split())})") from None


def _params(info: BundleInfo) -> dict:
    return {
        "encoder": info.encoder.name,
        "encoder_fingerprint": info.encoder.fingerprint,
        "codebook_hash": info.codebook.content_hash,
        "training_sha256": info.training_data.sha256,
        "coder": info.training_data.coder,
        "units": info.training_data.units,
        "documents": info.training_data.documents,
        "features": info.features,
        "fallback_labels": " ".join(info.fallback_labels) or "none",
        "n_splits": info.cv.n_splits,
        "n_repeats": info.cv.n_repeats,
        **info.config.to_json(),
    }


def _flat_metrics(systems: dict[str, TrainingReport], selected: str) -> dict[str, float]:
    """MLflow metric names: ``<system>.<figure>`` for each system, ``<figure>.<label>`` for the model."""
    flat: dict[str, float] = {}
    for name, report in systems.items():
        key = "model" if name == selected else _slug(name)
        flat |= {f"{key}.{figure}": value for figure, value in (report.headline() | {"empty_coded": report.empty_coded}).items()}
    for label, figures in systems[selected].per_label.items():
        values = {"f1": figures.f1, "precision": figures.precision, "recall": figures.recall, "kappa": figures.kappa}
        flat |= {f"{figure}.{label}": value for figure, value in values.items() if value is not None}
    return flat


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")
