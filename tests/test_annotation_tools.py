"""Label Studio, Prodigy and doccano: units out with pre-annotations, reviewed annotations back in."""

from __future__ import annotations

import json
import zipfile

import pytest
from cli_runner import run_cli
from lxml import etree

from matrixcoder.errors import InputError
from matrixcoder.interop import annotation_tools as tools
from matrixcoder.labels.coded_units import read_coded_units

UNITS = [
    {"doc_id": "h01", "unit_id": "h01-001", "text": "Les crédits 🎓 sont cumulables.", "start": 0, "end": 30},
    {"doc_id": "h01", "unit_id": "h01-002", "text": "Recognised across the alliance.", "start": 31, "end": 62},
    {"doc_id": "h02", "unit_id": "h02-001", "text": "Nothing to see."},
]
PREDICTIONS = [
    {"unit_id": "h01-001", "codes": ["CL1", "SD4-5"], "scores": {"CL1": 0.9, "SD4-5": 0.6, "SI1": 0.1}},
    {"unit_id": "h01-002", "codes": ["SI6"], "scores": {"SI6": 0.7}},
    {"unit_id": "h02-001", "codes": [], "scores": {"SI6": 0.1}},
]
# What the reviewer decides: drop SD4-5 on the first unit, keep SI6, add AP-MC to the last.
REVIEWED = {"h01-001": ["CL1"], "h01-002": ["SI6"], "h02-001": ["AP-MC"]}


