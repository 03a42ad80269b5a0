"""Review: the decision store, coding rules, the active-learning queue, learning from decisions,
export (JSON Lines and REFI-QDA) and the command line."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from cli_runner import run_cli
from test_review_support import (
    world_fixture,  # noqa: F401  (registers the "world" fixture)
)

from matrixcoder.interop.qdpx_import import import_qdpx
from matrixcoder.labels import load_codebook
from matrixcoder.labels.coded_units import CodedUnit, merge_training_units, read_coded_units
from matrixcoder.labels.rulings import read_rulings, rulings_by_code
from matrixcoder.review.export import export_jsonl, export_qdpx
from matrixcoder.review.learn import reviewed_units
from matrixcoder.review.queue import ActiveQueue, label_margins, unit_uncertainty
from matrixcoder.review.store import ReviewStore, replay

UNIT = {"doc_id": "d1", "unit_id": "d1-001", "text": "A sentence.", "start": 0, "end": 11}


def store_with_document(path):
    store = ReviewStore(path)
    store.remember_document("d1", "d1.txt", "CIVIS", "en", "abc", "A sentence. Another one.")
    return store


def test_decisions_replay_accept_reject_add_none_and_undo(tmp_path):
    store = store_with_document(tmp_path / "r.db")

    def add(action, code=None):
        return store.append(coder="ana", model="m@1", unit=UNIT, action=action, code=code, suggestion={"CL1": 0.8, "FD3": 0.6})

    add("accept", "CL1")
    add("reject", "FD3")
    add("add", "SI6")
    state = store.state("ana", "d1-001")
    assert state.codes == {"CL1": "accepted", "FD3": "rejected", "SI6": "added"}
    assert state.final_codes == ["CL1", "SI6"]
    store.undo(coder="ana", model="m@1", unit=UNIT)  # takes back the added SI6
    assert store.state("ana", "d1-001").final_codes == ["CL1"]
    add("none")
    state = store.state("ana", "d1-001")
    assert state.no_code and state.final_codes == [] and state.reviewed
    store.undo(coder="ana", model="m@1", unit=UNIT)
    assert store.state("ana", "d1-001").final_codes == ["CL1"]
    # Another coder's decisions are theirs alone.
    store.append(coder="ben", model="m@1", unit=UNIT, action="reject", code="CL1", suggestion={"CL1": 0.8})
    assert store.state("ana", "d1-001").final_codes == ["CL1"] and store.state("ben", "d1-001").final_codes == []
    rows = store.decisions("ana")
    assert [d.action for d in rows] == ["accept", "reject", "add", "undo", "none", "undo"]
    assert rows[0].suggestion == {"CL1": 0.8, "FD3": 0.6} and rows[0].model == "m@1" and rows[0].time.endswith("+00:00")
    assert rows[3].undoes == rows[2].id and rows[5].undoes == rows[4].id
    assert replay(rows)["d1-001"].final_codes == ["CL1"]


def test_decisions_are_append_only_wal_and_survive_reopening(tmp_path):
    store = store_with_document(tmp_path / "r.db")
    store.append(coder="ana", model="m", unit=UNIT, action="accept", code="CL1", suggestion={})
    raw = sqlite3.connect(tmp_path / "r.db")
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for statement in ("UPDATE decisions SET code = 'FD3'", "DELETE FROM decisions"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute(statement)
    raw.close()
    assert ReviewStore(tmp_path / "r.db").state("ana", "d1-001").final_codes == ["CL1"]
    with pytest.raises(ValueError):
        store.append(coder="ana", model="m", unit=UNIT, action="accept", suggestion={})
    with pytest.raises(ValueError):
        store.append(coder="ana", model="m", unit=UNIT, action="delete", code="CL1")
    with pytest.raises(Exception, match="changed since"):
        store.remember_document("d1", "d1.txt", "CIVIS", "en", "other-hash", "New text.")


def test_killed_writer_loses_no_committed_decision(tmp_path):
    """A process killed with SIGKILL mid-review: every decision it reported saved is there."""
    db = tmp_path / "r.db"
    store_with_document(db).close()
    script = textwrap.dedent(f"""
        from matrixcoder.review.store import ReviewStore
        store = ReviewStore({str(db)!r})
        unit = {UNIT!r}
        for i in range(100000):
            store.append(coder="ana", model="m", unit=unit, action="accept" if i % 2 == 0 else "reject", code="CL1", suggestion={{"CL1": 0.5}})
            print(i, flush=True)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    reported = -1
    deadline = time.monotonic() + 30
    while reported < 20 and time.monotonic() < deadline:
        reported = int(process.stdout.readline())
    process.kill()
    process.wait()
    reopened = ReviewStore(db)
    assert len(reopened.decisions("ana")) >= reported + 1
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_open_existing_refuses_what_is_not_a_review_database(tmp_path):
    (tmp_path / "x.db").write_text("hello")
    with pytest.raises(Exception, match="not a review database"):
        ReviewStore.open_existing(tmp_path / "x.db")
    with pytest.raises(Exception, match="not found"):
        ReviewStore.open_existing(tmp_path / "missing.db")


