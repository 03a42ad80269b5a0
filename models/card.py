"""The model card (``MODEL.md``): what the model was trained on and how well it did, per label."""

from __future__ import annotations

from matrixcoder.labels.codebook import Codebook
from matrixcoder.models.bundle import RELEVANCE

__all__ = ["render_card"]


def render_card(info: dict, metrics: dict, thresholds: dict[str, float], codebook: Codebook) -> str:
    """Markdown for ``MODEL.md``.

    Args:
        info: The bundle's ``bundle.json`` content.
        metrics: The bundle's ``metrics.json`` content.
        thresholds: Decision threshold per label and for relevance.
        codebook: The codebook the model was trained on (for label names).
    """
    cv = info["cv"]
    data = info["training_data"]
    selected = metrics["systems"][metrics["selected"]]
    lines = [
        f"# Model card: {info['name']}",
        "",
        f"Trained {info['created']} on `{data['path']}` (sha256 `{data['sha256'][:16]}…`), coder {data['coder']}: "
        f"{data['units']} units from {data['documents']} documents, {data['empty_units']} of them coded empty.",
        "",
        f"- Encoder: `{info['encoder']['name']}` (fingerprint `{info['encoder']['fingerprint'][:16]}…`, {info['encoder']['dim']} dimensions)",
        f"- Codebook: {info['codebook']['name']} version {info['codebook']['version']} (hash `{info['codebook']['content_hash'][:16]}…`)",
        f"- Features: {info['features']} (chosen by cross-validated macro-F1 among {', '.join(cv['feature_sets'])})",
        f"- Heads: logistic regression per label, balanced class weights, C = {info['config']['C']}, Platt-calibrated on out-of-fold scores",
        f"- Relevance gate: {_gate_text(thresholds[RELEVANCE])}",
        f"- Cross-validation: {cv['n_splits']} folds by document × {cv['n_repeats']} repeat(s), iterative multi-label "
        "stratification over documents; thresholds cross-fitted (tuned on the other folds only)",
        "",
        "## Cross-validated comparison (same folds)",
        "",
        "| system | micro-F1 | macro-F1 | mean kappa | empty units given a code |",
        "|---|---|---|---|---|",
    ]
    for name, report in metrics["systems"].items():
        marker = " **(this model)**" if name == metrics["selected"] else ""
        lines.append(
            f"| {name}{marker} | {report['micro_f1']:.3f} | {report['macro_f1']:.3f} | {report['mean_kappa']:.3f} | {report['empty_coded']:.1%} |"
        )
    fallback = [label["id"] for label in info["labels"] if label["mode"] == "zero-shot"]
    lines += [
        "",
        "## Zero-shot labels",
        "",
        (
            f"Labels with fewer than {info['config']['min_positives']} positive units are scored by calibrated similarity "
            f"to their indicator text instead of a trained head: {', '.join(fallback)}."
            if fallback
            else f"None: every label has at least {info['config']['min_positives']} positive units and a trained head."
        ),
        "",
        "## Per label (cross-validated)",
        "",
        "| label | name | mode | support (units) | precision | recall | F1 | kappa | threshold |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label in info["labels"]:
        figures = selected["per_label"].get(label["id"])
        name = codebook.label(label["id"]).name
        if figures is None:
            lines.append(f"| {label['id']} | {name} | {label['mode']} | 0 | – | – | – | – | {thresholds[label['id']]:.3f} |")
            continue
        kappa = "–" if figures["kappa"] is None else f"{figures['kappa']:.3f}"
        lines.append(
            f"| {label['id']} | {name} | {label['mode']} | {label['support']} | {figures['precision']:.3f} | "
            f"{figures['recall']:.3f} | {figures['f1']:.3f} | {kappa} | {thresholds[label['id']]:.3f} |"
        )
    lines += ["", "Macro figures average over labels with at least one positive unit.", ""]
    return "\n".join(lines)


def _gate_text(threshold: float) -> str:
    if threshold <= 0.0:
        return "trained, but cross-validation found gating did not help, so it is off (threshold 0)"
    return f"on; a unit gets codes only if P(any code) ≥ {threshold:.3f}"
