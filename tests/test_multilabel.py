"""Tests for matrixcoder.evaluation.coding_agreement: hand-derived values and the reference implementations.

Point estimates come from ``agreement`` (tested against published values in test_agreement.py);
the vectorised bootstrap must reproduce ``agreement.bootstrap_ci`` on the same draws exactly.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matrixcoder.evaluation import agreement as ag
from matrixcoder.evaluation.coding_agreement import (
    BootstrapConfig,
    CodingTable,
    coding_table,
    label_agreement,
    pair_agreement,
)
from matrixcoder.labels import load_codebook
from matrixcoder.labels.coded_units import CodedUnit

FAST = BootstrapConfig(n_resamples=1000, seed=3)


def _units(rows: dict[str, list[tuple[str, ...] | None]], doc_of=lambda i: f"D{i // 5}") -> list[CodedUnit]:
    """Coded units from {coder: [codes of unit i, or None if not coded]}."""
    units = []
    for coder, codings in rows.items():
        for i, codes in enumerate(codings):
            if codes is not None:
                units.append(CodedUnit(doc_of(i), f"U{i:02d}", f"text {i}", tuple(codes), coder))
    return units


def _table(rows, labels=("SI1", "SI2", "CL1")) -> CodingTable:
    return coding_table(_units(rows), list(labels))


# Two coders, 10 units, label SI1: both yes on units 0-1 (a = 2), only A on unit 2 (b = 1),
# only B on unit 3 (c = 1), both no on units 4-9 (d = 6).
TWO_CODERS = {
    "A": [("SI1",), ("SI1",), ("SI1",), ()] + [()] * 6,
    "B": [("SI1",), ("SI1",), (), ("SI1",)] + [()] * 6,
}


def test_pair_statistics_match_hand_computation() -> None:
    si1 = pair_agreement(_table(TWO_CODERS), "A", "B", config=FAST).labels[0]
    assert (si1.n_units, si1.both, si1.first_only, si1.second_only) == (10, 2, 1, 1)
    stats = {name: estimate.value for name, estimate in si1.statistics.items()}
    # po = 8/10; kappa chance = (3*3 + 7*7)/100 = .58; kappa = (.8 - .58)/.42
    assert stats["percent"] == pytest.approx(0.8)
    assert stats["kappa"] == pytest.approx(0.22 / 0.42)
    # AC1: pi = (2*2 + 1 + 1)/20 = .3; chance = 2 * .3 * .7 = .42; AC1 = (.8 - .42)/.58
    assert stats["ac1"] == pytest.approx(0.38 / 0.58)
    # alpha: 20 values, 6 ones, 14 zeros, 2 disagreeing units: 1 - 19 * 2 / (6 * 14)
    assert stats["alpha"] == pytest.approx(1 - 38 / 84)
    # precision = a/(a+b), recall = a/(a+c), F1 = 2a/(2a+b+c), all 2/3
    assert stats["precision"] == stats["recall"] == pytest.approx(2 / 3)
    assert stats["f1"] == pytest.approx(2 / 3)


def test_code_one_coder_never_uses() -> None:
    # A gives SI2 to 2 of 10 units, B never: po = .8, kappa chance = (8 * 10)/100 = .8, so kappa 0;
    # AC1 pi = 2/20, chance .18, AC1 = .62/.82; alpha = 1 - 19 * 2 / (2 * 18).
    rows = {"A": [("SI2",), ("SI2",)] + [()] * 8, "B": [()] * 10}
    si2 = pair_agreement(_table(rows), "A", "B", config=FAST).labels[1]
    assert si2.statistics["kappa"].value == pytest.approx(0.0)
    assert si2.statistics["ac1"].value == pytest.approx(0.62 / 0.82)
    assert si2.statistics["alpha"].value == pytest.approx(1 - 38 / 36)
    assert si2.statistics["recall"].value is None
    assert "reference never gave" in si2.statistics["recall"].note


def test_label_nobody_uses_is_undefined_with_reason_never_nan() -> None:
    result = label_agreement(_table(TWO_CODERS), load_codebook(), FAST)
    cl1 = result.labels[2]
    assert cl1.alpha.value is None and "identical" in cl1.alpha.note
    assert cl1.mean["kappa"].value is None and "single category" in cl1.mean["kappa"].note
    # Percent agreement and AC1 keep their documented convention (1.0) for an unused label.
    assert cl1.mean["percent"].value == 1.0 and cl1.mean["ac1"].value == 1.0
    text = json.dumps(result.to_json(), allow_nan=False)
    assert "NaN" not in text


def test_interval_is_agreement_bootstrap_ci_on_the_same_draws() -> None:
    rng = np.random.default_rng(5)
    x = rng.random(60) < 0.3
    y = np.where(rng.random(60) < 0.8, x, ~x)
    rows = {"A": [("SI1",) if v else () for v in x], "B": [("SI1",) if v else () for v in y]}
    si1 = pair_agreement(_table(rows), "A", "B", config=FAST).labels[0]
    references = {
        "kappa": ag.cohen_kappa,
        "ac1": ag.gwet_ac1,
        "percent": ag.percent_agreement,
        "alpha": lambda a, b: ag.krippendorff_alpha(np.vstack([a, b]).astype(float)),
    }
    for name, reference in references.items():
        expected = ag.bootstrap_ci(reference, x, y, n_resamples=FAST.n_resamples, seed=FAST.seed)
        assert si1.statistics[name].interval == pytest.approx(expected, abs=1e-12), name


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(*[st.one_of(st.none(), st.sets(st.sampled_from(["SI1", "SI2", "CL1"]), max_size=2))] * 3),
        min_size=4,
        max_size=14,
    )
)
def test_multi_coder_alpha_with_missing_matches_reference(codebook, units) -> None:
    rows = {coder: [None if u[c] is None else tuple(sorted(u[c])) for u in units] for c, coder in enumerate("ABC")}
    if not any(rows[c][i] is not None for c in rows for i in range(len(units))):
        return
    table = _table(rows)
    if not (table.coded.sum(axis=0) >= 2).any():
        return
    result = label_agreement(table, codebook, BootstrapConfig(n_resamples=1000, seed=1))
    for k, label in enumerate(result.labels):
        data = [[None if codes is None else float(table.label_ids[k] in codes) for codes in rows[coder]] for coder in table.coders]
        try:
            expected = ag.krippendorff_alpha(data)
        except ValueError:
            assert label.alpha.value is None and label.alpha.note
        else:
            assert label.alpha.value == pytest.approx(expected)
    sets = [[None if codes is None else frozenset(codes) for codes in rows[coder]] for coder in table.coders]
    try:
        expected = ag.krippendorff_alpha_sets(sets)
    except ValueError:
        assert result.overall.masi_alpha.value is None
    else:
        assert result.overall.masi_alpha.value == pytest.approx(expected)


def test_masi_interval_is_agreement_bootstrap_ci() -> None:
    rng = np.random.default_rng(2)
    labels = ["SI1", "SI2", "CL1"]
    first = [tuple(label for label in labels if rng.random() < 0.3) for _ in range(30)]
    second = [codes if rng.random() < 0.7 else tuple(label for label in labels if rng.random() < 0.3) for codes in first]
    table = _table({"A": first, "B": second})
    result = label_agreement(table, load_codebook(), BootstrapConfig(n_resamples=1000, seed=4))
    data = np.empty((2, 30), dtype=object)
    for i in range(30):
        data[0, i], data[1, i] = frozenset(first[i]), frozenset(second[i])
    expected = ag.bootstrap_ci(ag.krippendorff_alpha_sets, data, n_resamples=1000, seed=4)
    assert result.overall.masi_alpha.interval == pytest.approx(expected, abs=1e-12)


def test_missing_codings_use_only_doubly_coded_units() -> None:
    rows = dict(TWO_CODERS)
    rows["A"] = rows["A"] + [("SI1",)] * 5  # five more units that only A coded
    rows["B"] = rows["B"] + [None] * 5
    result = label_agreement(_table(rows), load_codebook(), FAST)
    assert result.n_units == 15 and result.n_pairable == 10
    assert result.labels[0].alpha.value == pytest.approx(1 - 38 / 84)  # as without the extra units
    assert result.labels[0].positives == {"A": 3, "B": 3}


def test_units_everyone_left_empty_count_as_agreement() -> None:
    # Ten more units both left empty agree on every label: percent agreement goes from 8/10 to 18/20.
    rows = {coder: codes + [()] * 10 for coder, codes in TWO_CODERS.items()}
    si1 = label_agreement(_table(rows), load_codebook(), FAST).labels[0]
    assert si1.mean["percent"].value == pytest.approx(18 / 20)
    everyone_empty = {"A": [()] * 6, "B": [()] * 6}
    masi = label_agreement(_table(everyone_empty), load_codebook(), FAST).overall.masi_alpha
    assert masi.value is None and "same set" in masi.note


def test_summaries_average_used_labels_and_report_rm_undefined() -> None:
    rows = {
        "A": [("SI1",), ("SI1", "SI2"), ("SI2",), ()] + [()] * 6,
        "B": [("SI1",), ("SI1",), ("SI2",), ("SI2",)] + [()] * 6,
    }
    result = label_agreement(_table(rows), load_codebook(), FAST)
    by_scope = {s.scope: s for s in result.summaries}
    si = by_scope["SI"]
    # SI1 agrees perfectly (kappa 1); SI2: a=1, b=1, c=1, d=7 gives kappa (.8 - .68)/.32 = .375.
    assert [label.mean["kappa"].value for label in result.labels[:2]] == pytest.approx([1.0, 0.375])
    assert si.means["kappa"].value == pytest.approx((1.0 + 0.375) / 2)
    assert by_scope["RM"].n_labels == 0 and "no codes" in by_scope["RM"].masi_alpha.note
    assert by_scope["CL"].means["alpha"].value is None  # CL1 never used
    assert result.summaries[-1].scope == "overall"


def test_bootstrap_is_seeded() -> None:
    rows = {
        "A": [("SI1",), ("SI1",), ("SI1",), (), ("SI2",), ()] * 3,
        "B": [("SI1",), (), ("SI1",), ("SI1",), ("SI2",), ("SI2",)] * 3,
    }
    table = _table(rows)
    first = pair_agreement(table, "A", "B", config=BootstrapConfig(1000, seed=7)).labels[0].statistics["kappa"]
    again = pair_agreement(table, "A", "B", config=BootstrapConfig(1000, seed=7)).labels[0].statistics["kappa"]
    other = pair_agreement(table, "A", "B", config=BootstrapConfig(1000, seed=8)).labels[0].statistics["kappa"]
    assert first == again and first.interval != other.interval
    assert first.interval[0] <= first.value <= first.interval[1]


def test_fewer_than_two_coders_raise() -> None:
    with pytest.raises(ValueError, match="at least two coders"):
        label_agreement(_table({"A": [("SI1",)] * 3}), load_codebook(), FAST)
    with pytest.raises(ValueError, match="no unit was coded by two coders"):
        label_agreement(_table({"A": [("SI1",), None], "B": [None, ()]}), load_codebook(), FAST)


def test_documents_are_unions_over_shared_units() -> None:
    # Units 0-4 are D0, 5-9 D1. B read only units 0, 1 and 5; A read everything.
    rows = {
        "A": [(), ("SI1",), ("SI2",), (), (), ("CL1",), ("SI1",), (), (), ()],
        "B": [("SI2",), (), None, None, None, ("CL1",), None, None, None, None],
    }
    docs = _table(rows).documents()
    assert docs.unit_ids == ("D0", "D1")
    assert docs.code_set(0, 0) == {"SI1"} and docs.code_set(1, 0) == {"SI2"}  # A's SI2 unit 2 unread by B
    assert docs.code_set(0, 1) == {"CL1"} == docs.code_set(1, 1)
    alone = _table(rows).select(["A"]).documents()
    assert alone.code_set(0, 0) == {"SI1", "SI2"} and alone.code_set(0, 1) == {"SI1", "CL1"}