def write_lines(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def units_files(tmp_path):
    return write_lines(tmp_path / "units.jsonl", UNITS), write_lines(tmp_path / "pred.jsonl", PREDICTIONS)


def check_round_trip(path, codebook, coders):
    units = read_coded_units(path, codebook)
    assert {(u.unit_id, u.coder): list(u.codes) for u in units} == {(uid, c): codes for uid, codes in REVIEWED.items() for c in coders}
    first = next(u for u in units if u.unit_id == "h01-001")
    assert (first.text, first.start, first.end) == (UNITS[0]["text"], 0, 30)
    assert next(u for u in units if u.unit_id == "h02-001").start is None


def test_labelstudio_round_trip(tmp_path, units_files, codebook, monkeypatch, capsys):
    units, predictions = units_files
    tasks_path = tmp_path / "tasks.json"
    code, _, _ = run_cli(monkeypatch, capsys, "export", "labelstudio", units, "--predictions", predictions, "-o", tasks_path)
    assert code == 0
    config = etree.fromstring((tmp_path / "tasks-config.xml").read_bytes())
    assert {c.get("value") for c in config.iter("Choice")} == set(codebook.label_ids)
    tasks = json.loads(tasks_path.read_text(encoding="utf-8"))
    first = tasks[0]["predictions"][0]
    assert {r["from_name"]: r["value"]["choices"] for r in first["result"]} == {"CL": ["CL1"], "SD4": ["SD4-5"]}
    assert first["score"] == 0.75 and tasks[2]["predictions"][0]["result"] == []
    # What Label Studio's JSON export looks like after two annotators reviewed every task.
    for task in tasks:
        chosen = REVIEWED[task["data"]["unit_id"]]
        result = [{"from_name": "X", "to_name": "text", "type": "choices", "value": {"choices": chosen}}]
        task["annotations"] = [
            {"completed_by": 1, "result": result, "was_cancelled": False},
            {"completed_by": {"id": 2, "email": "ben@example.org"}, "result": result},
            {"completed_by": 3, "result": [], "was_cancelled": True},
        ]
    tasks_path.write_text(json.dumps(tasks), encoding="utf-8")
    out = tmp_path / "coded.jsonl"
    code, _, err = run_cli(monkeypatch, capsys, "import", "labelstudio", tasks_path, "-o", out)
    assert code == 0 and "cancelled" in err
    check_round_trip(out, codebook, ["labelstudio user 1", "ben@example.org"])


def test_prodigy_round_trip(tmp_path, units_files, codebook, monkeypatch, capsys):
    units, predictions = units_files
    tasks_path = tmp_path / "tasks.jsonl"
    assert run_cli(monkeypatch, capsys, "export", "prodigy", units, "--predictions", predictions, "-o", tasks_path)[0] == 0
    tasks = [json.loads(line) for line in tasks_path.read_text(encoding="utf-8").splitlines()]
    assert tasks[0]["accept"] == ["CL1", "SD4-5"] and len(tasks[0]["options"]) == len(codebook.label_ids)
    assert tasks[0]["meta"]["suggested"] == "CL1 0.90, SD4-5 0.60"
    answers = [t | {"accept": REVIEWED[t["unit_id"]], "answer": "accept", "_annotator_id": "mc-ana"} for t in tasks]
    answers.append(tasks[0] | {"answer": "ignore", "_annotator_id": "mc-ana"})
    out = tmp_path / "coded.jsonl"
    code, _, err = run_cli(monkeypatch, capsys, "import", "prodigy", write_lines(tmp_path / "db.jsonl", answers), "-o", out)
    assert code == 0 and "1 answers 'ignore' left out" in err
    check_round_trip(out, codebook, ["mc-ana"])


def test_doccano_round_trip_from_jsonl_and_per_user_zip(tmp_path, units_files, codebook, monkeypatch, capsys):
    units, predictions = units_files
    tasks_path = tmp_path / "tasks.jsonl"
    assert run_cli(monkeypatch, capsys, "export", "doccano", units, "--predictions", predictions, "-o", tasks_path)[0] == 0
    tasks = [json.loads(line) for line in tasks_path.read_text(encoding="utf-8").splitlines()]
    assert [t["label"] for t in tasks] == [["CL1", "SD4-5"], ["SI6"], []]
    # doccano exports with its own ids; some versions keep extra fields under "meta".
    reviewed = [
        {"id": i, "text": t["text"], "label": REVIEWED[t["unit_id"]], "meta": {k: v for k, v in t.items() if k not in ("text", "label")}}
        for i, t in enumerate(tasks)
    ]
    single = write_lines(tmp_path / "ana.jsonl", reviewed)
    out = tmp_path / "coded.jsonl"
    assert run_cli(monkeypatch, capsys, "import", "doccano", single, "-o", out)[0] == 0
    check_round_trip(out, codebook, ["ana"])
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        for user in ("ana", "ben"):
            archive.writestr(f"{user}.jsonl", single.read_text(encoding="utf-8"))
    assert run_cli(monkeypatch, capsys, "import", "doccano", tmp_path / "export.zip", "-o", out, "--force")[0] == 0
    check_round_trip(out, codebook, ["ana", "ben"])


def test_export_without_predictions_has_no_pre_annotations(tmp_path, units_files, codebook):
    units, _ = units_files
    tasks = tools.read_task_units(units, codebook)
    tools.export_labelstudio(tasks, codebook, tmp_path / "t.json")
    assert all("predictions" not in t for t in json.loads((tmp_path / "t.json").read_text(encoding="utf-8")))


def test_bad_input_is_one_line_and_exit_2(tmp_path, units_files, codebook, monkeypatch, capsys):
    units, _ = units_files
    bad_prediction = write_lines(tmp_path / "bad.jsonl", [{"unit_id": "nope", "codes": [], "scores": {}}])
    code, _, err = run_cli(monkeypatch, capsys, "export", "doccano", units, "--predictions", bad_prediction, "-o", tmp_path / "x.jsonl")
    assert code == 2 and "nope" in err and len(err.strip().splitlines()) == 1
    unknown = write_lines(tmp_path / "d.jsonl", [UNITS[0] | {"label": ["ZZ9"]}])
    code, _, err = run_cli(monkeypatch, capsys, "import", "doccano", unknown, "-o", tmp_path / "o.jsonl")
    assert code == 2 and "ZZ9" in err and not (tmp_path / "o.jsonl").exists()
    with pytest.raises(InputError, match="exported by matrixcoder"):
        tools.import_prodigy(write_lines(tmp_path / "p.jsonl", [{"text": "x", "answer": "accept", "accept": []}]), codebook)
    with zipfile.ZipFile(tmp_path / "slip.zip", "w") as archive:
        archive.writestr("../ana.jsonl", "{}")
    with pytest.raises(InputError, match="unsafe entry name"):
        tools.import_doccano(tmp_path / "slip.zip", codebook)
