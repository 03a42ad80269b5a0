"""The ``agreement`` report: human coders among themselves."""

from __future__ import annotations

import itertools
from pathlib import Path

from matrixcoder.errors import InputError
from matrixcoder.evaluation.confusion import Confusion, code_confusions
from matrixcoder.evaluation.multilabel import (
    AgreementResult,
    BootstrapConfig,
    CodingTable,
    LabelAgreement,
    check_doubly_coded,
    coding_table,
    label_agreement,
)
from matrixcoder.evaluation.plots import Interval, agreement_figure, confusion_figure, prevalence_figure
from matrixcoder.evaluation.reports import Plot, Report, Section, Table
from matrixcoder.labels.codebook import Codebook
from matrixcoder.labels.coded_units import read_coded_units

__all__ = ["RARE_UNITS", "agreement_report", "human_agreement", "label_note"]

TOP_CONFUSIONS = 15
# Below this many doubly coded units carrying a label, a bootstrap over units cannot show how
# uncertain its agreement is (a handful of agreeing units gives the interval [1, 1]).
RARE_UNITS = 10


def human_agreement(
    path: str | Path, codebook: Codebook, config: BootstrapConfig = BootstrapConfig()
) -> tuple[CodingTable, AgreementResult, Confusion]:
    """Read a coded-units file and compute agreement and code confusions among its coders.

    Raises:
        InputError: Bad file, one coder only, or no doubly coded unit.
    """
    table = coding_table(read_coded_units(path, codebook), codebook.label_ids)
    try:
        check_doubly_coded(table)
    except ValueError as error:
        raise InputError(path, str(error)) from None
    result = label_agreement(table, codebook, config)
    confusion = code_confusions(table, list(itertools.combinations(result.coders, 2)))
    return table, result, confusion


def label_note(label: LabelAgreement) -> str:
    """A short reason why some statistic of a label is missing or shaky ("" when none)."""
    if not label.prevalence:
        return "never given on a doubly coded unit"
    if label.n_with_label < RARE_UNITS:
        return f"rare: {label.n_with_label} doubly coded unit(s) with the label; the interval is unreliable"
    for estimate in (label.alpha, *label.mean.values()):
        if estimate.value is None:
            return "undefined: " + (estimate.note or "")
        if estimate.interval is None:
            return "no interval: too few resamples with the label"
    return ""


def agreement_report(result: AgreementResult, confusion: Confusion, codebook: Codebook, source: str) -> Report:
    """Build the report (JSON, tables and plots from the same result)."""
    coders = result.coders
    pair_names = [f"{first} vs {second}" for first, second in itertools.combinations(coders, 2)]
    data = {"source": source, "codebook": {"version": codebook.version, "content_hash": codebook.content_hash}}
    data |= result.to_json() | {"confusions": confusion.to_json()}

    summary = Table(
        "Agreement by dimension (means over used labels; MASI alpha on code sets)",
        ["dimension", "labels", "alpha", "kappa", "AC1", "% agreement", "MASI alpha"],
        [
            [
                f"{s.scope} {s.name}" if s.scope != "overall" else "overall",
                str(s.n_labels),
                s.means["alpha"].format(),
                s.means["kappa"].format(),
                s.means["ac1"].format(),
                s.means["percent"].format(),
                s.masi_alpha.format(),
            ]
            for s in result.summaries
        ],
    )
    per_label = Table(
        "Agreement per label on the doubly coded units (95% bootstrap intervals; kappa, AC1 and % are means over coder pairs)",
        ["label", "name", "prevalence", *[f"{c} (units)" for c in coders], "alpha", "kappa", "AC1", "% agreement", "note"],
        [
            [
                label.label,
                codebook.label(label.label).name,
                f"{label.prevalence:.3f}" if label.prevalence is not None else "",
                *[str(label.positives[c]) for c in coders],
                label.alpha.format(),
                label.mean["kappa"].format(),
                label.mean["ac1"].format(),
                label.mean["percent"].format(),
                label_note(label),
            ]
            for label in result.labels
        ],
    )
    pairs_table = Table(
        "Cohen's kappa per coder pair",
        ["label", *pair_names],
        [[label.label, *[pair.statistics["kappa"].format() for pair in label.pairs]] for label in result.labels],
    )
    top = confusion.top(TOP_CONFUSIONS, with_none=True)
    confusion_table = Table(
        f"Most frequent disagreements (top {TOP_CONFUSIONS}; {confusion.labels[-1]} = no other code given)",
        ["code", "code", "units", "example unit"],
        [[p, q, str(n), _example(confusion, p, q)] for p, q, n in top],
    )
    first, second = result.coders[0], result.coders[1]
    rows_name = first if len(coders) == 2 else "first coder of each pair"
    columns_name = second if len(coders) == 2 else "second coder of each pair"
    plots_agreement = Plot(
        "Krippendorff's alpha per label with 95% bootstrap intervals; dashed lines at .667 and .800",
        agreement_figure(
            [Interval(lab.label, lab.alpha.value, *(lab.alpha.interval or (None, None))) for lab in result.labels],
            "Krippendorff's alpha per label",
            "Krippendorff's alpha (nominal, yes/no per label)",
        ),
    )
    plots_prevalence = Plot(
        "Units given each label, per coder",
        prevalence_figure(
            [lab.label for lab in result.labels],
            {coder: [lab.positives[coder] for lab in result.labels] for coder in coders},
            "Label prevalence",
            "units with the label",
        ),
    )
    plots_confusion = Plot(
        f"Codes confused between coders: row = {rows_name}'s code, column = {columns_name}'s code on the same unit",
        confusion_figure(confusion.labels, confusion.counts, "Code confusions between coders", rows_name, columns_name),
    )
    units = ", ".join(f"{coder}: {n}" for coder, n in result.units_per_coder.items())
    sections = [
        Section(
            "Data",
            [
                f"Source: {source}. Coders: {', '.join(coders)}. Units coded — {units}. "
                f"Units coded by at least two coders (the basis of every figure): {result.n_pairable} of {result.n_units}.",
                f"Intervals: percentile bootstrap over those units, {result.config.n_resamples} replicates, "
                f"seed {result.config.seed}. Undefined statistics are reported as undefined with the reason, never as numbers.",
            ],
        ),
        Section("Summary", tables=[summary]),
        Section("Per label", tables=[per_label], plots=[plots_agreement, plots_prevalence]),
        Section("Coder pairs", tables=[pairs_table]),
        Section("Confused codes", tables=[confusion_table], plots=[plots_confusion]),
    ]
    metrics = _metrics(result)
    return Report("agreement", f"Inter-coder agreement: {source}", data, sections, metrics, console_tables=(0, 1))


def _example(confusion: Confusion, p: str, q: str) -> str:
    examples = confusion.examples_of(p, q)
    if not examples:
        return ""
    text = examples[0].text
    return f"{examples[0].unit_id}: {text[:120]}{'…' if len(text) > 120 else ''}"


def _metrics(result: AgreementResult) -> dict[str, float]:
    metrics: dict[str, float] = {}
    overall = result.overall
    for name, estimate in (*overall.means.items(), ("masi_alpha", overall.masi_alpha)):
        if estimate.value is not None:
            metrics[f"agreement.overall.{name}"] = estimate.value
    for label in result.labels:
        if label.alpha.value is not None:
            metrics[f"agreement.alpha.{label.label}"] = label.alpha.value
    return metrics
