"""The ``evaluate`` report: the model as one more coder, beside the human-vs-human ceiling.

Comparisons, each at unit level and at document level (a document's codes are the union of
the codes of its units that both sides coded):

* the model against the gold standard: a coder named ``gold`` or ``adjudicated`` when the file
  has one; otherwise the majority of the human coders on each unit, a tie going to the primary
  coder (the one who coded most units), so a unit coded once takes that coder's codes;
* the model against each human coder;
* human against human (the pair sharing most units): the ceiling, and beside it the model
  against the gold on exactly the same units, so that "below the ceiling" compares like with like.

Every comparison uses only the units both sides coded; units the model was trained on and that
could not be cross-fitted (masked rows of its codes, see ``held_out``) count as not coded by it.

A label falls below the ceiling when the model's Krippendorff alpha against the gold is lower
than the humans' alpha on it, on the units both humans coded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from matrixcoder.evaluation.coding_agreement import (
    PAIR_STATISTICS,
    BootstrapConfig,
    CodingTable,
    Estimate,
    PairResult,
    pair_agreement,
)
from matrixcoder.evaluation.confusion import Confusion, code_confusions
from matrixcoder.evaluation.plots import Interval, agreement_figure, confusion_figure, prevalence_figure
from matrixcoder.evaluation.reports import Plot, Report, Section, Table
from matrixcoder.labels.codebook import Codebook
from matrixcoder.labels.coded_units import GOLD_CODERS

__all__ = [
    "GOLD",
    "MODEL",
    "MODEL_ON_CEILING",
    "Evaluation",
    "evaluate_model",
    "evaluation_report",
    "gold_standard",
]

MODEL = "model"
GOLD = "gold"
SHOWN = ("precision", "recall", "f1", "kappa", "alpha", "ac1")


def gold_standard(table: CodingTable) -> tuple[str, CodingTable, str]:
    """The gold coder's name, the table with it, and how it was made (a sentence for the report).

    Raises:
        ValueError: The table has a coder named ``model``.
    """
    if MODEL in table.coders:
        raise ValueError(f"a coder is named '{MODEL}', the name the model takes here; rename that coder")
    for name in GOLD_CODERS:
        if name in table.coders:
            return name, table, f"the codes of coder '{name}' (a coder named 'gold' or 'adjudicated' is the gold standard)"
    humans = list(table.coders)
    if len(humans) == 1:
        return GOLD, table.with_coder(GOLD, table.coded[0], table.codes[0]), f"coder {humans[0]}'s codes (the only coder)"
    primary = max(humans, key=lambda coder: (table.coded[table.coder_index(coder)].sum(), -humans.index(coder)))
    votes = table.codes.sum(axis=0)
    coders = table.coded.sum(axis=0)[:, None]
    tie = 2 * votes == coders
    codes = (2 * votes > coders) | (tie & table.codes[table.coder_index(primary)])
    coded = np.any(table.coded, axis=0)
    description = (
        f"no coder is named 'gold' or 'adjudicated', so a unit's gold codes are the labels given by a majority of "
        f"the coders ({', '.join(humans)}) who coded it; ties to {primary}, the primary coder (most units coded): a label "
        f"given by exactly half of them counts when {primary} gave it, and a unit coded by one coder takes that coder's codes"
    )
    return GOLD, table.with_coder(GOLD, coded, codes), description


@dataclass(frozen=True)
class Evaluation:
    """Model-vs-human figures.

    Attributes:
        model: How the model's codes were made.
        gold: How the gold standard was made.
        humans: The human coders (a gold coder excluded).
        units: Comparison name (``"model vs gold"``, ``"model vs A"``, ``"A vs B"``,
            ``MODEL_ON_CEILING``) to figures, unit level.
        documents: The same at document level.
        ceiling: Name of the human pair used as the ceiling, or None with one human coder.
        confusion: Gold's codes (rows) against the model's (columns) where they differ.
        excluded: Units left out because the model was trained on them and they could not be cross-fitted.
    """

    model: str
    gold: str
    humans: tuple[str, ...]
    units: dict[str, PairResult]
    documents: dict[str, PairResult]
    ceiling: str | None
    confusion: Confusion
    excluded: int = 0

    def below_ceiling(self, level: str = "units") -> list[tuple[str, float, float]]:
        """Labels where the model's alpha against the gold is below the humans' on the same units: ``(label, model, humans)``."""
        results = self.units if level == "units" else self.documents
        if self.ceiling is None:
            return []
        found = []
        for model, human in zip(results[MODEL_ON_CEILING].labels, results[self.ceiling].labels, strict=True):
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
            "excluded_units": self.excluded,
            "units": {name: result.to_json() for name, result in self.units.items()},
            "documents": {name: result.to_json() for name, result in self.documents.items()},
            "below_ceiling": {
                level: [{"label": label, "model_alpha": m, "human_alpha": h} for label, m, h in self.below_ceiling(level)]
                for level in ("units", "documents")
            },
            "confusions": self.confusion.to_json(),
        }


MODEL_VS_GOLD = f"{MODEL} vs {GOLD}"
# The model against the gold on exactly the units of the human ceiling: what "below humans" compares.
MODEL_ON_CEILING = f"{MODEL_VS_GOLD}, ceiling units"


def evaluate_model(table: CodingTable, codes: np.ndarray, model: str, config: BootstrapConfig = BootstrapConfig()) -> Evaluation:
    """Compare the model's codes with the human coders, at unit and document level, on shared units only.

    Args:
        table: Human coding (possibly with a ``gold``/``adjudicated`` coder).
        codes: The model's units x labels decisions, aligned with ``table``; a masked array's
            masked rows are units the model has no honest code for (see ``held_out``) and are left out.
        model: How the model's codes were made (for the report).
        config: Bootstrap settings.

    Raises:
        ValueError: A coder is named ``model``.
    """
    scored = ~np.any(np.ma.getmaskarray(codes), axis=1)
    decisions = np.ma.getdata(codes).astype(bool) & scored[:, None]
    gold, with_gold, gold_description = gold_standard(table)
    humans = tuple(coder for coder in table.coders if coder not in GOLD_CODERS)
    full = _only(with_gold.with_coder(MODEL, scored, decisions), scored)
    comparisons = {f"{MODEL} vs {GOLD if other == gold else other}": (full, MODEL, other) for other in (gold, *humans)}
    pairs = [pair for pair in itertools.combinations(humans, 2) if _shared(full, *pair).any()]
    ceiling = max(pairs, key=lambda pair: _shared(full, *pair).sum()) if pairs else None
    if ceiling:
        same = _only(full, _shared(full, *ceiling) & full.coded[full.coder_index(gold)])
        comparisons[f"{ceiling[0]} vs {ceiling[1]}"] = (same, *ceiling)
        comparisons[MODEL_ON_CEILING] = (same, MODEL, gold)
    units, documents = {}, {}
    for name, (view, first, second) in comparisons.items():
        units[name] = pair_agreement(view, first, second, PAIR_STATISTICS, config)
        documents[name] = pair_agreement(view.select([first, second]).documents(), first, second, PAIR_STATISTICS, config)
    confusion = code_confusions(full, [(gold, MODEL)])
    ceiling_name = f"{ceiling[0]} vs {ceiling[1]}" if ceiling else None
    return Evaluation(model, gold_description, humans, units, documents, ceiling_name, confusion, int((~scored).sum()))


def _shared(table: CodingTable, first: str, second: str) -> np.ndarray:
    """Units both coders coded."""
    return table.coded[table.coder_index(first)] & table.coded[table.coder_index(second)]


def _only(table: CodingTable, units: np.ndarray) -> CodingTable:
    """The table with every coder's coding kept on ``units`` only, so comparisons share their units."""
    coded = table.coded & units[None]
    return CodingTable(table.unit_ids, table.doc_ids, table.texts, table.coders, table.label_ids, coded, table.codes & coded[:, :, None])


