"""Agreement on multi-label coding: one yes/no decision per unit and label, and code sets per unit.

A :class:`CodingTable` holds who coded which unit with which labels. From it,
:func:`label_agreement` reports per label Krippendorff's alpha (all coders, missing allowed),
and for each coder pair Cohen's kappa, Gwet's AC1 and percent agreement; :func:`pair_agreement`
adds precision, recall and F1 of one coder against another (the model against a reference).
Summaries per dimension and overall average the labels and add Krippendorff's alpha on code
sets with the MASI distance.

Point estimates, and the reason when one is undefined, come from
:mod:`matrixcoder.evaluation.agreement`, whose functions are tested against published values.
Intervals come from a percentile bootstrap over units with that module's seeded draws. For
speed the replicates are computed in closed form from per-label counts, vectorised over labels
and replicates (39 labels x 1,000 replicates per statistic); the tests check these closed forms
against the module's functions.

Units: a statistic uses the units that can be compared. A pair statistic uses the units both
coders coded; alpha uses the units at least two coders coded ("pairable"), and the bootstrap
resamples exactly those units.

MASI (Passonneau 2006): distance ``1 - J * M`` between two code sets, with ``J`` their
Jaccard index and ``M`` 1 for identical sets, 0.67 when one contains the other, 0.33 when they
overlap otherwise and 0 when disjoint. Two empty sets ("no code applies") have distance 0; an
empty and a non-empty set distance 1. See :func:`agreement.masi_distance`.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from matrixcoder.labels.codebook import APPROACH_DIMENSION, Codebook
from matrixcoder.labels.coded_units import CodedUnit
from matrixcoder.stats import agreement

__all__ = [
    "AgreementResult",
    "AgreementSummary",
    "BootstrapConfig",
    "CodingTable",
    "Estimate",
    "LabelAgreement",
    "PAIR_STATISTICS",
    "PairAgreement",
    "PairResult",
    "check_doubly_coded",
    "coding_table",
    "label_agreement",
    "pair_agreement",
]

# Statistics of one coder pair on one label; precision, recall and F1 read the first coder as
# the system and the second as the reference.
PAIR_STATISTICS = ("percent", "kappa", "ac1", "alpha", "precision", "recall", "f1")
AGREEMENT_STATISTICS = ("percent", "kappa", "ac1")


@dataclass(frozen=True)
class BootstrapConfig:
    """Percentile bootstrap over units.

    Attributes:
        n_resamples: Replicates (at least 1,000 for reported intervals).
        confidence: Coverage of the intervals.
        seed: Seed of the unit draws; the same seed gives the same intervals.
    """

    n_resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap interval.

    Attributes:
        value: The estimate, or None when the statistic is undefined on these data.
        interval: ``(low, high)``, or None when too few replicates were defined.
        note: Why ``value`` or ``interval`` is missing; None when both are there.
    """

    value: float | None
    interval: tuple[float, float] | None = None
    note: str | None = None

    def to_json(self) -> dict:
        record: dict = {"value": self.value, "interval": list(self.interval) if self.interval else None}
        if self.note:
            record["note"] = self.note
        return record

    def format(self, digits: int = 3) -> str:
        """``.712 [.630, .790]``, ``.712 [no interval]`` or ``undefined``."""
        if self.value is None:
            return "undefined"
        if self.interval is None:
            return f"{_num(self.value, digits)} [no interval]"
        low, high = self.interval
        return f"{_num(self.value, digits)} [{_num(low, digits)}, {_num(high, digits)}]"


