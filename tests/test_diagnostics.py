"""Codebook diagnostics: a fake encoder with planted overlaps, and one run with the real encoder."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from matrixcoder.cli import app
from matrixcoder.evaluation.coding_agreement import coding_table
from matrixcoder.evaluation.confusion import NONE, code_confusions
from matrixcoder.evaluation.diagnostics import DiagnoseConfig, diagnose, diagnosis_report
from matrixcoder.labels.coded_units import CodedUnit


class FakeEncoder:
    """Orthogonal vectors per text, except planted pairs that share most of their direction."""

    name = "fake"
    fingerprint = "fake"

    def __init__(self, codebook, twins: dict[str, str]) -> None:
        self.index = {f"{label.name}: {label.indicator}": k for k, label in enumerate(codebook.labels)}
        self.ids = [label.id for label in codebook.labels]
        self.twins = twins

    def encode(self, texts):
        size = len(self.ids) + 8
        rows = np.zeros((len(texts), size))
        for r, text in enumerate(texts):
            k = self.index.get(text)
            if k is None:  # a dimension description: points at FD3
                rows[r, self.ids.index("FD3")] = 1.0
                continue
            twin = self.twins.get(self.ids[k])
            rows[r, self.ids.index(twin) if twin else k] = 1.0
            rows[r, k] += 0.3 if twin else 0.0
        return rows


def _units(coder_codes: dict[str, list[tuple[str, ...]]]) -> list[CodedUnit]:
    return [
        CodedUnit(f"D{i // 4}", f"U{i:02d}", f"unit text {i}", codes, coder)
        for coder, rows in coder_codes.items()
        for i, codes in enumerate(rows)
    ]


def test_confusions_count_disagreeing_codes_only(codebook) -> None:
    # Unit 0: A {SI3}, B {CL2} -> SI3 x CL2. Unit 1: A {SI3, AP-MC}, B {SI3} -> AP-MC x none.
    # Unit 2: both {CL1}: agreement, counts nothing.
    table = coding_table(_units({"A": [("SI3",), ("SI3", "AP-MC"), ("CL1",)], "B": [("CL2",), ("SI3",), ("CL1",)]}), codebook.label_ids)
    confusion = code_confusions(table, [("A", "B")])
    at = confusion.labels.index
    assert confusion.counts[at("SI3"), at("CL2")] == 1
    assert confusion.counts[at("AP-MC"), at(NONE)] == 1
    assert confusion.counts.sum() == 2
    assert confusion.top() == [("SI3", "CL2", 1)]
    assert [e.unit_id for e in confusion.examples_of("CL2", "SI3")] == ["U00"]


def test_suggestions_from_planted_overlaps_and_confusions(codebook) -> None:
    # SI3/CL2 overlap by definition (different dimensions) and are confused on 3 units: clarify.
    # FD4/FD5 overlap within one dimension and are given together: merge.
    # SI2: A gives it to 12 of 29 units, B to 5 of those and SI6 or FD3 to 4 others: 58 values,
    # 17 ones, 41 zeros, 7 disagreeing units, alpha = 1 - 57 * 7 / (17 * 41) = .428 < .667, and
    # SI2 is confused with two codes: split.
    encoder = FakeEncoder(codebook, {"CL2": "SI3", "FD5": "FD4"})
    a = [("SI3",)] * 3 + [("FD4", "FD5")] * 4 + [("SI2",)] * 12 + [()] * 10
    b = [("CL2",)] * 3 + [("FD4", "FD5")] * 4 + [("SI6",), ("FD3",)] * 2 + [("SI2",)] * 5 + [()] * 3 + [()] * 10
    table = coding_table(_units({"A": a, "B": b}), codebook.label_ids)
    diagnosis = diagnose(codebook, encoder, table, DiagnoseConfig(overlap_quantile=0.99))
    actions = {(s.action, s.codes) for s in diagnosis.suggestions}
    assert ("merge", ("FD4", "FD5")) in actions
    assert ("clarify", ("SI3", "CL2")) in actions
    assert ("split", ("SI2",)) in actions
    assert ("add codes", ("RM",)) in actions
    split = next(s for s in diagnosis.suggestions if s.action == "split")
    assert "alpha 0.428" in split.evidence and "SI6" in split.evidence and "FD3" in split.evidence
    confused = {(p, q): n for p, q, n, _ in diagnosis.confusions}
    assert confused[("SI3", "CL2")] == 3
    rare = dict(diagnosis.rare)
    assert rare["SI3"] == 3 and rare["CL2"] == 3 and "SI2" not in rare  # SI2 is on 12 units
    assert diagnosis.empty_dimensions[0][2][0][0] == "FD3"  # nearest code to the RM description
    report = diagnosis_report(diagnosis, codebook, "planted")
    json.dumps(report.data, allow_nan=False)


def test_model_confusions_become_clarify_suggestions(codebook) -> None:
    # Both coders give CL5 on 10 units where the model gives SD4-5 instead: the model confuses
    # the pair 2 coders x 10 units = 20 times; on 5 units it gives SI1 where coders gave nothing,
    # an omission that is not a confusion between codes.
    a = [("CL5",)] * 10 + [()] * 5 + [("AP-MC",)] * 5
    table = coding_table(_units({"A": a, "B": a}), codebook.label_ids)
    model = np.zeros((20, len(codebook.label_ids)), dtype=bool)
    model[:10, codebook.label_ids.index("SD4-5")] = True
    model[10:15, codebook.label_ids.index("SI1")] = True
    model[15:, codebook.label_ids.index("AP-MC")] = True
    encoder = FakeEncoder(codebook, {})
    diagnosis = diagnose(codebook, encoder, table, DiagnoseConfig(overlap_quantile=0.999), model=model)
    assert [(p, q, n) for p, q, n, _ in diagnosis.model_confusions] == [("CL5", "SD4-5", 20)]
    assert diagnosis.confusions == []  # the coders agree everywhere
    clarify = next(s for s in diagnosis.suggestions if set(s.codes) == {"CL5", "SD4-5"})
    assert clarify.action == "clarify" and "the model gave one where a coder gave the other on 20 unit(s)" in clarify.evidence
    without = diagnose(codebook, encoder, table, DiagnoseConfig(overlap_quantile=0.999))
    assert without.model_confusions == [] and not any(set(s.codes) == {"CL5", "SD4-5"} for s in without.suggestions)


def test_definitions_only_without_coded_units(codebook) -> None:
    diagnosis = diagnose(codebook, FakeEncoder(codebook, {"SD4-3": "SD4-2"}), None, DiagnoseConfig(overlap_quantile=0.999))
    assert diagnosis.overlaps[0][:2] == ("SD4-2", "SD4-3") and diagnosis.overlaps[0][3]
    assert {(s.action, s.codes) for s in diagnosis.suggestions} == {("clarify", ("SD4-2", "SD4-3")), ("add codes", ("RM",))}
    assert "only the definitions" in diagnosis.notes[0]


def test_diagnose_command_with_the_real_encoder(tmp_path) -> None:
    # The bundled all-MiniLM-L6-v2. SD4-2 "support SDG 4 goals but are not a primary focus" and
    # SD4-3 "contribute to SDG 4 but are not explicitly framed" are near-paraphrases.
    coded = tmp_path / "coded.jsonl"
    lines = [
        {"doc_id": "D", "unit_id": f"U{i}", "text": f"t{i}", "codes": codes, "coder": coder}
        for i, (a, b) in enumerate([(["SI3"], ["CL2"]), (["SI3"], ["CL2"]), ([], [])])
        for coder, codes in (("A", a), ("B", b))
    ]
    coded.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = CliRunner().invoke(app, ["codebook", "diagnose", str(coded), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "diagnose.json").read_text())
    top = data["overlaps"][0]
    assert set(top["codes"]) == {"SD4-2", "SD4-3"} and top["same_dimension"]
    assert {"action": "clarify", "codes": ["SI3", "CL2"]}.items() <= data["suggestions"][0].items()
