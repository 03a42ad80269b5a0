"""The review database: every decision an analyst makes, append-only, in SQLite (WAL).

One row per decision: who (coder), when, with which model, on which unit, which code, what
action, and the model's suggestion the decision answered. Rows are never updated or deleted
(triggers refuse it); an undo is a row of its own that names the row it takes back. The state
of a unit (its accepted, rejected and added codes) is the replay of its rows.

Each decision is committed before the request that made it returns, with ``synchronous=FULL``:
killing the server loses nothing that the browser was told was saved. The documents and units
that decisions refer to are copied into the database too, so an export needs nothing else.

Several coders (and several servers) may share one database; each reads the rows the others
appended since its last look (:meth:`ReviewStore.refresh`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from matrixcoder.errors import InputError

__all__ = ["ACTIONS", "DB_FORMAT", "Decision", "ReviewStore", "UnitState", "replay"]

DB_FORMAT = "matrixcoder-review/1"
#: accept/reject answer a suggested code; add puts a code the model did not suggest; none marks
#: the unit as read and carrying no code; undo takes back the coder's decision named in ``undoes``.
ACTIONS = ("accept", "reject", "add", "none", "undo")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, name TEXT NOT NULL, alliance TEXT, language TEXT,
    sha256 TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS units (
    unit_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    text TEXT NOT NULL, start INTEGER, "end" INTEGER
);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    coder TEXT NOT NULL,
    model TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    unit_id TEXT NOT NULL REFERENCES units(unit_id),
    code TEXT,
    action TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'add', 'none', 'undo')),
    suggestion TEXT NOT NULL,
    undoes INTEGER REFERENCES decisions(id)
);
CREATE INDEX IF NOT EXISTS decisions_coder_unit ON decisions (coder, unit_id);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'review decisions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'review decisions are append-only'); END;
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, coder TEXT NOT NULL,
    path TEXT NOT NULL, version TEXT NOT NULL, decisions INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Decision:
    """One row of the decisions table. ``suggestion`` maps each code the model suggested for
    the unit at that moment to its probability (empty when it suggested none)."""

    id: int
    time: str
    coder: str
    model: str
    doc_id: str
    unit_id: str
    code: str | None
    action: str
    suggestion: dict[str, float]
    undoes: int | None = None


@dataclass
class UnitState:
    """One coder's current view of one unit, the replay of their decisions on it.

    Attributes:
        codes: Code -> "accepted", "rejected" or "added", in the order first decided.
        no_code: The latest word on the unit is "carries no code".
        history: Ids of the decisions in force (not undone), oldest first; undo takes the last.
    """

    codes: dict[str, str] = field(default_factory=dict)
    no_code: bool = False
    history: list[int] = field(default_factory=list)

    @property
    def reviewed(self) -> bool:
        return bool(self.history)

    @property
    def final_codes(self) -> list[str]:
        """The codes the coder gives the unit: accepted or added, not rejected since."""
        return [code for code, status in self.codes.items() if status in ("accepted", "added")]

    def count(self, status: str) -> int:
        return sum(1 for value in self.codes.values() if value == status)


_STATUS = {"accept": "accepted", "reject": "rejected", "add": "added"}


def replay(decisions: Iterable[Decision]) -> dict[str, UnitState]:
    """The state of each unit after a coder's decisions (given in id order), undos applied."""
    rows = list(decisions)
    undone = {d.undoes for d in rows if d.action == "undo"}
    states: dict[str, UnitState] = defaultdict(UnitState)
    for decision in rows:
        if decision.action == "undo" or decision.id in undone:
            continue
        state = states[decision.unit_id]
        state.history.append(decision.id)
        if decision.action == "none":
            # Accepted codes are taken back (rejected), added ones dropped: the unit carries none.
            state.codes = {code: "rejected" for code, status in state.codes.items() if status != "added"}
            state.no_code = True
        elif decision.code is not None:  # only "none" decisions carry no code
            state.codes[decision.code] = _STATUS[decision.action]
            state.no_code = state.no_code and decision.action == "reject"
    return {unit: state for unit, state in states.items() if state.history}


