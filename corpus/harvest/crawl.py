"""The crawl: which URL next, visiting it, and recording what it gave.

A pool of workers fetches; the main thread alone decides what to fetch and writes the state.
Scheduling keeps each host under its concurrency cap and each alliance under its page cap,
and prefers links whose text or URL holds a focus keyword (then shallower, then older ones).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Collection
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypedDict

from matrixcoder.console import progress
from matrixcoder.corpus.harvest.config import HarvestConfig
from matrixcoder.corpus.harvest.extract import DOCUMENT_TYPES, SUFFIXES, decode_html, document_kind, page_links
from matrixcoder.corpus.harvest.fetch import Fetcher, FetchError, HostLimiter
from matrixcoder.corpus.harvest.frontier import ATTEMPTED, DUPLICATE, ERROR, FETCHED, PENDING, ROBOTS, Frontier, Job, Visit
from matrixcoder.corpus.harvest.robots import Robots, RobotsUnavailable
from matrixcoder.corpus.harvest.seeds import Seed
from matrixcoder.corpus.harvest.urls import host_of, is_followable
from matrixcoder.fileio import atomic_path

__all__ = ["Focus", "alliance_domains", "crawl"]

log = logging.getLogger(__name__)


class Focus:
    """Scores links by the focus keywords they contain.

    A keyword matches at the start of a word, ignoring case and separators between its parts.

    Args:
        keywords: The focus keywords.
    """

    def __init__(self, keywords: tuple[str, ...]) -> None:
        self._patterns = [
            re.compile(r"(?<![^\W_])" + r"[\W_]*".join(map(re.escape, parts)), re.I)
            for keyword in keywords
            if (parts := re.findall(r"[^\W_]+", keyword))
        ]

    def priority(self, url: str, text: str) -> int:
        """How many keywords the link text and URL contain together."""
        return sum(1 for pattern in self._patterns if pattern.search(text) or pattern.search(url))


def alliance_domains(seeds: list[Seed]) -> dict[str, frozenset[str]]:
    """The hosts each alliance's crawl may visit: those of all its seeds."""
    domains: dict[str, frozenset[str]] = {}
    for seed in seeds:
        domains[seed.alliance] = domains.get(seed.alliance, frozenset()) | seed.domains
    return domains


def crawl(seeds: list[Seed], config: HarvestConfig, frontier: Frontier, work_dir: Path, skip_hosts: Collection[str] = ()) -> None:
    """Crawl from the seeds until every alliance is done or at its page cap.

    Resumes from the URLs ``frontier`` still holds as pending; raw bodies go under
    ``work_dir/raw``. Problems with single URLs are logged and recorded, never raised.
    URLs on ``skip_hosts`` (known unreachable now) stay pending for the next run.
    """
    domains = alliance_domains(seeds)
    focus = Focus(config.keywords)
    for seed in seeds:
        frontier.add(seed.alliance, seed.url, focus.priority(seed.url, ""))
    fetcher = Fetcher(config, HostLimiter(config.delay, config.per_host))
    visitor = _Visitor(config, fetcher, Robots(fetcher, frontier), domains, focus, work_dir)
    hosts = sorted(set().union(*domains.values()))
    attempts = frontier.attempts()
    in_flight: dict[Future, Job] = {}
    blocked: set[str] = set(skip_hosts)
    with progress() as bar, ThreadPoolExecutor(config.workers, thread_name_prefix="harvest") as pool:
        tasks = {alliance: bar.add_task(alliance, completed=attempts[alliance]) for alliance in domains}

        def show(alliance: str) -> None:
            # Total: requests made plus those still possible under the page cap.
            busy = sum(1 for job in in_flight.values() if job.alliance == alliance)
            left = min(frontier.pending(alliance, config.max_depth) + busy, max(0, config.max_pages - attempts[alliance]))
            bar.update(tasks[alliance], completed=attempts[alliance], total=attempts[alliance] + left)

        for alliance in domains:
            show(alliance)
        try:
            while True:
                _dispatch(config, frontier, pool, visitor, in_flight, attempts, [host for host in hosts if host not in blocked])
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    job = in_flight.pop(future)
                    visit = future.result()
                    if visit.state == PENDING:
                        # Left in the queue for the next run; nothing more for this host now.
                        blocked.add(job.host)
                        continue
                    frontier.record(job, visit, config.max_depth)
                    _log(job, visit)
                    attempts[job.alliance] += visit.state in ATTEMPTED
                    show(job.alliance)
        finally:
            # On an interrupt, start nothing more; visits already running finish and are lost.
            pool.shutdown(wait=True, cancel_futures=True)


