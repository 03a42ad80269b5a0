"""Report figures as base64 PNG, so one HTML file carries its plots.

Figures are drawn on ``matplotlib.figure.Figure`` with the Agg canvas: no pyplot state and no
display, so commands work headless.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "ACCEPTABLE",
    "TENTATIVE",
    "Interval",
    "agreement_figure",
    "confusion_figure",
    "launch_year_figure",
    "prevalence_figure",
]

# Krippendorff (2004): rely on data with alpha >= .800; draw tentative conclusions from .667.
TENTATIVE = 0.667
ACCEPTABLE = 0.800


@dataclass(frozen=True)
class Interval:
    """One row of an interval plot; ``value`` None draws "undefined"."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    ceiling: float | None = None


def _encode(figure: Figure) -> str:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def agreement_figure(rows: Sequence[Interval], title: str, statistic: str, ceiling_name: str = "") -> str:
    """Per-label estimates with intervals and reference lines at .667 and .800.

    Args:
        rows: One per label, top to bottom.
        title: Figure title.
        statistic: Axis label, e.g. "Krippendorff's alpha".
        ceiling_name: Legend name of the ``ceiling`` markers (e.g. human vs human); empty for none.
    """
    figure = Figure(figsize=(7.5, 0.26 * len(rows) + 1.4))
    axes = figure.add_subplot()
    y = np.arange(len(rows))[::-1]
    for position, row in zip(y, rows, strict=False):
        if row.value is None:
            axes.text(0.0, position, "undefined", va="center", ha="left", fontsize=7, color="grey")
            continue
        low = row.value - row.low if row.low is not None else 0
        high = row.high - row.value if row.high is not None else 0
        axes.errorbar(row.value, position, xerr=[[low], [high]], fmt="o", color="tab:blue", ms=4, capsize=2)
        if row.ceiling is not None:
            axes.plot(row.ceiling, position, marker="|", color="tab:red", ms=10, mew=2)
    axes.axvline(TENTATIVE, color="tab:orange", ls="--", lw=1, label=f"{TENTATIVE:.3f} (tentative)")
    axes.axvline(ACCEPTABLE, color="tab:green", ls="--", lw=1, label=f"{ACCEPTABLE:.3f} (reliable)")
    if ceiling_name:
        axes.plot([], [], marker="|", color="tab:red", ls="none", ms=10, mew=2, label=ceiling_name)
    axes.set_yticks(y, [row.label for row in rows], fontsize=7)
    axes.set_xlabel(statistic)
    axes.set_xlim(min([-0.05, *(r.low for r in rows if r.low is not None)]), 1.02)
    axes.set_ylim(-1, len(rows))
    axes.set_title(title, fontsize=10)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    axes.grid(axis="x", alpha=0.3)
    return _encode(figure)


def confusion_figure(labels: Sequence[str], counts: np.ndarray, title: str, rows_name: str, columns_name: str) -> str:
    """Heatmap of code confusions; only codes involved in at least one confusion are shown."""
    counts = np.asarray(counts)
    keep = np.flatnonzero(counts.sum(axis=0) + counts.sum(axis=1))
    figure = Figure(figsize=(max(4.0, 0.32 * len(keep) + 2), max(3.0, 0.32 * len(keep) + 1.8)))
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=10)
    if not len(keep):
        axes.text(0.5, 0.5, "no disagreements", ha="center", va="center")
        axes.set_axis_off()
        return _encode(figure)
    shown = counts[np.ix_(keep, keep)]
    image = axes.imshow(shown, cmap="Reds")
    names = [labels[int(k)] for k in keep]
    axes.set_xticks(range(len(keep)), names, rotation=90, fontsize=7)
    axes.set_yticks(range(len(keep)), names, fontsize=7)
    axes.set_ylabel(rows_name)
    axes.set_xlabel(columns_name)
    for i, j in zip(*np.nonzero(shown), strict=False):
        color = "white" if shown[i, j] > shown.max() / 2 else "black"
        axes.text(j, i, str(shown[i, j]), ha="center", va="center", fontsize=6, color=color)
    figure.colorbar(image, ax=axes, shrink=0.7, label="units")
    return _encode(figure)


def prevalence_figure(labels: Sequence[str], positives: dict[str, Sequence[float]], title: str, xlabel: str) -> str:
    """Horizontal bars per label, one bar per coder (or source)."""
    figure = Figure(figsize=(7.5, 0.26 * len(labels) + 1.4))
    axes = figure.add_subplot()
    y = np.arange(len(labels))[::-1]
    height = 0.8 / max(len(positives), 1)
    for k, (name, values) in enumerate(positives.items()):
        axes.barh(y + 0.4 - height * (k + 0.5), values, height=height, label=name)
    axes.set_yticks(y, labels, fontsize=7)
    axes.set_ylim(-1, len(labels))
    axes.set_xlabel(xlabel)
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=7)
    axes.grid(axis="x", alpha=0.3)
    return _encode(figure)


def launch_year_figure(years: Sequence[int], mentioning: Sequence[int], not_mentioning: Sequence[int], title: str) -> str:
    """The paper's Figure 1: alliances per launch year, split by mention of micro-credentials."""
    figure = Figure(figsize=(6.0, 3.6))
    axes = figure.add_subplot()
    positions = np.arange(len(years))
    axes.bar(positions, mentioning, label="mention micro-credentials", color="tab:blue")
    axes.bar(positions, not_mentioning, bottom=mentioning, label="no mention found", color="lightgrey")
    for x, (m, n) in enumerate(zip(mentioning, not_mentioning, strict=False)):
        axes.text(x, m / 2, str(m), ha="center", va="center", color="white", fontsize=8)
        if n:
            axes.text(x, m + n / 2, str(n), ha="center", va="center", fontsize=8)
    axes.set_xticks(positions, [str(year) for year in years])
    axes.set_xlabel("launch year")
    axes.set_ylabel("alliances")
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8)
    return _encode(figure)