def _per_label(evaluation: Evaluation, level: str, codebook: Codebook) -> Table:
    """Model vs gold per label on all shared units, then model and humans side by side on the ceiling's units."""
    results = evaluation.units if level == "units" else evaluation.documents
    model = results[MODEL_VS_GOLD]
    unit = "unit" if level == "units" else "document"
    title = f"Per label, {unit} level: model vs gold on the {model.n_units} {unit}s both coded (95% bootstrap intervals)"
    columns = ["label", "gold +", "model +", "P", "R", "F1", "kappa", "alpha", "AC1"]
    rows = [
        [
            pair.label,
            str(pair.both + pair.second_only),
            str(pair.both + pair.first_only),
            *[pair.statistics[name].format() for name in SHOWN],
        ]
        for pair in model.labels
    ]
    if evaluation.ceiling:
        same, human = results[MODEL_ON_CEILING], results[evaluation.ceiling]
        below = {label for label, _, _ in evaluation.below_ceiling(level)}
        title += f"; right: model vs gold beside {evaluation.ceiling} on the same {human.n_units} {unit}s, which both humans coded"
        columns += [
            "model vs gold: kappa",
            "model vs gold: alpha",
            f"{evaluation.ceiling}: kappa",
            f"{evaluation.ceiling}: alpha",
            "below humans",
        ]
        for row, ours, theirs in zip(rows, same.labels, human.labels, strict=True):
            row += [ours.statistics["kappa"].format(), ours.statistics["alpha"].format()]
            row += [theirs.statistics["kappa"].format(), theirs.statistics["alpha"].format(), "BELOW" if ours.label in below else ""]
    return Table(title, columns, rows)