def _num(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return text.replace("0.", ".", 1) if abs(value) < 1 else text


@dataclass(frozen=True)
class CodingTable:
    """Who coded which unit with which labels.

    Attributes:
        unit_ids: The units (or documents), in order of first appearance.
        doc_ids: Document of each unit.
        texts: Text of each unit (a document's id at document level).
        coders: The coders.
        label_ids: The labels, in codebook order.
        coded: Coders x units; True where the coder coded the unit.
        codes: Coders x units x labels; True where the coder gave the label (False if not coded).
    """

    unit_ids: tuple[str, ...]
    doc_ids: tuple[str, ...]
    texts: tuple[str, ...]
    coders: tuple[str, ...]
    label_ids: tuple[str, ...]
    coded: np.ndarray
    codes: np.ndarray

    def coder_index(self, coder: str) -> int:
        return self.coders.index(coder)

    def code_set(self, coder: int, unit: int | np.integer) -> frozenset[str]:
        """The labels coder ``coder`` gave unit ``unit`` (indices into ``coders`` and ``unit_ids``)."""
        return frozenset(self.label_ids[j] for j in np.flatnonzero(self.codes[coder, unit]))

    def select(self, coders: Sequence[str]) -> CodingTable:
        """The same units with only ``coders``."""
        rows = [self.coder_index(coder) for coder in coders]
        return CodingTable(self.unit_ids, self.doc_ids, self.texts, tuple(coders), self.label_ids, self.coded[rows], self.codes[rows])

    def with_coder(self, coder: str, coded: np.ndarray, codes: np.ndarray) -> CodingTable:
        """The table with one more coder (e.g. the model or the gold standard)."""
        if coder in self.coders:
            raise ValueError(f"coder {coder!r} is already in the table")
        return CodingTable(
            self.unit_ids,
            self.doc_ids,
            self.texts,
            (*self.coders, coder),
            self.label_ids,
            np.vstack([self.coded, coded[None]]),
            np.concatenate([self.codes, codes[None]]),
        )

    def documents(self) -> CodingTable:
        """Document level: a document's codes are the union of its units' codes.

        Only units that every coder in the table coded count, so coders are compared on the
        same text: select the coders first (``select``) to compare a pair on the units both
        read. Documents without such a unit are left out.
        """
        shared = np.all(self.coded, axis=0)
        doc_ids = tuple(dict.fromkeys(d for d, keep in zip(self.doc_ids, shared, strict=False) if keep))
        index = {doc_id: i for i, doc_id in enumerate(doc_ids)}
        units = np.flatnonzero(shared)
        unit_doc = np.array([index[self.doc_ids[u]] for u in units], dtype=int)
        codes = np.zeros((len(self.coders), len(doc_ids), len(self.label_ids)), dtype=bool)
        for c in range(len(self.coders)):
            np.logical_or.at(codes[c], unit_doc, self.codes[c][units])
        coded = np.ones((len(self.coders), len(doc_ids)), dtype=bool)
        return CodingTable(doc_ids, doc_ids, doc_ids, self.coders, self.label_ids, coded, codes)


def coding_table(units: Sequence[CodedUnit], label_ids: Sequence[str]) -> CodingTable:
    """Arrange coded units (as read by ``read_coded_units``) into a :class:`CodingTable`."""
    unit_ids = tuple(dict.fromkeys(unit.unit_id for unit in units))
    coders = tuple(sorted({unit.coder for unit in units}))
    unit_index = {unit_id: i for i, unit_id in enumerate(unit_ids)}
    label_index = {label: j for j, label in enumerate(label_ids)}
    doc_ids: dict[str, str] = {}
    texts: dict[str, str] = {}
    coded = np.zeros((len(coders), len(unit_ids)), dtype=bool)
    codes = np.zeros((len(coders), len(unit_ids), len(label_ids)), dtype=bool)
    for unit in units:
        c, i = coders.index(unit.coder), unit_index[unit.unit_id]
        doc_ids.setdefault(unit.unit_id, unit.doc_id)
        texts.setdefault(unit.unit_id, unit.text)
        coded[c, i] = True
        codes[c, i, [label_index[code] for code in unit.codes]] = True
    return CodingTable(
        unit_ids,
        tuple(doc_ids[u] for u in unit_ids),
        tuple(texts[u] for u in unit_ids),
        coders,
        tuple(label_ids),
        coded,
        codes,
    )


@dataclass(frozen=True)
class PairAgreement:
    """One coder pair on one label.

    Attributes:
        label: The label id.
        first: The first coder (the system, for precision and recall).
        second: The second coder (the reference).
        n_units: Units both coded.
        both: Units both gave the label.
        first_only: Units only the first gave it.
        second_only: Units only the second gave it.
        statistics: Statistic name (see ``PAIR_STATISTICS``) to estimate.
    """

    label: str
    first: str
    second: str
    n_units: int
    both: int
    first_only: int
    second_only: int
    statistics: dict[str, Estimate]

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "first": self.first,
            "second": self.second,
            "n_units": self.n_units,
            "both": self.both,
            "first_only": self.first_only,
            "second_only": self.second_only,
            **{name: estimate.to_json() for name, estimate in self.statistics.items()},
        }