def test_rulings_of_the_guide_name_the_codes_they_govern(tmp_path):
    """The review page shows the coding guide's rulings (labels.rulings), the same text coders read."""
    book = load_codebook()
    guide = tmp_path / "guide.md"
    guide.write_text(
        "# Guide\n\n## Rulings\n\n"
        "- **R-FD3** (FD3): ECTS counts for FD3 only as a design rule.\n"
        "- **R-SD8-4/CL6** (SD8-4, CL6): abroad is SD8-4; study mobility is CL6.\n"
        "- **R-SCOPE** (all): not about micro-credentials, no code.\n"
        "- not a ruling\n",
        encoding="utf-8",
    )
    rules = read_rulings(guide)
    assert [r.id for r in rules] == ["R-FD3", "R-SD8-4/CL6", "R-SCOPE"]
    assert rules[1].codes == ("SD8-4", "CL6") and rules[2].codes == ()
    shipped = rulings_by_code(read_rulings(), book.label_ids)
    assert [r.id for r in shipped["FD3"]][:2] == ["R-FD3", "R-FD3-SOURCE"]
    assert "R-SI6" in [r.id for r in shipped["SI6"]]


def test_queue_prefers_uncertain_units_and_spreads_over_documents():
    thresholds = np.array([0.5, 0.5, 0.5])  # two labels, then the gate
    probabilities = np.array([[0.99, 0.01], [0.52, 0.47], [0.5, 0.5], [0.51, 0.02], [0.01, 0.01]])
    relevance = np.array([0.99, 0.9, 0.9, 0.9, 0.02])
    margins = label_margins(probabilities, relevance, thresholds)
    assert (margins[0, 0] > 0) and (margins[4] < -3).all()
    uncertainty = unit_uncertainty(margins)
    assert uncertainty.argmax() == 2 and uncertainty[4] < 0.05
    rng = np.random.default_rng(0)
    queue = ActiveQueue(margins, rng.normal(size=(5, 8)), np.array([0, 0, 0, 1, 1]), ["CL1", "FD3"])
    first = queue.next()
    assert first.row == 2 and first.doc_reviewed == 0 and first.uncertain_labels[0][0] in ("CL1", "FD3")
    why = first.why(probabilities[2], thresholds, float(relevance[2]), ["CL1", "FD3"])
    assert any("unsure" in line for line in why) and any("First unit reviewed in its document" in line for line in why)
    queue.mark_reviewed(2)
    # Unit 1 is nearly as uncertain, but its document has a reviewed unit now: the other document's turn.
    assert queue.next().row == 3
    assert queue.next(skip=[3]).row == 1
    assert sorted(queue.pick(10)) == [0, 1, 3, 4] and queue.next() is None


def test_merge_replaces_examples_and_weights_reviewed_units():
    examples = [
        CodedUnit("d1", "d1-1", "Same text.", ("CL1",), "A"),
        CodedUnit("d1", "d1-1", "Same text.", ("FD3",), "B"),
        CodedUnit("d1", "d1-2", "Kept.", (), "A"),
    ]
    reviewed = [
        CodedUnit("d1", "r-9", "Same text.", ("SI6",), "ana", 0, 10),
        CodedUnit("d2", "d1-2", "New.", (), "ana", 0, 4),
        CodedUnit("d2", "d1-2", "New.", ("CL1",), "ben", 0, 4),
    ]
    merged = merge_training_units(examples, reviewed, weight=2, prefer={"d1-2": "ben"})
    assert [(u.unit_id, u.codes, u.coder) for u in merged] == [
        ("d1-2", (), "A"),
        ("r-9", ("SI6",), "A"),
        ("r-9~2", ("SI6",), "A"),
        ("d1-2~review", ("CL1",), "A"),
        ("d1-2~review~2", ("CL1",), "A"),
    ]
    with pytest.raises(ValueError):
        merge_training_units(examples, reviewed, weight=0)


