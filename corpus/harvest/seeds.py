"""The seeds file: ``alliance,url[,domains]``, one start URL a row."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from matrixcoder.corpus.harvest.urls import host_of, normalise_url
from matrixcoder.errors import InputError

__all__ = ["Seed", "read_seeds"]

_HOST = re.compile(r"^(?=.{1,253}(:\d{1,5})?$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$")


@dataclass(frozen=True)
class Seed:
    """A start URL and the hosts its alliance's crawl may follow links to."""

    alliance: str
    url: str
    domains: frozenset[str]


def read_seeds(path: str | Path) -> list[Seed]:
    """Read a seeds CSV. ``domains`` (space-separated hosts) defaults to the URL's host.

    An alliance with several rows may follow links to the hosts of all its rows.

    Raises:
        InputError: Unreadable file, missing or unknown columns, or a bad row (named by line).
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"not a UTF-8 CSV file ({type(exc).__name__})") from None
    if not rows:
        raise InputError(path, "empty seeds file; expected the columns alliance,url[,domains]")
    header = [name.strip().lower() for name in rows[0]]
    missing, unknown = {"alliance", "url"} - set(header), set(header) - {"alliance", "url", "domains"}
    if missing or unknown or len(set(header)) != len(header):
        raise InputError(f"{path}:1", f"columns must be alliance,url[,domains], found {','.join(header)}")
    seeds: list[Seed] = []
    seen: dict[tuple[str, str], int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise InputError(f"{path}:{number}", f"{len(row)} fields for {len(header)} columns (quote values that hold commas)")
        record = dict(zip(header, (cell.strip() for cell in row), strict=False))
        seed = _seed(record, f"{path}:{number}")
        key = (seed.alliance, seed.url)
        if key in seen:
            raise InputError(f"{path}:{number}", f"{seed.url} is already a seed of {seed.alliance} (line {seen[key]})")
        seen[key] = number
        seeds.append(seed)
    if not seeds:
        raise InputError(path, "no seeds, only a header")
    return seeds


def _seed(record: dict[str, str], where: str) -> Seed:
    alliance, url = record.get("alliance", ""), record.get("url", "")
    if not alliance:
        raise InputError(where, "empty alliance")
    try:
        url = normalise_url(url)
    except ValueError:
        raise InputError(where, f"bad URL {url!r} (need an absolute http or https URL)") from None
    domains = {domain.lower().removesuffix(".") for domain in record.get("domains", "").split()}
    for domain in domains:
        if not _HOST.match(domain):
            raise InputError(where, f"bad domain {domain!r} (need a host name such as www.example.eu, without scheme or path)")
    if domains and host_of(url) not in domains:
        raise InputError(where, f"the URL's host {host_of(url)} is not among its domains ({' '.join(sorted(domains))})")
    return Seed(alliance, url, frozenset(domains or {host_of(url)}))
