"""Crawl settings: one frozen dataclass, recorded with every harvested document."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date

from matrixcoder import __version__
from matrixcoder.errors import InputError

__all__ = ["DEFAULT_KEYWORDS", "HarvestConfig", "ROBOTS_AGENT"]

# The product token robots.txt rules are matched against.
ROBOTS_AGENT = "matrixcoder"

# What the paper looked for, in the alliances' main languages. A keyword matches at the start of
# a word, ignoring case and separators: "micro-credential" also finds "Microcredentials" and
# "micro_credentials", and "ECTS" does not find "projects".
DEFAULT_KEYWORDS = (
    "micro-credential",
    "microcredencial",
    "microcredenzial",
    "microcredențial",
    "micro-certification",
    "mikrozertifikat",
    "mikropoświadcz",
    "micro-program",
    "digital badge",
    "open badge",
    "ECTS",
    "short course",
    "lifelong learning",
)


@dataclass(frozen=True)
class HarvestConfig:
    """How politely, how far and how much to crawl.

    Attributes:
        contact: E-mail address or URL site owners can reach the person crawling at (User-Agent);
            None sends the tool's name and purpose only.
        keywords: Focus keywords; links whose text or URL contains them are fetched first.
        max_pages: Requests per alliance (every fetched URL counts, whatever its outcome).
        max_depth: Link hops from a seed URL.
        max_bytes: Largest response body; bigger ones are cut off and skipped.
        timeout: Seconds one response may take in all, connecting and reading the body.
        delay: Seconds between the starts of two requests to the same host.
        max_crawl_delay: Longest robots.txt Crawl-delay honoured; a longer one is cut to this,
            so one host cannot hold a crawl for days.
        per_host: Requests to one host at the same time.
        workers: Requests in flight overall.
        retries: Retries after a 429, a 5xx or a dropped connection.
        backoff: First wait before a retry without Retry-After; doubles each time.
        max_retry_after: Longest Retry-After honoured; a longer one gives up on the URL.
        max_redirects: Redirects followed for one URL.
        since: Keep only documents dated on or after this day (undated ones are kept).
        until: Keep only documents dated on or before this day (undated ones are kept).
    """

    contact: str | None = None
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    max_pages: int = 200
    max_depth: int = 3
    max_bytes: int = 20_000_000
    timeout: float = 20.0
    delay: float = 1.0
    max_crawl_delay: float = 60.0
    per_host: int = 1
    workers: int = 8
    retries: int = 3
    backoff: float = 2.0
    max_retry_after: float = 120.0
    max_redirects: int = 5
    since: date | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if self.contact is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+|https?://\S+", self.contact.strip()):
            raise InputError("--contact", f"{self.contact!r} is neither an e-mail address nor an http(s) URL")
        for name in ("max_pages", "per_host", "workers", "max_bytes"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')}", "must be at least 1")
        for name in ("max_depth", "retries", "max_redirects", "delay", "max_crawl_delay", "backoff"):
            if getattr(self, name) < 0:
                raise InputError(f"--{name.replace('_', '-')}", "must not be negative")
        if self.timeout <= 0:
            raise InputError("--timeout", "must be positive")
        if self.since and self.until and self.since > self.until:
            raise InputError("--since", f"{self.since} is after --until {self.until}")

    @property
    def user_agent(self) -> str:
        """The User-Agent header: the tool, its version, its purpose and the contact."""
        contact = f"; +{self.contact.strip()}" if self.contact else ""
        return f"{ROBOTS_AGENT}/{__version__} (research crawler for micro-credential documents{contact})"

    def params(self) -> dict:
        """The settings as JSON-ready values, for provenance."""
        values = dataclasses.asdict(self)
        values["keywords"] = list(self.keywords)
        values["since"] = self.since.isoformat() if self.since else None
        values["until"] = self.until.isoformat() if self.until else None
        return values
