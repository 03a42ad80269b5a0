"""robots.txt, fetched once per host (kept in the crawl state) and obeyed."""

from __future__ import annotations

import logging
import threading
import urllib.robotparser
from typing import Protocol
from urllib.parse import urlsplit

from matrixcoder.corpus.harvest.config import ROBOTS_AGENT
from matrixcoder.corpus.harvest.fetch import Fetcher, FetchError
from matrixcoder.corpus.harvest.urls import host_of

__all__ = ["Robots", "RobotsStore", "RobotsUnavailable"]

log = logging.getLogger(__name__)
# RFC 9309: crawlers must read at least 500 KiB of a robots.txt; we need no more.
_MAX_ROBOTS = 512 * 1024


class RobotsUnavailable(Exception):
    """The host's robots.txt could not be fetched (5xx, timeout, no connection): crawl none of it now."""


class RobotsStore(Protocol):
    """Where robots.txt answers outlive the process, so a resumed crawl does not fetch them again."""

    def robots(self, host: str) -> tuple[int, str] | None: ...

    def save_robots(self, host: str, status: int, body: str) -> None: ...


class Robots:
    """Answers "may the crawler fetch this URL?" per RFC 9309, and passes on Crawl-delay.

    A missing robots.txt (4xx) allows everything; one that cannot be fetched (5xx, timeout)
    forbids the whole host, as the RFC asks: for this run, since it is asked again on the next.

    Args:
        fetcher: Fetches robots.txt with the crawl's User-Agent, timeouts and pacing.
        store: Keeps robots.txt answers across runs.
    """

    def __init__(self, fetcher: Fetcher, store: RobotsStore) -> None:
        self._fetcher, self._store = fetcher, store
        self._parsers: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}

    def allowed(self, url: str) -> bool:
        """Whether robots.txt of the URL's host lets the crawler fetch it.

        Raises:
            RobotsUnavailable: The host's robots.txt could not be fetched in this run.
        """
        parser = self._parser(url)
        if parser is None:
            raise RobotsUnavailable(host_of(url))
        return parser.can_fetch(ROBOTS_AGENT, url)

    def _parser(self, url: str) -> urllib.robotparser.RobotFileParser | None:
        host = host_of(url)
        with self._lock:
            host_lock = self._host_locks.setdefault(host, threading.Lock())
        # One fetch per host even when several workers ask at once.
        with host_lock:
            if host not in self._parsers:
                self._parsers[host] = self._load(url, host)
            return self._parsers[host]

    def _load(self, url: str, host: str) -> urllib.robotparser.RobotFileParser | None:
        parser = urllib.robotparser.RobotFileParser()
        stored = self._store.robots(host)
        if stored is None:
            stored = self._fetch(f"{urlsplit(url).scheme}://{host}/robots.txt", host)
            if stored is None:
                return None
            self._store.save_robots(host, *stored)
        status, body = stored
        if status >= 400:
            parser.allow_all = True  # type: ignore[attr-defined]  # a real attribute that typeshed does not declare
            return parser
        parser.parse(body.splitlines())
        delay = parser.crawl_delay(ROBOTS_AGENT)
        if delay:
            self._fetcher.limiter.set_delay(host, self._capped(host, float(delay)))
        return parser

    def _capped(self, host: str, delay: float) -> float:
        """The Crawl-delay to obey: a huge one ("100000") would stall the crawl, so it has a cap."""
        cap = self._fetcher.config.max_crawl_delay
        if delay <= cap:
            log.info("%s: robots.txt asks for %g s between requests", host, delay)
            return delay
        log.warning("%s: robots.txt asks for %g s between requests; waiting %g s, the most this crawl waits", host, delay, cap)
        return cap

    def _fetch(self, robots_url: str, host: str) -> tuple[int, str] | None:
        try:
            response = self._fetcher.get(robots_url)
        except FetchError as exc:
            # 429 means "slow down", not "there is no robots.txt".
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return exc.status, ""
            log.warning("%s: robots.txt unavailable (%s: %s); its URLs wait for the next run", host, exc.kind, exc.detail)
            return None
        return response.status, response.body[:_MAX_ROBOTS].decode("utf-8", errors="replace")
