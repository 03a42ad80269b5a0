"""The model card (``MODEL.md``): what the model was trained on and how well it did, per label."""

from __future__ import annotations

from matrixcoder.labels.codebook import Codebook
from matrixcoder.models.info import RELEVANCE, BundleInfo, CVInfo

__all__ = ["ADJUDICATED_ROWS", "cv_scheme_text", "render_card"]


def render_card(info: BundleInfo, metrics: dict, thresholds: dict[str, float], codebook: Codebook) -> str:
    """Markdown for ``MODEL.md``.

    Args:
        info: The bundle's description (``bundle.json``).
        metrics: The bundle's ``metrics.json`` content.
        thresholds: Decision threshold per label and for relevance.
        codebook: The codebook the model was trained on (for label names).
    """
    cv, data, encoder, book = info.cv, info.training_data, info.encoder, info.codebook
    selected = metrics["systems"][metrics["selected"]]
    lines = [
        f"# Model card: {info.name}",
        "",
        f"Trained {info.created} on `{data.path}` (sha256 `{data.sha256[:16]}…`), coder {data.coder}: "
        f"{data.units} units from {data.documents} documents, {data.empty_units} of them coded empty.",
        "",
        f"- Encoder: `{encoder.name}` (fingerprint `{encoder.fingerprint[:16]}…`, {encoder.dim} dimensions)",
        f"- Codebook: {book.name} version {book.version} (hash `{book.content_hash[:16]}…`)",
        f"- Features: {info.features} (chosen by cross-validated macro-F1 among {', '.join(cv.feature_sets)})",
        f"- Heads: logistic regression per label, balanced class weights, C = {info.config.C}, units with adjudicated codes weighted "
        f"{info.config.gold_weight or 1:g}, Platt-calibrated on out-of-fold scores",
        f"- Relevance gate: {_gate_text(thresholds[RELEVANCE])}",
        f"- Cross-validation: {cv_scheme_text(cv, info.training_data.writers)}; thresholds cross-fitted (tuned on the other folds only)",
        "",
        f"## Cross-validated comparison: {_headline_name(cv)} (same folds)",
        "",
        "| system | micro-F1 | macro-F1 | mean kappa | empty units given a code |",
        "|---|---|---|---|---|",
    ]
    for name, report in metrics["systems"].items():
        marker = " **(this model)**" if name == metrics["selected"] else ""
        lines.append(
            f"| {name}{marker} | {report['micro_f1']:.3f} | {report['macro_f1']:.3f} | {report['mean_kappa']:.3f} | {report['empty_coded']:.1%} |"
        )
    if any(ADJUDICATED_ROWS in name for name in metrics["systems"]):
        lines += [
            "",
            f'Rows "{ADJUDICATED_ROWS}" score the same out-of-fold decisions on the units that two coders',
            "coded blind and an adjudicator settled: their codes (which the model also learnt from) are the",
            "nearest thing in the examples to the adjudicated gold standard users evaluate against.",
        ]
    # Bundles written before the numbers were recorded used 5 folds and 4 groups.
    lines += _within_writer(metrics.get("within_writer", {}), metrics["selected"], metrics.get("within_writer_splits") or 5)
    lines += _learning_curve(metrics.get("learning_curve", {}), metrics.get("learning_curve_groups") or 4)
    fallback = info.fallback_labels
    lines += [
        "",
        "## Zero-shot labels",
        "",
        (
            f"Labels with fewer than {info.config.min_positives} positive units are scored by calibrated similarity "
            f"to their indicator text instead of a trained head: {', '.join(fallback)}."
            if fallback
            else f"None: every label has at least {info.config.min_positives} positive units and a trained head."
        ),
        "",
        f"## Per label ({_headline_name(cv)})",
        "",
        "| label | name | mode | support (units) | precision | recall | F1 | kappa | threshold |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label in info.labels:
        figures = selected["per_label"].get(label.id)
        name = codebook.label(label.id).name
        if figures is None:
            lines.append(f"| {label.id} | {name} | {label.mode} | 0 | – | – | – | – | {thresholds[label.id]:.3f} |")
            continue
        kappa = "–" if figures["kappa"] is None else f"{figures['kappa']:.3f}"
        lines.append(
            f"| {label.id} | {name} | {label.mode} | {label.support} | {figures['precision']:.3f} | "
            f"{figures['recall']:.3f} | {figures['f1']:.3f} | {kappa} | {thresholds[label.id]:.3f} |"
        )
    lines += ["", "Macro figures average over labels with at least one positive unit.", ""]
    return "\n".join(lines)


# Marks the comparison rows scored on adjudicated units only (training.train names them).
ADJUDICATED_ROWS = "adjudicated units only"


def cv_scheme_text(cv: CVInfo, n_writers: int | None) -> str:
    """How the headline figures were cross-validated, in words (``n_writers``: None in old bundles)."""
    if cv.by_writer and (n_writers is None or cv.n_splits >= n_writers):
        return f"leave one writer out ({cv.n_splits} writers, each held out in turn with all its documents)"
    if cv.by_writer:
        return f"writers held out in {cv.n_splits} groups ({n_writers} writers; each group held out in turn with all its documents)"
    return (
        f"{cv.n_splits} folds by document × {cv.n_repeats} repeat(s), iterative multi-label stratification "
        "over documents (the examples name no writers, so this is a within-writer figure)"
    )


def _headline_name(cv: CVInfo) -> str:
    return "unseen writers" if cv.by_writer else "cross-validated by document"


def _within_writer(within: dict, selected: str, splits: int) -> list[str]:
    if not within:
        return []
    lines = [
        "",
        f"## Within-writer figures (cross-validated by document, {splits} folds)",
        "",
        "The same systems when a test document's writer also wrote training documents, so the model has",
        f"learnt that writer's phrasing. Each fold's models learn from {1 - 1 / splits:.0%} of the documents, fewer",
        "than the unseen-writer models above learn from: compare with the learning curve's point at the",
        "same share. The unseen-writer figures above are the honest ones.",
        "",
        "| system | micro-F1 | macro-F1 | mean kappa |",
        "|---|---|---|---|",
    ]
    for name, report in within.items():
        marker = " **(this model)**" if name == selected else ""
        lines.append(f"| {name}{marker} | {report['micro_f1']:.3f} | {report['macro_f1']:.3f} | {report['mean_kappa']:.3f} |")
    return lines


def _learning_curve(curve: dict, groups: int) -> list[str]:
    if not curve:
        return []
    lines = [
        "",
        "## Learning curve over writers (unseen writers)",
        "",
        "Each share: the model learns from that share of the other writers; the smaller shares hold",
        f"the writers out in {groups} groups; 100% is the headline figure.",
        "",
        "| writers used | micro-F1 | macro-F1 | mean kappa |",
        "|---|---|---|---|",
    ]
    for share, report in curve.items():
        lines.append(f"| {share} | {report['micro_f1']:.3f} | {report['macro_f1']:.3f} | {report['mean_kappa']:.3f} |")
    return lines


def _gate_text(threshold: float) -> str:
    if threshold <= 0.0:
        return "trained, but cross-validation found gating did not help, so it is off (threshold 0)"
    return f"on; a unit gets codes only if P(any code) ≥ {threshold:.3f}"