@dataclass(frozen=True)
class PairResult:
    """One coder pair on every label.

    Attributes:
        first: The first coder (the system, for precision and recall).
        second: The second coder (the reference).
        n_units: Units both coded.
        labels: One entry per label, table order.
        macro: Per statistic, the mean over the labels either coder gave on these units.
    """

    first: str
    second: str
    n_units: int
    labels: tuple[PairAgreement, ...]
    macro: dict[str, Estimate]

    def to_json(self) -> dict:
        return {
            "first": self.first,
            "second": self.second,
            "n_units": self.n_units,
            "macro": {name: estimate.to_json() for name, estimate in self.macro.items()},
            "labels": [pair.to_json() for pair in self.labels],
        }


@dataclass(frozen=True)
class LabelAgreement:
    """All coders on one label.

    Attributes:
        label: The label id.
        dimension: Its dimension id.
        n_units: Units coded by at least two coders.
        positives: Per coder, the units among those given the label.
        n_with_label: Units among those that at least one coder gave the label.
        prevalence: Share of the pairable codings that give the label; None without any.
        alpha: Krippendorff's alpha over all coders (nominal, yes/no).
        pairs: One entry per coder pair.
        mean: Per statistic in ``AGREEMENT_STATISTICS``, the mean over pairs.
    """

    label: str
    dimension: str
    n_units: int
    positives: dict[str, int]
    n_with_label: int
    prevalence: float | None
    alpha: Estimate
    pairs: tuple[PairAgreement, ...]
    mean: dict[str, Estimate]

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "dimension": self.dimension,
            "n_units": self.n_units,
            "positives": self.positives,
            "n_with_label": self.n_with_label,
            "prevalence": self.prevalence,
            "alpha": self.alpha.to_json(),
            **{f"mean_{name}": estimate.to_json() for name, estimate in self.mean.items()},
            "pairs": [pair.to_json() for pair in self.pairs],
        }


@dataclass(frozen=True)
class AgreementSummary:
    """Labels of one dimension (or all labels) summarised.

    Attributes:
        scope: Dimension id, or ``"overall"``.
        name: Human-readable name.
        n_labels: Labels in scope.
        means: Per statistic (``alpha`` and ``AGREEMENT_STATISTICS``), the mean over the labels
            where it is defined, with its interval; ``note`` says how many labels entered.
        masi_alpha: Krippendorff's alpha on the code sets restricted to the scope's labels.
    """

    scope: str
    name: str
    n_labels: int
    means: dict[str, Estimate]
    masi_alpha: Estimate

    def to_json(self) -> dict:
        return {
            "scope": self.scope,
            "name": self.name,
            "n_labels": self.n_labels,
            **{f"mean_{name}": estimate.to_json() for name, estimate in self.means.items()},
            "masi_alpha": self.masi_alpha.to_json(),
        }


@dataclass(frozen=True)
class AgreementResult:
    """Human coders among themselves.

    Attributes:
        coders: The coders.
        n_units: Units in the file.
        n_pairable: Units coded by at least two coders.
        units_per_coder: Units each coder coded.
        labels: One entry per label, codebook order.
        summaries: Per coded dimension, then approach types, then ``overall``.
        config: The bootstrap settings.
    """

    coders: tuple[str, ...]
    n_units: int
    n_pairable: int
    units_per_coder: dict[str, int]
    labels: tuple[LabelAgreement, ...]
    summaries: tuple[AgreementSummary, ...]
    config: BootstrapConfig

    @property
    def overall(self) -> AgreementSummary:
        return self.summaries[-1]

    def to_json(self) -> dict:
        return {
            "coders": list(self.coders),
            "n_units": self.n_units,
            "n_pairable": self.n_pairable,
            "units_per_coder": self.units_per_coder,
            "bootstrap": {
                "n_resamples": self.config.n_resamples,
                "confidence": self.config.confidence,
                "seed": self.config.seed,
            },
            "labels": [label.to_json() for label in self.labels],
            "summaries": [summary.to_json() for summary in self.summaries],
        }


