"""The ``evaluate`` report: the model as one more coder, beside the human-vs-human ceiling.

Comparisons, each at unit level and at document level (a document's codes are the union of
the codes of its units that both sides coded):

* the model against the gold standard: a coder named ``gold`` or ``adjudicated`` when the file
  has one; otherwise the majority of the human coders on each unit, a tie going to the primary
  coder (the one who coded most units), so a unit coded once takes that coder's codes;
* the model against each human coder;
* human against human (the pair sharing most units): the ceiling. It is measured on the units
  both humans coded, which may be fewer than those the model is measured on.

A label falls below the ceiling when the model's Krippendorff alpha against the gold is lower
than the humans' alpha on it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from matrixcoder.evaluation.confusion import Confusion, code_confusions
from matrixcoder.evaluation.multilabel import (
    PAIR_STATISTICS,
    BootstrapConfig,
    CodingTable,
    PairResult,
    pair_agreement,
)
from matrixcoder.evaluation.plots import Interval, agreement_figure, confusion_figure, prevalence_figure
from matrixcoder.evaluation.reports import Plot, Report, Section, Table
from matrixcoder.labels.codebook import Codebook

__all__ = ["GOLD", "GOLD_NAMES", "MODEL", "Evaluation", "evaluate_model", "evaluation_report", "gold_standard"]

MODEL = "model"
GOLD = "gold"
GOLD_NAMES = ("gold", "adjudicated")
SHOWN = ("precision", "recall", "f1", "kappa", "alpha", "ac1")


def gold_standard(table: CodingTable) -> tuple[str, CodingTable, str]:
    """The gold coder's name, the table with it, and how it was made.

    Raises:
        ValueError: The table has a coder named ``model``.
    """
    if MODEL in table.coders:
        raise ValueError(f"a coder is named '{MODEL}', the name the model takes here; rename that coder")
    for name in GOLD_NAMES:
        if name in table.coders:
            return name, table, f"coder '{name}' (adjudicated codes)"
    humans = list(table.coders)
    primary = max(humans, key=lambda coder: (table.coded[table.coder_index(coder)].sum(), -humans.index(coder)))
    votes = table.codes.sum(axis=0)
    coders = table.coded.sum(axis=0)[:, None]
    tie = 2 * votes == coders
    codes = (2 * votes > coders) | (tie & table.codes[table.coder_index(primary)])
    coded = table.coded.any(axis=0)
    description = (
        f"majority of {', '.join(humans)} per unit, ties to {primary} (primary coder)" if len(humans) > 1 else f"coder {primary}"
    )
    return GOLD, table.with_coder(GOLD, coded, codes), description


@dataclass(frozen=True)
class Evaluation:
    """Model-vs-human figures.

    Attributes:
        model: How the model's codes were made.
        gold: How the gold standard was made.
        humans: The human coders (a gold coder excluded).
        units: Comparison name (``"model vs gold"``, ``"model vs A"``, ``"A vs B"``) to figures, unit level.
        documents: The same at document level.
        ceiling: Name of the human pair used as the ceiling, or None with one human coder.
        confusion: Gold's codes (rows) against the model's (columns) where they differ.
    """

    model: str
    gold: str
    humans: tuple[str, ...]
    units: dict[str, PairResult]
    documents: dict[str, PairResult]
    ceiling: str | None
    confusion: Confusion

    def below_ceiling(self, level: str = "units") -> list[tuple[str, float, float]]:
        """Labels where the model's alpha against the gold is below the humans': ``(label, model, humans)``."""
        results = self.units if level == "units" else self.documents
        if self.ceiling is None:
            return []
        found = []
        for model, human in zip(results[MODEL_VS_GOLD].labels, results[self.ceiling].labels):
            ours, theirs = model.statistics["alpha"].value, human.statistics["alpha"].value
            if ours is not None and theirs is not None and ours < theirs:
                found.append((model.label, ours, theirs))
        return found

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "gold": self.gold,
            "humans": list(self.humans),
            "ceiling": self.ceiling,
            "units": {name: result.to_json() for name, result in self.units.items()},
            "documents": {name: result.to_json() for name, result in self.documents.items()},
            "below_ceiling": {
                level: [{"label": label, "model_alpha": m, "human_alpha": h} for label, m, h in self.below_ceiling(level)]
                for level in ("units", "documents")
            },
            "confusions": self.confusion.to_json(),
        }


MODEL_VS_GOLD = f"{MODEL} vs {GOLD}"


def evaluate_model(
    table: CodingTable, codes: np.ndarray, model: str, config: BootstrapConfig = BootstrapConfig()
) -> Evaluation:
    """Compare the model's codes with the human coders, at unit and document level.

    Args:
        table: Human coding (possibly with a ``gold``/``adjudicated`` coder).
        codes: The model's units x labels decisions, aligned with ``table``.
        model: How the model's codes were made (for the report).
        config: Bootstrap settings.

    Raises:
        ValueError: A coder is named ``model``.
    """
    gold, with_gold, gold_description = gold_standard(table)
    humans = tuple(coder for coder in table.coders if coder not in GOLD_NAMES)
    full = with_gold.with_coder(MODEL, np.ones(len(table.unit_ids), dtype=bool), codes)
    comparisons = [(MODEL, gold)] + [(MODEL, human) for human in humans]
    pairs = [pair for pair in itertools.combinations(humans, 2) if _shared(full, *pair)]
    ceiling = max(pairs, key=lambda pair: _shared(full, *pair)) if pairs else None
    if ceiling:
        comparisons.append(ceiling)
    units, documents = {}, {}
    for first, second in comparisons:
        name = f"{first} vs {GOLD if second == gold else second}"
        units[name] = pair_agreement(full, first, second, PAIR_STATISTICS, config)
        documents[name] = pair_agreement(full.select([first, second]).documents(), first, second, PAIR_STATISTICS, config)
    confusion = code_confusions(full, [(gold, MODEL)])
    return Evaluation(
        model, gold_description, humans, units, documents, f"{ceiling[0]} vs {ceiling[1]}" if ceiling else None, confusion
    )


def _shared(table: CodingTable, first: str, second: str) -> int:
    return int((table.coded[table.coder_index(first)] & table.coded[table.coder_index(second)]).sum())


def _per_label(evaluation: Evaluation, level: str, codebook: Codebook) -> Table:
    results = evaluation.units if level == "units" else evaluation.documents
    model = results[MODEL_VS_GOLD]
    human = results[evaluation.ceiling] if evaluation.ceiling else None
    below = {label for label, _, _ in evaluation.below_ceiling(level)}
    columns = ["label", "gold +", "model +", "P", "R", "F1", "kappa", "alpha", "AC1"]
    if human:
        columns += [f"{evaluation.ceiling}: F1", "kappa", "alpha", "AC1", "below humans"]
    rows = []
    for k, pair in enumerate(model.labels):
        row = [pair.label, str(pair.both + pair.second_only), str(pair.both + pair.first_only)]
        row += [pair.statistics[name].format() for name in SHOWN]
        if human:
            ceiling = human.labels[k]
            row += [ceiling.statistics[name].format() for name in ("f1", "kappa", "alpha", "ac1")]
            row.append("BELOW" if pair.label in below else "")
        rows.append(row)
    unit = "unit" if level == "units" else "document"
    return Table(f"Per label, {unit} level: model vs gold (95% bootstrap intervals) beside human vs human", columns, rows)


def evaluation_report(evaluation: Evaluation, codebook: Codebook, source: str) -> Report:
    """Build the report (JSON, tables and plots from the same evaluation)."""
    summary_rows = []
    for level, results in (("units", evaluation.units), ("documents", evaluation.documents)):
        for name, result in results.items():
            role = "ceiling" if name == evaluation.ceiling else ""
            summary_rows.append(
                [level, name, role, str(result.n_units), *[result.macro[statistic].format() for statistic in SHOWN]]
            )
    summary = Table(
        "Macro means over used labels (95% bootstrap intervals)",
        ["level", "comparison", "", "n", "P", "R", "F1", "kappa", "alpha", "AC1"],
        summary_rows,
    )
    below = Table(
        "Labels where the model (vs gold) falls below human agreement (Krippendorff's alpha)",
        ["level", "label", "name", "model alpha", "human alpha"],
        [
            [level, label, codebook.label(label).name, f"{ours:.3f}", f"{theirs:.3f}"]
            for level in ("units", "documents")
            for label, ours, theirs in evaluation.below_ceiling(level)
        ]
        or [["–", "", "none" if evaluation.ceiling else "no human-vs-human ceiling (one human coder)", "", ""]],
    )
    per_coder = Table(
        "Cohen's kappa per label: model vs each human coder (unit level)",
        ["label", *[f"model vs {human}" for human in evaluation.humans]],
        [
            [pair.label, *[evaluation.units[f"{MODEL} vs {human}"].labels[k].statistics["kappa"].format() for human in evaluation.humans]]
            for k, pair in enumerate(evaluation.units[MODEL_VS_GOLD].labels)
        ],
    )
    model_units = evaluation.units[MODEL_VS_GOLD]
    human_units = evaluation.units[evaluation.ceiling] if evaluation.ceiling else None
    rows = [
        Interval(
            pair.label,
            pair.statistics["alpha"].value,
            *(pair.statistics["alpha"].interval or (None, None)),
            ceiling=human_units.labels[k].statistics["alpha"].value if human_units else None,
        )
        for k, pair in enumerate(model_units.labels)
    ]
    plots = [
        Plot(
            "Krippendorff's alpha per label, model vs gold, with 95% intervals; red marks: human vs human; dashed lines at .667 and .800",
            agreement_figure(rows, "Model vs gold, per label (units)", "Krippendorff's alpha", evaluation.ceiling or ""),
        ),
        Plot(
            "Codes confused by the model: row = gold's code, column = the model's code on the same unit",
            confusion_figure(evaluation.confusion.labels, evaluation.confusion.counts, "Model confusions", "gold", "model"),
        ),
        Plot(
            "Units given each label by the gold standard and by the model",
            prevalence_figure(
                [pair.label for pair in model_units.labels],
                {"gold": [p.both + p.second_only for p in model_units.labels], "model": [p.both + p.first_only for p in model_units.labels]},
                "Label prevalence",
                "units with the label",
            ),
        ),
    ]
    sections = [
        Section(
            "Data",
            [
                f"Gold standard file: {source}. Model: {evaluation.model}.",
                f"Gold: {evaluation.gold}. Human coders: {', '.join(evaluation.humans)}. "
                + (
                    f"Ceiling: {evaluation.ceiling}, on the {evaluation.units[evaluation.ceiling].n_units} units both coded."
                    if evaluation.ceiling
                    else "No human-vs-human ceiling: one human coder."
                ),
                "Precision and recall read the model as the system and the other side as the reference. "
                "Document level: a document's codes are the union of the codes of its units that both sides coded.",
            ],
        ),
        Section("Summary", tables=[summary, below]),
        Section("Per label", tables=[_per_label(evaluation, "units", codebook)], plots=plots),
        Section("Per label, documents", tables=[_per_label(evaluation, "documents", codebook)]),
        Section("Model vs each coder", tables=[per_coder]),
    ]
    metrics = {
        f"evaluate.{level}.{statistic}": estimate.value
        for level, results in (("units", evaluation.units), ("documents", evaluation.documents))
        for statistic, estimate in results[MODEL_VS_GOLD].macro.items()
        if estimate.value is not None
    }
    data = {"source": source, "codebook": {"version": codebook.version, "content_hash": codebook.content_hash}}
    return Report("evaluate", f"Model vs human coders: {source}", data | evaluation.to_json(), sections, metrics, (0, 1, 2))