def _dispatch(
    config: HarvestConfig,
    frontier: Frontier,
    pool: ThreadPoolExecutor,
    visitor: _Visitor,
    in_flight: dict[Future, Job],
    attempts: Counter,
    hosts: list[str],
) -> None:
    """Start visits while workers, host caps and alliance caps leave room."""
    free = config.workers - len(in_flight)
    if free <= 0:
        return
    host_load = Counter(job.host for job in in_flight.values())
    alliance_load = Counter(job.alliance for job in in_flight.values())
    full = {alliance for alliance, count in attempts.items() if count + alliance_load[alliance] >= config.max_pages}
    room = {host: config.per_host - host_load[host] for host in hosts}
    for job in frontier.next_jobs(room, full, [job.id for job in in_flight.values()], config.max_depth):
        if free == 0:
            break
        if attempts[job.alliance] + alliance_load[job.alliance] >= config.max_pages:
            continue
        in_flight[pool.submit(visitor.visit, job)] = job
        alliance_load[job.alliance] += 1
        free -= 1


def _log(job: Job, visit: Visit) -> None:
    where = f"{job.alliance}: {job.url}"
    if visit.state == ERROR:
        log.warning("%s: %s (%s)", where, visit.error, visit.detail)
    elif visit.state in (ROBOTS, DUPLICATE):
        log.info("%s: skipped, %s", where, visit.detail)
    else:
        log.debug("%s: fetched %s", where, visit.final_url)


class _ResponseRecord(TypedDict):
    """The fields of a :class:`Visit` that come from the response."""

    final_url: str
    status: int
    media_type: str
    charset: str | None
    retrieved_at: str


class _Visitor:
    """Visits one URL in a worker thread: robots.txt, fetch, snapshot, links."""

    def __init__(
        self,
        config: HarvestConfig,
        fetcher: Fetcher,
        robots: Robots,
        domains: dict[str, frozenset[str]],
        focus: Focus,
        work_dir: Path,
    ) -> None:
        self.config, self.fetcher, self.robots = config, fetcher, robots
        self.domains, self.focus, self.work_dir = domains, focus, work_dir

    def visit(self, job: Job) -> Visit:
        try:
            return self._visit(job)
        except Exception as exc:  # noqa: BLE001 -- one odd page must not end a crawl of 65 alliances
            log.exception("%s: %s: unexpected failure", job.alliance, job.url)
            return Visit(ERROR, error="internal error", detail=f"{type(exc).__name__}: {exc}")

    def _visit(self, job: Job) -> Visit:
        try:
            if not self.robots.allowed(job.url):
                return Visit(ROBOTS, detail="disallowed by robots.txt")
        except RobotsUnavailable:
            return Visit(PENDING, detail="robots.txt unavailable")
        try:
            response = self.fetcher.get(job.url, accept=DOCUMENT_TYPES, may_follow=lambda target: self._may_follow(job, target))
        except FetchError as exc:
            if exc.kind == ROBOTS:
                return Visit(ROBOTS, final_url=exc.url, detail=exc.detail)
            return Visit(ERROR, final_url=exc.url, status=exc.status, error=exc.kind, detail=exc.detail)
        record: _ResponseRecord = {
            "final_url": response.final_url,
            "status": response.status,
            "media_type": response.media_type,
            "charset": response.charset,
            "retrieved_at": response.retrieved_at,
        }
        kind = document_kind(response.media_type, response.final_url, response.body)
        if kind is None:
            return Visit(ERROR, error="unsupported type", detail=response.media_type or "no Content-Type, not HTML or PDF", **record)
        if not response.body.strip():
            return Visit(ERROR, error="empty body", detail="the response had no content", **record)
        sha256 = hashlib.sha256(response.body).hexdigest()
        raw_path = self._save(sha256, kind, response.body)
        if kind != "html":
            return Visit(FETCHED, sha256=sha256, raw_path=raw_path, **record)
        links, alternates = page_links(decode_html(response.body, response.charset), response.final_url)
        allowed = self.domains[job.alliance]
        best: dict[str, int] = {}
        for url, text in [*links, *((alternate, "") for alternate in alternates)]:
            if host_of(url) in allowed and is_followable(url):
                best[url] = max(best.get(url, 0), self.focus.priority(url, text))
        return Visit(
            FETCHED,
            sha256=sha256,
            raw_path=raw_path,
            alternates=alternates,
            links=[(url, host_of(url), priority) for url, priority in best.items()],
            **record,
        )

    def _may_follow(self, job: Job, target: str) -> None:
        if host_of(target) not in self.domains[job.alliance]:
            raise FetchError("off-site redirect", f"redirected to {target}, outside the alliance's domains", target)
        try:
            allowed = self.robots.allowed(target)
        except RobotsUnavailable:
            raise FetchError(
                "robots.txt unavailable", f"redirected to {target}, whose host's robots.txt could not be fetched", target
            ) from None
        if not allowed:
            raise FetchError(ROBOTS, f"redirected to {target}, disallowed by robots.txt", target)

    def _save(self, sha256: str, kind: str, body: bytes) -> str:
        """Keep the body as it came, named by its hash, so text can be re-extracted offline."""
        relative = f"raw/{sha256[:2]}/{sha256}{SUFFIXES[kind]}"
        target = self.work_dir / relative
        if not target.exists():
            with atomic_path(target) as temporary:
                temporary.write_bytes(body)
        return relative
