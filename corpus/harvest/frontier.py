"""The crawl's state in SQLite: every URL seen, what became of it, and robots.txt answers.

Each visit is recorded in one transaction together with the links it found, so a crawl
killed at any moment resumes from a consistent state and fetches nothing twice.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from matrixcoder.corpus.harvest.urls import host_of
from matrixcoder.errors import InputError

__all__ = ["ATTEMPTED", "DUPLICATE", "ERROR", "FETCHED", "Frontier", "Job", "PENDING", "REDIRECTED", "ROBOTS", "Visit"]

# The states of a URL. REDIRECTED: reached as the end of another URL's redirects.
PENDING, FETCHED, DUPLICATE, ROBOTS, ERROR, REDIRECTED = "pending", "fetched", "duplicate", "robots", "error", "redirected"
# A request was made: these count against an alliance's page cap.
ATTEMPTED = (FETCHED, DUPLICATE, ERROR)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, params TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS urls (
    id INTEGER PRIMARY KEY,
    alliance TEXT NOT NULL,
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    depth INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    referrer TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    run INTEGER,
    final_url TEXT,
    status INTEGER,
    media_type TEXT,
    charset TEXT,
    retrieved_at TEXT,
    sha256 TEXT,
    raw_path TEXT,
    error TEXT,
    detail TEXT,
    alternates TEXT,
    UNIQUE (alliance, url)
);
CREATE INDEX IF NOT EXISTS urls_next ON urls (state, host, priority DESC, depth, id);
CREATE INDEX IF NOT EXISTS urls_alliance ON urls (alliance, state);
CREATE INDEX IF NOT EXISTS urls_content ON urls (sha256);
CREATE TABLE IF NOT EXISTS robots (host TEXT PRIMARY KEY, status INTEGER NOT NULL, body TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Job:
    """A URL to visit for an alliance."""

    id: int
    alliance: str
    url: str
    host: str
    depth: int
    priority: int


@dataclass
class Visit:
    """What visiting a URL gave: the state it ends in and, when fetched, the response's record.

    Attributes:
        links: Links worth following, as ``(url, host, priority)``.
        alternates: URLs the page names as its versions in other languages.
    """

    state: str
    final_url: str | None = None
    status: int | None = None
    media_type: str | None = None
    charset: str | None = None
    retrieved_at: str | None = None
    sha256: str | None = None
    raw_path: str | None = None
    error: str | None = None
    detail: str | None = None
    alternates: list[str] = field(default_factory=list)
    links: list[tuple[str, str, int]] = field(default_factory=list)


class Frontier:
    """The crawl state file; thread-safe.

    Args:
        path: The SQLite file, created if missing.

    Raises:
        InputError: The file exists but is not a crawl state.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run = 0
        self._lock = threading.Lock()
        try:
            # Autocommit; record() opens its own transactions.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InputError(path, f"not a harvest state file ({exc}); delete it to start afresh") from None
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def start_run(self, params: dict) -> None:
        """Note a run and its crawl parameters; visits recorded from now on point to it."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            run = self._db.execute("INSERT INTO runs (started_at, params) VALUES (?, ?)", (now, json.dumps(params))).lastrowid
            assert run is not None  # set by every successful INSERT
            self.run = run

    def add(self, alliance: str, url: str, priority: int) -> None:
        """Queue a seed URL for an alliance unless the alliance has seen it already."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO urls (alliance, url, host, depth, priority) VALUES (?, ?, ?, 0, ?)",
                (alliance, url, host_of(url), priority),
            )

    def next_jobs(self, room: Mapping[str, int], full: Collection[str], taken: Collection[int], max_depth: int) -> list[Job]:
        """The most promising pending URLs (priority, then depth, then age) per host.

        Args:
            room: For each host, how many more requests may start now.
            full: Alliances at their page cap.
            taken: Ids of URLs in flight.
            max_depth: Deepest URLs to return (a resumed run may have a smaller cap than earlier ones).
        """
        full, taken = list(full), list(taken)
        query = (
            "SELECT id, alliance, url, host, depth, priority FROM urls WHERE state = ? AND host = ? AND depth <= ?"
            f" AND alliance NOT IN ({','.join('?' * len(full))}) AND id NOT IN ({','.join('?' * len(taken))})"
            " ORDER BY priority DESC, depth, id LIMIT ?"
        )
        jobs: list[Job] = []
        with self._lock:
            for host, slots in room.items():
                if slots > 0:
                    jobs.extend(Job(*row) for row in self._db.execute(query, (PENDING, host, max_depth, *full, *taken, slots)))
        return sorted(jobs, key=lambda job: (-job.priority, job.depth, job.id))

    def attempts(self) -> Counter:
        """Requests made so far, per alliance."""
        with self._lock:
            rows = self._db.execute(f"SELECT alliance, COUNT(*) FROM urls WHERE state IN {ATTEMPTED} GROUP BY alliance").fetchall()
        return Counter(dict(rows))

    def pending(self, alliance: str, max_depth: int) -> int:
        """URLs an alliance still has to visit, up to ``max_depth``."""
        with self._lock:
            query = "SELECT COUNT(*) FROM urls WHERE alliance = ? AND state = ? AND depth <= ?"
            return self._db.execute(query, (alliance, PENDING, max_depth)).fetchone()[0]

    def record(self, job: Job, visit: Visit, max_depth: int) -> None:
        """Store a visit and queue its links (up to ``max_depth``), in one transaction.

        A fetched body already stored under another URL makes the visit a duplicate, whose
        links are not queued again. The final URL of a redirect is marked visited.
        """
        with self._lock, self._transaction():
            if visit.state == FETCHED:
                first = self._db.execute(
                    "SELECT url FROM urls WHERE sha256 = ? AND state = ? AND id != ? LIMIT 1", (visit.sha256, FETCHED, job.id)
                ).fetchone()
                if first:
                    visit.state, visit.detail, visit.links = DUPLICATE, f"same content as {first['url']}", []
            self._db.execute(
                "UPDATE urls SET state = ?, run = ?, final_url = ?, status = ?, media_type = ?, charset = ?, retrieved_at = ?,"
                " sha256 = ?, raw_path = ?, error = ?, detail = ?, alternates = ? WHERE id = ?",
                (
                    visit.state,
                    self.run,
                    visit.final_url,
                    visit.status,
                    visit.media_type,
                    visit.charset,
                    visit.retrieved_at,
                    visit.sha256,
                    visit.raw_path,
                    visit.error,
                    visit.detail,
                    json.dumps(visit.alternates),
                    job.id,
                ),
            )
            if visit.state in (FETCHED, DUPLICATE) and visit.final_url != job.url:
                assert visit.final_url is not None  # fetched (and so duplicate) visits carry the response's URL
                self._db.execute(
                    "INSERT INTO urls (alliance, url, host, depth, priority, referrer, state) VALUES (?, ?, ?, ?, 0, ?, ?)"
                    " ON CONFLICT (alliance, url) DO UPDATE SET state = excluded.state WHERE state = ?",
                    (job.alliance, visit.final_url, host_of(visit.final_url), job.depth, job.url, REDIRECTED, PENDING),
                )
            if job.depth < max_depth:
                self._db.executemany(
                    "INSERT OR IGNORE INTO urls (alliance, url, host, depth, priority, referrer) VALUES (?, ?, ?, ?, ?, ?)",
                    [(job.alliance, url, host, job.depth + 1, priority, job.url) for url, host, priority in visit.links],
                )

    def visits(self, state: str) -> list[sqlite3.Row]:
        """All URLs in a state, in the order they were queued, with their run's parameters."""
        with self._lock:
            return self._db.execute(
                "SELECT urls.*, runs.params FROM urls LEFT JOIN runs ON runs.id = urls.run WHERE state = ? ORDER BY urls.id", (state,)
            ).fetchall()

    def outcomes(self) -> list[tuple[str, str, str | None, int]]:
        """``(alliance, state, error kind, count)`` for every URL seen."""
        with self._lock:
            return [tuple(row) for row in self._db.execute("SELECT alliance, state, error, COUNT(*) FROM urls GROUP BY 1, 2, 3")]

    def robots(self, host: str) -> tuple[int, str] | None:
        """The stored robots.txt answer for a host, ``(status, body)``; None if never fetched."""
        with self._lock:
            row = self._db.execute("SELECT status, body FROM robots WHERE host = ?", (host,)).fetchone()
        return (row["status"], row["body"]) if row else None

    def save_robots(self, host: str, status: int, body: str) -> None:
        """Keep a host's robots.txt answer."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO robots (host, status, body) VALUES (?, ?, ?)", (host, status, body))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