class ReviewStore:
    """The review database, opened for one process (thread-safe).

    Args:
        path: The SQLite file; created with its folder if missing.

    Raises:
        InputError: The file is not a review database, or cannot be opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(self.path, "is a folder; give the review database file (e.g. review.db)")
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            found = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if found is None:
                self._db.execute("INSERT INTO meta VALUES ('format', ?)", (DB_FORMAT,))
            elif found[0] != DB_FORMAT:
                raise InputError(self.path, f"unknown review database format {found[0]!r} (expected {DB_FORMAT})")
        except sqlite3.DatabaseError as exc:
            raise InputError(self.path, f"not a review database ({exc})") from None
        self._rows: dict[str, list[Decision]] = defaultdict(list)
        self._states: dict[str, dict[str, UnitState]] = {}
        self._last_id = 0
        self.refresh()

    @classmethod
    def open_existing(cls, path: str | Path) -> ReviewStore:
        """Open a database that must already exist (for export).

        Raises:
            InputError: The file is missing or not a review database.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(path, "review database not found")
        with path.open("rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                raise InputError(path, "not a review database (not an SQLite file)")
        return cls(path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- reading ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the rows appended since the last look (by this process or any other)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, time, coder, model, doc_id, unit_id, code, action, suggestion, undoes FROM decisions WHERE id > ? ORDER BY id",
                (self._last_id,),
            ).fetchall()
            for row in rows:
                decision = Decision(*row[:8], suggestion=json.loads(row[8]), undoes=row[9])  # type: ignore[misc]
                self._rows[decision.coder].append(decision)
                self._states.pop(decision.coder, None)
                self._last_id = decision.id

    def coders(self) -> list[str]:
        with self._lock:
            return sorted(self._rows)

    def decisions(self, coder: str | None = None) -> list[Decision]:
        """All rows (of one coder, or of everyone), oldest first."""
        with self._lock:
            if coder is not None:
                return list(self._rows.get(coder, []))
            return sorted((d for rows in self._rows.values() for d in rows), key=lambda d: d.id)

    def states(self, coder: str) -> dict[str, UnitState]:
        """Unit id -> state, for the units this coder has decided on (cached until new rows)."""
        with self._lock:
            if coder not in self._states:
                self._states[coder] = replay(self._rows.get(coder, []))
            return self._states[coder]

    def state(self, coder: str, unit_id: str) -> UnitState:
        return self.states(coder).get(unit_id) or UnitState()

    def documents(self) -> dict[str, dict]:
        """doc_id -> name, alliance, language, sha256, text, for every document decided on."""
        with self._lock:
            rows = self._db.execute("SELECT doc_id, name, alliance, language, sha256, text FROM documents").fetchall()
        return {r[0]: {"name": r[1], "alliance": r[2], "language": r[3], "sha256": r[4], "text": r[5]} for r in rows}

    def units(self) -> dict[str, dict]:
        """unit_id -> doc_id, text, start, end, for every unit decided on."""
        with self._lock:
            rows = self._db.execute('SELECT unit_id, doc_id, text, start, "end" FROM units').fetchall()
        return {r[0]: {"doc_id": r[1], "text": r[2], "start": r[3], "end": r[4]} for r in rows}

    def models(self) -> list[dict]:
        """Models retrained from this database, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT id, time, coder, path, version, decisions FROM models ORDER BY id").fetchall()
        return [dict(zip(("id", "time", "coder", "path", "version", "decisions"), row, strict=True)) for row in rows]

    # -- writing ---------------------------------------------------------------------------

    def remember_document(self, doc_id: str, name: str, alliance: str | None, language: str | None, sha256: str, text: str) -> None:
        """Copy a document into the database (once; the first copy is kept).

        Raises:
            InputError: The database already holds another text under this doc id (the corpus
                changed since the earlier decisions; their offsets would no longer fit).
        """
        with self._lock:
            found = self._db.execute("SELECT sha256 FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
            if found is None:
                self._db.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)", (doc_id, name, alliance, language, sha256, text))
            elif found[0] != sha256:
                raise InputError(self.path, f"document {doc_id} changed since it was reviewed in this database; use a new --db")

    def append(
        self,
        *,
        coder: str,
        model: str,
        unit: dict,
        action: str,
        code: str | None = None,
        suggestion: dict[str, float] | None = None,
        undoes: int | None = None,
    ) -> Decision:
        """Append one decision and commit it before returning.

        Args:
            unit: ``doc_id``, ``unit_id``, ``text``, ``start``, ``end`` of the unit decided on
                (its document must have been remembered first).

        Raises:
            ValueError: An unknown action, or a code missing for accept/reject/add.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if (code is None) == (action in ("accept", "reject", "add")):
            raise ValueError(f"action {action!r} {'needs' if code is None else 'takes no'} code")
        time = datetime.now(UTC).isoformat(timespec="milliseconds")
        payload = json.dumps({k: round(float(v), 4) for k, v in (suggestion or {}).items()}, sort_keys=True)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    'INSERT OR IGNORE INTO units (unit_id, doc_id, text, start, "end") VALUES (?, ?, ?, ?, ?)',
                    (unit["unit_id"], unit["doc_id"], unit["text"], unit.get("start"), unit.get("end")),
                )
                cursor = self._db.execute(
                    "INSERT INTO decisions (time, coder, model, doc_id, unit_id, code, action, suggestion, undoes) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (time, coder, model, unit["doc_id"], unit["unit_id"], code, action, payload, undoes),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            decision_id = cursor.lastrowid
            self.refresh()
            return next(d for d in reversed(self._rows[coder]) if d.id == decision_id)

    def undo(self, *, coder: str, model: str, unit: dict) -> Decision | None:
        """Take back the coder's latest decision in force on the unit; None when there is none."""
        with self._lock:
            self.refresh()
            history = self.state(coder, unit["unit_id"]).history
            if not history:
                return None
            return self.append(coder=coder, model=model, unit=unit, action="undo", undoes=history[-1])

    def record_model(self, *, coder: str, path: str | Path, version: str, decisions: int) -> None:
        time = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute(
                "INSERT INTO models (time, coder, path, version, decisions) VALUES (?, ?, ?, ?, ?)",
                (time, coder, str(path), version, decisions),
            )