# --- closed forms over counts, vectorised: arrays hold NaN where a replicate is undefined ---


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def _pair_closed_forms(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> dict[str, np.ndarray]:
    """Pair statistics from the 2x2 counts: a both yes, b first only, c second only, d both no."""
    n = a + b + c + d
    observed = _divide(a + d, n)
    kappa_chance = _divide((a + b) * (a + c) + (c + d) * (b + d), n * n)
    prevalence = _divide(2 * a + b + c, 2 * n)
    ac1_chance = 2 * prevalence * (1 - prevalence)
    # Two coders, binary values: alpha = 1 - (n_values - 1) * disagreeing units / (n0 * n1).
    ones, zeros = 2 * a + b + c, 2 * d + b + c
    alpha_disagreement = _divide((2 * n - 1) * (b + c), ones * zeros)
    return {
        "percent": observed,
        "kappa": _divide(observed - kappa_chance, 1 - kappa_chance),
        "ac1": _divide(observed - ac1_chance, 1 - ac1_chance),
        "alpha": 1 - alpha_disagreement,
        "precision": _divide(a, a + b),
        "recall": _divide(a, a + c),
        "f1": _divide(2 * a, 2 * a + b + c),
    }


def _alpha_closed_form(weights: np.ndarray, ones: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Binary Krippendorff alpha per label for unit weights (replicates x units).

    ``ones`` (units x labels) counts the coders giving the label, ``values`` (units) the
    coders coding the unit; units must be pairable.
    """
    zeros = values[:, None] - ones
    within = ones * zeros / (values[:, None] - 1)
    n1, n0 = weights @ ones, weights @ zeros
    n = n0 + n1
    return 1 - _divide((n - 1) * (weights @ within), n0 * n1)


def _masi_closed_form(weights: np.ndarray, sets: list[list[frozenset]]) -> np.ndarray:
    """MASI alpha on code sets for unit weights (replicates x units); ``sets`` per pairable unit."""
    distinct = list(dict.fromkeys(s for unit in sets for s in unit))
    index = {s: k for k, s in enumerate(distinct)}
    distance = np.array([[agreement.masi_distance(s, t) for t in distinct] for s in distinct])
    counts = np.zeros((len(sets), len(distinct)))
    for i, unit in enumerate(sets):
        for s in unit:
            counts[i, index[s]] += 1
    values = counts.sum(axis=1)
    within = np.einsum("uk,kl,ul->u", counts, distance, counts) / (values - 1)
    n = weights @ values
    totals = weights @ counts
    expected = _divide(np.einsum("rk,kl,rl->r", totals, distance, totals), n * (n - 1))
    observed = _divide(weights @ within, n)
    return 1 - _divide(observed, expected)


def _weights(n_units: int, config: BootstrapConfig) -> np.ndarray:
    """Replicates x units: how often each unit was drawn (the draws of ``agreement.bootstrap_indices``)."""
    draws = agreement.bootstrap_indices(n_units, config.n_resamples, config.seed)
    weights = np.zeros((config.n_resamples, n_units))
    np.add.at(weights, (np.arange(config.n_resamples)[:, None], draws), 1)
    return weights


def _estimate(compute: Callable[[], float], replicates: np.ndarray, config: BootstrapConfig) -> Estimate:
    """The point estimate from ``compute`` and the interval from the defined replicates."""
    try:
        value = float(compute())
    except ValueError as error:
        return Estimate(None, None, str(error))
    try:
        interval = agreement.percentile_interval(replicates[~np.isnan(replicates)], config.n_resamples, config.confidence)
    except ValueError as error:
        return Estimate(value, None, str(error))
    return Estimate(value, interval)


def _fixed(value: float) -> Callable[[], float]:
    """A point estimate already computed; NaN marks it undefined."""

    def compute() -> float:
        if np.isnan(value):
            raise ValueError("undefined: no label in scope was used and has this statistic defined")
        return value

    return compute


# --- point estimates from the reference-tested functions ---


def _point(statistic: str, x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    """The reference implementation of a pair statistic on two yes/no vectors."""
    if statistic == "percent":
        return lambda: agreement.percent_agreement(x, y)
    if statistic == "kappa":
        return lambda: agreement.cohen_kappa(x, y)
    if statistic == "ac1":
        # A yes/no decision has two categories even when a coder used only one of them.
        table = np.array([[np.sum(x & y), np.sum(x & ~y)], [np.sum(~x & y), np.sum(~x & ~y)]])
        return lambda: agreement.gwet_ac1_table(table)
    if statistic == "alpha":
        return lambda: agreement.krippendorff_alpha(np.vstack([x, y]).astype(float))
    a, b, c = int(np.sum(x & y)), int(np.sum(x & ~y)), int(np.sum(~x & y))
    if statistic == "precision":
        return _ratio(a, a + b, "precision is undefined: the first coder never gave the label")
    if statistic == "recall":
        return _ratio(a, a + c, "recall is undefined: the reference never gave the label")
    if statistic == "f1":
        return _ratio(2 * a, 2 * a + b + c, "F1 is undefined: neither coder gave the label")
    raise ValueError(f"unknown statistic {statistic!r}")


def _ratio(numerator: int, denominator: int, reason: str) -> Callable[[], float]:
    def compute() -> float:
        if denominator == 0:
            raise ValueError(reason)
        return numerator / denominator

    return compute


# --- public API ---


def pair_agreement(
    table: CodingTable,
    first: str,
    second: str,
    statistics: Sequence[str] = PAIR_STATISTICS,
    config: BootstrapConfig = BootstrapConfig(),
) -> PairResult:
    """Per label and macro-averaged, statistics of ``first`` against ``second`` on the units both coded.

    Args:
        table: The coding.
        first: The first coder (the system for precision and recall).
        second: The second coder (the reference).
        statistics: Which of ``PAIR_STATISTICS`` to compute.
        config: Bootstrap settings; the pair's common units are resampled.

    Returns:
        The :class:`PairResult`.

    Raises:
        ValueError: The two coders share no unit.
    """
    labels, replicates = _pair(table, first, second, statistics, config)
    used = [k for k, pair in enumerate(labels) if pair.both + pair.first_only + pair.second_only]
    macro = {name: _label_mean([pair.statistics[name].value for pair in labels], replicates[name], used, config) for name in statistics}
    return PairResult(first, second, labels[0].n_units, labels, macro)


def _pair(
    table: CodingTable,
    first: str,
    second: str,
    statistics: Sequence[str],
    config: BootstrapConfig,
    universe: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[tuple[PairAgreement, ...], dict[str, np.ndarray]]:
    """:func:`pair_agreement` and the replicates (replicates x labels) of each statistic.

    By default the pair's common units are resampled. With ``universe`` (unit indices) and
    ``weights`` (replicates x those units) the replicates share draws with other statistics
    over the same units; units of the universe one coder left out weigh nothing.
    """
    i, j = table.coder_index(first), table.coder_index(second)
    common = table.coded[i] & table.coded[j]
    if not common.any():
        raise ValueError(f"coders {first} and {second} coded no unit in common")
    if universe is None:
        universe = np.flatnonzero(common)
        weights = _weights(len(universe), config)
    x, y = table.codes[i][common], table.codes[j][common]
    counts = [(x & y), (x & ~y), (~x & y), (~x & ~y)]
    inside = common[universe][:, None]
    xs, ys = table.codes[i][universe] & inside, table.codes[j][universe] & inside
    replicates = _pair_closed_forms(
        *(weights @ count.astype(float) for count in (xs & ys, xs & ~ys & inside, ~xs & ys & inside, ~xs & ~ys & inside))
    )
    result = []
    for k in range(len(table.label_ids)):
        estimates = {name: _estimate(_point(name, x[:, k], y[:, k]), replicates[name][:, k], config) for name in statistics}
        a, b, c = (int(count[:, k].sum()) for count in counts[:3])
        result.append(PairAgreement(table.label_ids[k], first, second, int(common.sum()), a, b, c, estimates))
    return tuple(result), replicates


def label_agreement(table: CodingTable, codebook: Codebook, config: BootstrapConfig = BootstrapConfig()) -> AgreementResult:
    """Agreement of all coders in ``table``, per label, per dimension and overall.

    Args:
        table: Human coding; labels in codebook order.
        codebook: For the labels' dimensions and the dimension names.
        config: Bootstrap settings.

    Returns:
        The :class:`AgreementResult`.

    Raises:
        ValueError: Fewer than two coders, or no unit coded by two of them.
    """
    check_doubly_coded(table)
    values = table.coded.sum(axis=0)
    pairable = values >= 2
    universe = np.flatnonzero(pairable)
    # One set of unit draws for every statistic, so pair means and summaries are bootstrapped jointly.
    weights = _weights(len(universe), config)
    pairs = [pair for pair in itertools.combinations(table.coders, 2) if _share_units(table, *pair)]
    pair_results = {pair: _pair(table, *pair, AGREEMENT_STATISTICS, config, universe, weights) for pair in pairs}
    ones = table.codes[:, pairable].sum(axis=0).astype(float)
    alpha_replicates = _alpha_closed_form(weights, ones, values[pairable].astype(float))
    pair_replicates = {name: np.mean([pair_results[pair][1][name] for pair in pairs], axis=0) for name in AGREEMENT_STATISTICS}

    labels = []
    for k, label in enumerate(table.label_ids):
        data = np.where(table.coded, table.codes[:, :, k], np.nan)[:, pairable]
        pair_list = tuple(pair_results[pair][0][k] for pair in pairs)
        means = {name: _estimate(_mean_of(pair_list, name), pair_replicates[name][:, k], config) for name in AGREEMENT_STATISTICS}
        n_values = values[pairable].sum()
        labels.append(
            LabelAgreement(
                label=label,
                dimension=codebook.label(label).dimension,
                n_units=int(pairable.sum()),
                positives={coder: int(table.codes[c, pairable, k].sum()) for c, coder in enumerate(table.coders)},
                n_with_label=int(table.codes[:, pairable, k].any(axis=0).sum()),
                prevalence=float(ones[:, k].sum() / n_values),
                alpha=_estimate(functools.partial(agreement.krippendorff_alpha, data), alpha_replicates[:, k], config),
                pairs=pair_list,
                mean=means,
            )
        )
    replicates = {"alpha": alpha_replicates, **pair_replicates}
    summaries = _summaries(table, codebook, labels, replicates, pairable, weights, config)
    return AgreementResult(
        coders=table.coders,
        n_units=len(table.unit_ids),
        n_pairable=int(pairable.sum()),
        units_per_coder={coder: int(table.coded[c].sum()) for c, coder in enumerate(table.coders)},
        labels=tuple(labels),
        summaries=summaries,
        config=config,
    )


def check_doubly_coded(table: CodingTable) -> None:
    """Raise ``ValueError`` unless two coders coded at least one unit in common."""
    if len(table.coders) < 2:
        found = f"only coder {table.coders[0]}" if table.coders else "no coder"
        raise ValueError(f"agreement needs at least two coders, found {found}")
    if not (table.coded.sum(axis=0) >= 2).any():
        raise ValueError("no unit was coded by two coders; agreement needs doubly coded units")


def _share_units(table: CodingTable, first: str, second: str) -> bool:
    return bool((table.coded[table.coder_index(first)] & table.coded[table.coder_index(second)]).any())


def _mean_of(pairs: Sequence[PairAgreement], name: str) -> Callable[[], float]:
    def compute() -> float:
        values = [pair.statistics[name] for pair in pairs]
        undefined = [v for v in values if v.value is None]
        if undefined:
            raise ValueError(undefined[0].note or "undefined")
        return float(np.mean([v.value for v in values]))

    return compute


def _summaries(
    table: CodingTable,
    codebook: Codebook,
    labels: list[LabelAgreement],
    replicates: dict[str, np.ndarray],
    pairable: np.ndarray,
    weights: np.ndarray,
    config: BootstrapConfig,
) -> tuple[AgreementSummary, ...]:
    scopes = [(d.id, d.name) for d in sorted(codebook.dimensions, key=lambda d: d.order)]
    scopes += [(APPROACH_DIMENSION, codebook.dimension_name(APPROACH_DIMENSION)), ("overall", "All labels")]
    coded_rows = [np.flatnonzero(table.coded[:, u]) for u in np.flatnonzero(pairable)]
    summaries = []
    for scope, name in scopes:
        columns = [k for k, label in enumerate(labels) if scope == "overall" or label.dimension == scope]
        if not columns:
            reason = "the dimension has no codes in the codebook"
            empty = Estimate(None, None, reason)
            summaries.append(AgreementSummary(scope, name, 0, {s: empty for s in ("alpha", *AGREEMENT_STATISTICS)}, empty))
            continue
        # Labels nobody gave on a doubly coded unit agree trivially (percent and AC1 are 1 by
        # convention); averaging them in would inflate the summary, so only used labels count.
        used = [k for k in columns if labels[k].prevalence]
        means = {
            statistic: _label_mean([_label_value(label, statistic) for label in labels], values, used, config, len(columns))
            for statistic, values in replicates.items()
        }
        sets = [
            [frozenset(np.flatnonzero(table.codes[c, u, columns])) for c in rows]
            for u, rows in zip(np.flatnonzero(pairable), coded_rows, strict=False)
        ]
        masi = _estimate(
            functools.partial(_masi_alpha, sets, len(table.coders), coded_rows),
            _masi_closed_form(weights, sets),
            config,
        )
        summaries.append(AgreementSummary(scope, name, len(columns), means, masi))
    return tuple(summaries)


def _label_mean(
    values: Sequence[float | None], replicates: np.ndarray, used: Sequence[int], config: BootstrapConfig, n_scope: int | None = None
) -> Estimate:
    """Mean of a statistic over the ``used`` labels where it is defined, with its interval.

    Each replicate averages the same labels where the replicate has them defined.
    """
    defined = [k for k in used if values[k] is not None]
    point = float(np.mean([values[k] for k in defined])) if defined else np.nan
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN replicates stay NaN: undefined
        series = np.nanmean(replicates[:, defined], axis=1) if defined else np.full(len(replicates), np.nan)
    estimate = _estimate(_fixed(point), series, config)
    n_scope = len(values) if n_scope is None else n_scope
    note = None
    if len(defined) < n_scope:
        note = f"mean over the {len(defined)} of {n_scope} labels that were used and have it defined"
    return Estimate(estimate.value, estimate.interval, estimate.note or note)


def _label_value(label: LabelAgreement, statistic: str) -> float | None:
    return label.alpha.value if statistic == "alpha" else label.mean[statistic].value


def _masi_alpha(sets: list[list[frozenset]], n_coders: int, coded_rows: list[np.ndarray]) -> float:
    """Krippendorff's alpha with the MASI distance on the code sets."""
    return agreement.krippendorff_alpha_sets(_set_matrix(sets, n_coders, coded_rows))


def _set_matrix(sets: list[list[frozenset]], n_coders: int, coded_rows: list[np.ndarray]) -> list[list]:
    """Coders x pairable units of code sets (None where a coder did not code the unit)."""
    matrix: list[list] = [[None] * len(sets) for _ in range(n_coders)]
    for u, (unit_sets, rows) in enumerate(zip(sets, coded_rows, strict=False)):
        for value, c in zip(unit_sets, rows, strict=False):
            matrix[c][u] = value
    return matrix