def _alpha_rows(evaluation: Evaluation) -> tuple[PairResult, list[Interval]]:
    """What the alpha plot draws: the model beside the ceiling on the ceiling's units, else on all its units."""
    if evaluation.ceiling is None:
        model, human = evaluation.units[MODEL_VS_GOLD], None
    else:
        model, human = evaluation.units[MODEL_ON_CEILING], evaluation.units[evaluation.ceiling]
    rows = [
        Interval(
            pair.label,
            pair.statistics["alpha"].value,
            *_bounds(pair.statistics["alpha"]),
            ceiling=human.labels[k].statistics["alpha"].value if human else None,
        )
        for k, pair in enumerate(model.labels)
    ]
    return model, rows


def _bounds(estimate: Estimate) -> tuple[float | None, float | None]:
    """The interval's ends, or ``(None, None)`` without an interval."""
    return estimate.interval or (None, None)


def _role(evaluation: Evaluation, name: str) -> str:
    if name == evaluation.ceiling:
        return "ceiling"
    return "same units as ceiling" if name == MODEL_ON_CEILING else ""


def _comparisons_text(evaluation: Evaluation) -> str:
    """Which units each comparison uses: only those both sides coded."""
    per_coder = ", ".join(f"{human}: {evaluation.units[f'{MODEL} vs {human}'].n_units}" for human in evaluation.humans)
    text = (
        f"Labels are compared only on units both sides coded: model vs gold on the {evaluation.units[MODEL_VS_GOLD].n_units} "
        f"units the gold covers and the model scored; model vs each coder on that coder's units ({per_coder})"
    )
    if evaluation.excluded:
        text += f"; the {evaluation.excluded} units excluded from the model's side are left out of every comparison"
    if evaluation.ceiling:
        first, second = evaluation.ceiling.split(" vs ")
        text += (
            f". The ceiling ({evaluation.ceiling}) and the model beside it ('{MODEL_ON_CEILING}') use the same "
            f"{evaluation.units[evaluation.ceiling].n_units} units, which both {first} and {second} coded; "
            "'below humans' compares those two"
        )
    return text + "."


def evaluation_report(evaluation: Evaluation, codebook: Codebook, source: str) -> Report:
    """Build the report (JSON, tables and plots from the same evaluation)."""
    summary_rows = []
    for level, results in (("units", evaluation.units), ("documents", evaluation.documents)):
        for name, result in results.items():
            summary_rows.append(
                [level, name, _role(evaluation, name), str(result.n_units), *[result.macro[statistic].format() for statistic in SHOWN]]
            )
    summary = Table(
        "Macro means over used labels (95% bootstrap intervals)",
        ["level", "comparison", "", "n", "P", "R", "F1", "kappa", "alpha", "AC1"],
        summary_rows,
    )
    below = Table(
        "Labels where the model (vs gold) falls below human agreement (Krippendorff's alpha, on the units both humans coded)",
        ["level", "label", "name", "model vs gold alpha", f"{evaluation.ceiling or 'humans'} alpha"],
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
    plotted, alpha_rows = _alpha_rows(evaluation)
    on = f"the {plotted.n_units} units " + (
        f"{evaluation.ceiling.replace(' vs ', ' and ')} both coded" if evaluation.ceiling else "both coded"
    )
    marks = f"; red marks: {evaluation.ceiling} on the same units" if evaluation.ceiling else ""
    plots = [
        Plot(
            f"Krippendorff's alpha per label, model vs gold on {on}{marks}, with 95% intervals; dashed lines at .667 and .800",
            agreement_figure(alpha_rows, "Model vs gold, per label (units)", "Krippendorff's alpha", evaluation.ceiling or ""),
        ),
        Plot(
            "Codes confused by the model: row = gold's code, column = the model's code on the same unit",
            confusion_figure(evaluation.confusion.labels, evaluation.confusion.counts, "Model confusions", "gold", "model"),
        ),
        Plot(
            "Units given each label by the gold standard and by the model",
            prevalence_figure(
                [pair.label for pair in model_units.labels],
                {
                    "gold": [p.both + p.second_only for p in model_units.labels],
                    "model": [p.both + p.first_only for p in model_units.labels],
                },
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
                f"Gold standard: {evaluation.gold}. Human coders: {', '.join(evaluation.humans)}. "
                + (
                    f"Ceiling: {evaluation.ceiling}, on the {evaluation.units[evaluation.ceiling].n_units} units both coded."
                    if evaluation.ceiling
                    else "No human-vs-human ceiling: one human coder, or no unit coded by two."
                ),
                _comparisons_text(evaluation),
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
