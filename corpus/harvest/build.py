"""Turn the crawl's raw snapshots into a corpus: extract, date, filter, deduplicate, group variants."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from matrixcoder.console import progress
from matrixcoder.corpus.harvest.config import HarvestConfig
from matrixcoder.corpus.harvest.extract import SUFFIXES, document_date, extract_document
from matrixcoder.corpus.harvest.frontier import DUPLICATE, ERROR, FETCHED, ROBOTS, Frontier
from matrixcoder.corpus.harvest.urls import language_neutral
from matrixcoder.corpus.readers import Document
from matrixcoder.corpus.segment import Unit, segment
from matrixcoder.errors import InputError

__all__ = ["AllianceSummary", "Built", "build_documents"]

log = logging.getLogger(__name__)

_KINDS = {suffix: kind for kind, suffix in SUFFIXES.items()}


@dataclass
class AllianceSummary:
    """What the harvest gave for one alliance, over all runs.

    Attributes:
        fetched: Responses downloaded (duplicates included).
        documents: Documents in the corpus.
        robots: URLs skipped because robots.txt disallows them.
        duplicates: Pages with the same bytes, or the same text, as another page.
        outside: Documents dated outside ``--since``/``--until``.
        errors: Failed URLs by kind ("timeout", "http 404", "no text", ...).
    """

    fetched: int = 0
    documents: int = 0
    robots: int = 0
    duplicates: int = 0
    outside: int = 0
    errors: Counter = field(default_factory=Counter)


@dataclass
class Built:
    """Documents ready to write, with one provenance record each, and the URLs that gave none."""

    documents: list[Document] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    provenance: list[dict] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    summary: dict[str, AllianceSummary] = field(default_factory=dict)


def build_documents(frontier: Frontier, work_dir: Path, out_dir: Path, config: HarvestConfig, alliances: list[str]) -> Built:
    """Read every fetched snapshot into documents attributed to their alliance.

    Args:
        frontier: The crawl state.
        work_dir: Where the raw snapshots are.
        out_dir: The corpus folder to be, which ``raw_path`` is given relative to.
        config: Its ``since``/``until`` filter the documents by date.
        alliances: The alliances of the seeds, in order, for the summary.
    """
    built = Built(summary={alliance: AllianceSummary() for alliance in alliances})
    # The state may hold alliances an earlier seeds file had; the corpus is the current seeds'.
    for alliance, state, error, count in frontier.outcomes():
        if alliance not in built.summary:
            continue
        summary = built.summary[alliance]
        summary.fetched += count if state in (FETCHED, DUPLICATE) else 0
        summary.robots += count if state == ROBOTS else 0
        summary.duplicates += count if state == DUPLICATE else 0
        if state == ERROR:
            summary.errors[error] += count
    built.failures = [
        (row["url"], f"{row['error']}: {row['detail']}") for row in frontier.visits(ERROR) if row["alliance"] in built.summary
    ]
    rows = [row for row in frontier.visits(FETCHED) if row["alliance"] in built.summary]
    taken: set[str] = set()
    texts: dict[str, str] = {}
    with progress() as bar:
        task = bar.add_task("Extracting", total=len(rows))
        for row in rows:
            bar.advance(task)
            summary = built.summary[row["alliance"]]
            raw = work_dir / row["raw_path"]
            kind = _KINDS[raw.suffix]
            try:
                body = raw.read_bytes()
            except OSError:
                built.failures.append((row["url"], f"raw snapshot {raw} is missing; delete the state file to fetch again"))
                summary.errors["snapshot missing"] += 1
                continue
            dated = document_date(kind, body, row["charset"], row["final_url"])
            if dated and not ((config.since or date.min) <= dated <= (config.until or date.max)):
                summary.outside += 1
                continue
            doc_id = _doc_id(row["alliance"], row["final_url"], row["sha256"], taken)
            try:
                document = extract_document(raw, kind, row["charset"], doc_id)
            except InputError as exc:
                log.warning("%s: %s: no text (%s)", row["alliance"], row["url"], exc.problem)
                built.failures.append((row["url"], f"no text: {exc.problem}"))
                summary.errors["no text"] += 1
                continue
            text_hash = hashlib.sha256(document.text.encode()).hexdigest()
            if text_hash in texts:
                # Different bytes, same main text: a page with a changing token, a print view...
                log.info("%s: %s: skipped, same text as %s", row["alliance"], row["url"], texts[text_hash])
                summary.duplicates += 1
                continue
            texts[text_hash] = row["url"]
            taken.add(doc_id)
            summary.documents += 1
            built.documents.append(dataclasses.replace(document, source=row["final_url"], alliance=row["alliance"], sha256=row["sha256"]))
            built.units.extend(segment(built.documents[-1]))
            built.provenance.append(
                {
                    "url": row["url"],
                    "final_url": row["final_url"],
                    "http_status": row["status"],
                    "media_type": row["media_type"],
                    "retrieved_at": row["retrieved_at"],
                    "raw_path": os.path.relpath(raw, out_dir),
                    "document_date": dated.isoformat() if dated else None,
                    "depth": row["depth"],
                    "referrer": row["referrer"],
                    "alternates": json.loads(row["alternates"] or "[]"),
                    "crawl_params": row["params"],
                }
            )
    _group_variants(built)
    return built


def _doc_id(alliance: str, url: str, sha256: str, taken: set[str]) -> str:
    """``<alliance>-<last path segment>``, readable and stable; the content hash tells twins apart."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    stem = re.sub(r"\.[a-z0-9]{1,5}$", "", segments[-1].lower()) if segments else "home"
    doc_id = re.sub(r"[^a-z0-9]+", "-", f"{alliance.lower()}-{stem}").strip("-")[:80]
    return doc_id if doc_id not in taken else f"{doc_id}-{sha256[:8]}"


def _group_variants(built: Built) -> None:
    """Mark language versions of one page with a shared ``variant_group`` (the first doc_id).

    Pages are versions of each other when one names the other as ``hreflang`` alternate, or
    when their URLs differ only in a language marker (``/en/``, ``?lang=fr``).
    """
    parent = list(range(len(built.documents)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        parent[max(root(i), root(j))] = min(root(i), root(j))

    by_url: dict[tuple[str | None, str], int] = {}
    for i, (document, record) in enumerate(zip(built.documents, built.provenance, strict=False)):
        for key in (record["url"], record["final_url"], language_neutral(record["final_url"])):
            j = by_url.setdefault((document.alliance, key), i)
            if j != i:
                join(i, j)
    for i, (document, record) in enumerate(zip(built.documents, built.provenance, strict=False)):
        for alternate in record.pop("alternates"):
            other = by_url.get((document.alliance, alternate))
            if other is not None:
                join(i, other)
    sizes = Counter(root(i) for i in range(len(parent)))
    for i, record in enumerate(built.provenance):
        record["variant_group"] = built.documents[root(i)].doc_id if sizes[root(i)] > 1 else None
