"""``matrixcoder harvest``."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from matrixcoder.console import console, err_console, print_table
from matrixcoder.corpus.harvest.config import DEFAULT_KEYWORDS, HarvestConfig
from matrixcoder.corpus.harvest.run import check_work_dir, work_dir_for
from matrixcoder.corpus.harvest.run import harvest as run_harvest
from matrixcoder.fileio import check_output_folder
from matrixcoder.options import ForceOption

__all__ = ["harvest"]


def harvest(
    seeds: Annotated[Path, typer.Argument(help="CSV with columns alliance,url[,domains] (domains: space-separated hosts).")],
    out: Annotated[Path, typer.Option("--out", help="Corpus folder to write; crawl state and raw files go to OUT.harvest/.")],
    contact: Annotated[
        str | None, typer.Option(envvar="MATRIXCODER_CONTACT", help="Your e-mail or URL, sent in the User-Agent for site owners.")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Keep documents dated on or after this day (undated: kept).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Keep documents dated on or before this day (undated: kept).")
    ] = None,
    keywords: Annotated[
        str | None,
        typer.Option(help="Comma-separated focus keywords, fetched first (default: micro-credential terms in several languages)."),
    ] = None,
    max_pages: Annotated[int, typer.Option(help="Requests per alliance.")] = HarvestConfig.max_pages,
    max_depth: Annotated[int, typer.Option(help="Link hops from a seed.")] = HarvestConfig.max_depth,
    max_bytes: Annotated[int, typer.Option(help="Largest response body read.")] = HarvestConfig.max_bytes,
    delay: Annotated[
        float, typer.Option(help="Seconds between requests to one host (robots.txt Crawl-delay can raise it).")
    ] = HarvestConfig.delay,
    per_host: Annotated[int, typer.Option(help="Requests to one host at the same time.")] = HarvestConfig.per_host,
    timeout: Annotated[float, typer.Option(help="Seconds one response may take in all.")] = HarvestConfig.timeout,
    force: ForceOption = False,
) -> None:
    """Crawl alliance websites politely into a corpus (HTML and PDF), with provenance per document.

    Obeys robots.txt; run it again with the same --out to resume where it stopped.
    """
    if contact is None:
        print("matrixcoder: warning: no --contact (or MATRIXCODER_CONTACT): site owners cannot reach you", file=sys.stderr)
    config = HarvestConfig(
        contact=contact,
        keywords=tuple(k.strip() for k in keywords.split(",") if k.strip()) if keywords is not None else DEFAULT_KEYWORDS,
        max_pages=max_pages,
        max_depth=max_depth,
        max_bytes=max_bytes,
        timeout=timeout,
        delay=delay,
        per_host=per_host,
        since=since.date() if since else None,
        until=until.date() if until else None,
    )
    check_output_folder(out, "harvest", force=force, inputs=[seeds])
    work_dir = work_dir_for(out)
    check_work_dir(work_dir, force)
    work_dir.mkdir(parents=True, exist_ok=True)
    with _logging(work_dir / "harvest.log"):
        try:
            result = run_harvest(seeds, out, config, force=force)
        except KeyboardInterrupt:
            # Every visit recorded so far is in the crawl state; saying so spares a fresh start.
            print(
                f"matrixcoder: harvest interrupted; crawl state kept in {work_dir}: run the same command again to resume", file=sys.stderr
            )
            raise typer.Exit(130) from None
    rows: list[list[Any]] = [
        [alliance, s.fetched, s.documents, s.robots, s.duplicates, s.outside, ", ".join(f"{k} {v}" for k, v in sorted(s.errors.items()))]
        for alliance, s in result.summary.items()
    ]
    totals = [sum(row[i] for row in rows) for i in range(1, 6)]
    errors = sum((s.errors for s in result.summary.values()), start=Counter())
    rows.append(["total", *totals, ", ".join(f"{k} {v}" for k, v in sorted(errors.items()))])
    print_table(
        f"Harvest written to {out}",
        ["alliance", "fetched", "documents", "robots.txt", "duplicates", "outside dates", "errors"],
        rows,
    )
    console.print(f"{result.documents} documents, {result.units} units; crawl state, raw files and log in {work_dir}", highlight=False)


class _ConsoleHandler(logging.Handler):
    """Log lines on stderr, above the progress bars."""

    def emit(self, record: logging.LogRecord) -> None:
        err_console.print(f"harvest: {self.format(record)}", markup=False, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _logging(path: Path) -> Iterator[None]:
    """Send the harvest's log to stderr (INFO and up) and to a file in the work folder (all)."""
    logger = logging.getLogger("matrixcoder.corpus.harvest")
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handlers = [_ConsoleHandler(logging.INFO), file_handler]
    level = logger.level
    logger.setLevel(logging.DEBUG)
    for handler in handlers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level)
