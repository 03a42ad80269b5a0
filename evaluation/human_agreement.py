"""The ``agreement`` report: human coders among themselves."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from matrixcoder.errors import InputError
from matrixcoder.evaluation.coding_agreement import (
    AgreementResult,
    BootstrapConfig,
    CodingTable,
    LabelAgreement,
    check_doubly_coded,
    coding_table,
    label_agreement,
)
from matrixcoder.evaluation.confusion import Confusion, code_confusions
from matrixcoder.evaluation.plots import Interval, agreement_figure, confusion_figure, prevalence_figure
from matrixcoder.evaluation.reports import Plot, Report, Section, Table
from matrixcoder.labels.codebook import Codebook
from matrixcoder.labels.coded_units import read_coded_units

__all__ = ["FEW_DOUBLY_CODED", "RARE_MARK", "RARE_UNITS", "agreement_report", "human_agreement", "is_rare", "label_note"]

TOP_CONFUSIONS = 15
# Below this many doubly coded units carrying a label, a bootstrap over units cannot show how
# uncertain its agreement is (a handful of agreeing units gives the interval [1, 1]).
RARE_UNITS = 10
# Below this many doubly coded units, every figure of the report rests on too few units to trust.
FEW_DOUBLY_CODED = 30
# Marks a rare label and each of its figures, so a reader scanning a column cannot miss it.
RARE_MARK = "†"


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


def is_rare(label: LabelAgreement) -> bool:
    """Given on some but fewer than ``RARE_UNITS`` doubly coded units: its figures are not evidence."""
    return bool(label.prevalence) and label.n_with_label < RARE_UNITS


def _marked(label: LabelAgreement, text: str) -> str:
    """``text`` with the mark when fewer than ``RARE_UNITS`` doubly coded units carry the label (none included)."""
    return f"{text} {RARE_MARK}" if label.n_with_label < RARE_UNITS else text


def label_note(label: LabelAgreement) -> str:
    """A short reason why some statistic of a label is missing or shaky ("" when none)."""
    if not label.prevalence:
        return f"{RARE_MARK} never given on a doubly coded unit: AC1 and % agreement are 1 by convention, not evidence"
    if is_rare(label):
        return (
            f"{RARE_MARK} rare: {label.n_with_label} doubly coded unit(s) with the label (fewer than {RARE_UNITS}); "
            "its figures and intervals are not evidence of agreement"
        )
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
    rare = [label for label in result.labels if is_rare(label)]
    data: dict[str, Any] = {"source": source, "codebook": {"version": codebook.version, "content_hash": codebook.content_hash}}
    data |= result.to_json() | {"confusions": confusion.to_json()}
    data |= {
        "rare_units": RARE_UNITS,
        "rare_labels": [label.label for label in rare],
        "never_given_labels": [label.label for label in result.labels if not label.prevalence],
        "few_doubly_coded": result.n_pairable < FEW_DOUBLY_CODED,
    }
    first_name, second_name = _pair_roles(coders)
    plots_agreement = Plot(
        f"Krippendorff's alpha per label (all coders) with 95% bootstrap intervals; dashed lines at .667 and .800; "
        f"{RARE_MARK}: fewer than {RARE_UNITS} doubly coded units with the label, not evidence",
        agreement_figure(
            [Interval(_marked(lab, lab.label), lab.alpha.value, *(lab.alpha.interval or (None, None))) for lab in result.labels],
            "Krippendorff's alpha per label",
            "Krippendorff's alpha (nominal, yes/no per label)",
        ),
    )
    plots_prevalence = Plot(
        "Doubly coded units given each label, per coder (one bar per coder)",
        prevalence_figure(
            [lab.label for lab in result.labels],
            {coder: [lab.positives[coder] for lab in result.labels] for coder in coders},
            "Label prevalence",
            "units with the label",
        ),
    )
    plots_confusion = Plot(
        f"Codes confused between coders: row = {first_name}'s code, column = {second_name}'s code on the same unit",
        confusion_figure(confusion.labels, confusion.counts, "Code confusions between coders", first_name, second_name),
    )
    units = ", ".join(f"{coder}: {n}" for coder, n in result.units_per_coder.items())
    data_text = [
        f"Source: {source}. Coders: {', '.join(coders)}. Units coded — {units}. "
        f"Units coded by at least two coders (the basis of every figure): {result.n_pairable} of {result.n_units}.",
        f"Intervals: percentile bootstrap over those units, {result.config.n_resamples} replicates, "
        f"seed {result.config.seed}. Undefined statistics are reported as undefined with the reason, never as numbers.",
        f"Whose codes each column shows: alpha and MASI alpha use all coders ({', '.join(coders)}) together; kappa, AC1 "
        f"and % agreement are {_pairs_word(coders)}; a column named after a coder counts that coder's codes.",
    ]
    sections = [
        Section("Data", _few_units_warning(result) + data_text),
        Section("Summary", tables=[_summary_table(result)]),
        Section("Per label", _rare_text(result, rare), [_per_label_table(result, codebook)], [plots_agreement, plots_prevalence]),
        Section("Coder pairs", tables=[_pairs_table(result, pair_names)]),
        Section("Confused codes", tables=[_confusion_table(confusion, first_name, second_name)], plots=[plots_confusion]),
    ]
    metrics = _metrics(result)
    return Report("agreement", f"Inter-coder agreement: {source}", data, sections, metrics, console_tables=(0, 1))


def _pairs_word(coders: tuple[str, ...]) -> str:
    """Whose codes a pair statistic compares: the one pair, or the mean over all pairs."""
    if len(coders) == 2:
        return f"{coders[0]} vs {coders[1]}"
    return f"means over the {len(coders) * (len(coders) - 1) // 2} coder pairs"


def _pair_roles(coders: tuple[str, ...]) -> tuple[str, str]:
    """Names of the two sides of a confusion: the coders themselves when there are two."""
    return (coders[0], coders[1]) if len(coders) == 2 else ("each pair's first coder", "each pair's second coder")


def _few_units_warning(result: AgreementResult) -> list[str]:
    """A warning first thing in the report when too few units are doubly coded to trust any figure."""
    if result.n_pairable >= FEW_DOUBLY_CODED:
        return []
    return [
        f"WARNING: only {result.n_pairable} units are coded by two or more coders (fewer than {FEW_DOUBLY_CODED}). "
        "Every figure below rests on them: the intervals are wide, or misleadingly narrow where the coders happen to "
        f"agree throughout. Code at least {FEW_DOUBLY_CODED} units doubly (more for rare codes) before relying on these figures."
    ]


def _rare_text(result: AgreementResult, rare: list[LabelAgreement]) -> list[str]:
    """What the mark means, and which labels carry it."""
    never = sum(1 for label in result.labels if not label.prevalence)
    if not rare and not never:
        return []
    listed = ", ".join(f"{label.label} ({label.n_with_label})" for label in rare) or "none"
    return [
        f"{RARE_MARK} marks labels carried by fewer than {RARE_UNITS} doubly coded units: their figures, intervals "
        "included, are not evidence of agreement (a few units on which the coders agree give 1.000 [1.000, 1.000], and "
        f"a label nobody gave has AC1 and % agreement 1 by convention). Rare (units with the label): {listed}. "
        f"Never given: {never} label(s). The summary's means count every label that was given, rare ones included."
    ]


def _summary_table(result: AgreementResult) -> Table:
    title = "Agreement by dimension (means over used labels; MASI alpha on code sets)"
    if result.n_pairable < FEW_DOUBLY_CODED:
        title += f" — WARNING: only {result.n_pairable} doubly coded units (fewer than {FEW_DOUBLY_CODED})"
    pairs = _pairs_word(result.coders)
    return Table(
        title,
        [
            "dimension",
            "labels",
            "alpha (all coders)",
            f"kappa ({pairs})",
            f"AC1 ({pairs})",
            f"% agreement ({pairs})",
            "MASI alpha (all coders)",
        ],
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


def _per_label_table(result: AgreementResult, codebook: Codebook) -> Table:
    coders, pairs = result.coders, _pairs_word(result.coders)
    return Table(
        f"Agreement per label on the {result.n_pairable} doubly coded units (95% bootstrap intervals); "
        f"{RARE_MARK}: fewer than {RARE_UNITS} of them carry the label, so its figures are not evidence",
        [
            "label", "name", "units with the label (any coder)", "prevalence (all codings)",
            *[f"units {c} gave it" for c in coders],
            "alpha (all coders)", f"kappa ({pairs})", f"AC1 ({pairs})", f"% agreement ({pairs})", "note",
        ],
        [
            [
                _marked(label, label.label),
                codebook.label(label.label).name,
                str(label.n_with_label),
                f"{label.prevalence:.3f}" if label.prevalence is not None else "",
                *[str(label.positives[c]) for c in coders],
                *[_marked(label, estimate.format()) for estimate in (label.alpha, label.mean["kappa"], label.mean["ac1"], label.mean["percent"])],
                label_note(label),
            ]
            for label in result.labels
        ],
    )  # fmt: skip


def _pairs_table(result: AgreementResult, pair_names: list[str]) -> Table:
    return Table(
        f"Cohen's kappa per coder pair ({RARE_MARK}: fewer than {RARE_UNITS} doubly coded units carry the label, not evidence)",
        ["label", *pair_names],
        [
            [_marked(label, label.label), *[_marked(label, pair.statistics["kappa"].format()) for pair in label.pairs]]
            for label in result.labels
        ],
    )


def _confusion_table(confusion: Confusion, first: str, second: str) -> Table:
    """The most frequent disagreements, each direction counted apart so that it says who gave which code."""
    index = {label: k for k, label in enumerate(confusion.labels)}
    rows = [
        [p, q, str(int(confusion.counts[index[p], index[q]])), str(int(confusion.counts[index[q], index[p]])), _example(confusion, p, q)]
        for p, q, _ in confusion.top(TOP_CONFUSIONS, with_none=True)
    ]
    return Table(
        f"Most frequent disagreements (top {TOP_CONFUSIONS}; {confusion.labels[-1]} = no other code given)",
        [
            "code p",
            "code q",
            f"units: {first} gave p, {second} q",
            f"units: {first} gave q, {second} p",
            f"example unit ({first}'s codes / {second}'s)",
        ],
        rows,
    )


def _example(confusion: Confusion, p: str, q: str) -> str:
    examples = confusion.examples_of(p, q)
    if not examples:
        return ""
    example = examples[0]
    codes = f"{' '.join(example.first_codes) or '–'} / {' '.join(example.second_codes) or '–'}"
    return f"{example.unit_id} ({codes}): {example.text[:120]}{'…' if len(example.text) > 120 else ''}"


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