def _decide_some(session):
    """Three accepts, one reject, one add and one no-code; returns the expected coded units."""
    rows = [row for row in range(len(session.units)) if session.suggestions(row)]
    first, second, third = rows[1], rows[2], rows[3]
    plain = next(row for row in range(len(session.units)) if not session.suggestions(row))

    def unit(row):
        return session.units[row]["unit_id"]

    session.decide(unit(first), "accept", session.suggestions(first)[0][0])
    session.decide(unit(second), "accept", session.suggestions(second)[0][0])
    session.decide(unit(third), "accept", session.suggestions(third)[0][0])
    session.decide(unit(second), "reject", session.suggestions(second)[0][0])
    session.decide(unit(plain), "add", "CB4")
    last = len(session.units) - 1
    session.decide(unit(last), "none")
    return {
        unit(first): [session.suggestions(first)[0][0]],
        unit(second): [],
        unit(third): [session.suggestions(third)[0][0]],
        unit(plain): ["CB4"],
        unit(last): [],
    }


def test_export_jsonl_and_qdpx_round_trip(world, tmp_path):
    session = world.session(tmp_path / "r.db")
    expected = _decide_some(session)
    count = export_jsonl(session.store, tmp_path / "out.jsonl")
    units = read_coded_units(tmp_path / "out.jsonl", world.codebook)
    assert count == len(expected) == len(units)
    assert {u.unit_id: list(u.codes) for u in units} == expected
    for unit in units:
        text = session.documents[session.doc_row[unit.doc_id]]["text"]
        assert unit.coder == "ana" and text[unit.start : unit.end] == unit.text
    export_qdpx(session.store, world.codebook, tmp_path / "out.qdpx")
    imported = import_qdpx(tmp_path / "out.qdpx", world.codebook).units
    coded = {u.unit_id: list(u.codes) for u in imported if u.codes}
    assert coded == {k: v for k, v in expected.items() if v}
    assert {u.coder for u in imported} == {"ana"}


def test_retrain_merges_decisions_and_swaps_the_model_in(world, tmp_path):
    session = world.session(tmp_path / "r.db")
    _decide_some(session)
    before = session.model.version
    assert session.start_retrain()
    assert not session.start_retrain()  # one at a time
    deadline = time.monotonic() + 120
    while session.job.state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    job = session.job.to_json()
    assert job["state"] == "done", job
    assert session.model.version != before and job["model"] == session.model.version
    assert any("each × 3" in line for line in job["history"])
    [model] = session.store.models()
    merged = read_coded_units(f"{model['path']}-examples.jsonl", world.codebook)
    assert sum(u.unit_id.startswith(tuple(reviewed.unit_id for reviewed in reviewed_units(session.store))) for u in merged) >= 15


def test_review_export_command(world, tmp_path, monkeypatch, capsys):
    session = world.session(tmp_path / "r.db")
    expected = _decide_some(session)
    code, _, err = run_cli(monkeypatch, capsys, "review", "export", tmp_path / "r.db", "--format", "jsonl", "-o", tmp_path / "c.jsonl")
    assert code == 0 and "5 coded units by 1 reviewer" in err
    assert {json.loads(line)["unit_id"] for line in (tmp_path / "c.jsonl").read_text().splitlines()} == set(expected)
    code, _, err = run_cli(monkeypatch, capsys, "review", "export", tmp_path / "r.db", "--format", "jsonl", "-o", tmp_path / "c.jsonl")
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(monkeypatch, capsys, "review", "export", tmp_path / "r.db", "--format", "qdpx", "-o", tmp_path / "c.qdpx")
    assert code == 0 and (tmp_path / "c.qdpx").stat().st_size > 0
    (tmp_path / "empty.db").write_bytes(b"")
    code, _, err = run_cli(monkeypatch, capsys, "review", "export", tmp_path / "nope.db", "--format", "jsonl", "-o", tmp_path / "n.jsonl")
    assert code == 2 and "review database not found" in err
    code, _, err = run_cli(monkeypatch, capsys, "review", "/no/such/corpus", "--port", "0", "--db", tmp_path / "x.db")
    assert code == 2 and "not found" in err and not (tmp_path / "x.db").exists()
    code, _, err = run_cli(monkeypatch, capsys, "review", "serve", world.tmp / "corpus", "--port", "70000")
    assert code == 2 and "--port" in err


def test_open_session_ingests_files_on_the_fly_and_reopens_the_database(world, tmp_path):
    from matrixcoder.review.server import open_session

    db = tmp_path / "r.db"
    session = open_session(
        world.tmp / "docs", db=db, coder="ana", codebook=world.codebook, model=world.bundle.path, examples=world.examples
    )
    assert (tmp_path / "r.db.corpus" / "corpus.json").is_file()
    assert len(session.documents) == 3 and session.model.version.startswith("model@")
    unit = session.units[1]["unit_id"]
    session.decide(unit, "none")
    session.store.record_model(coder="ana", path=world.bundle.path, version="retrained", decisions=1)
    session.store.close()
    again = open_session(world.tmp / "corpus", db=db, coder="ana", codebook=world.codebook, examples=world.examples)
    assert again.states()[unit].no_code and len(again.units) == len(session.units)
