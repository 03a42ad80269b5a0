"""``harvest``: crawl, then write the corpus; the crawl state and raw snapshots stay beside it."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from matrixcoder.corpus.harvest.build import AllianceSummary, build_documents
from matrixcoder.corpus.harvest.config import HarvestConfig
from matrixcoder.corpus.harvest.crawl import crawl
from matrixcoder.corpus.harvest.fetch import unresolvable_hosts
from matrixcoder.corpus.harvest.frontier import Frontier
from matrixcoder.corpus.harvest.seeds import Seed, read_seeds
from matrixcoder.corpus.harvest.urls import host_of
from matrixcoder.corpus.ingest import write_documents
from matrixcoder.errors import InputError
from matrixcoder.fileio import check_output_folder

__all__ = ["HarvestResult", "check_work_dir", "harvest", "work_dir_for"]

log = logging.getLogger(__name__)


@dataclass
class HarvestResult:
    """What a harvest wrote, per alliance, and where its state lives."""

    documents: int
    units: int
    summary: dict[str, AllianceSummary]
    work_dir: Path


def work_dir_for(out_dir: Path) -> Path:
    """The folder beside the corpus that keeps the crawl state and the raw snapshots.

    It sits outside the corpus folder because that folder is replaced whole on every write.
    """
    return out_dir.parent / f"{out_dir.name}.harvest"


def check_work_dir(work_dir: Path, force: bool) -> None:
    """Refuse a crawl-state folder that exists but holds no crawl state of ours (unless ``force``)."""
    if work_dir.exists() and not work_dir.is_dir():
        raise InputError(work_dir, "is a file; the harvest keeps its crawl state in a folder of this name")
    ours = any((work_dir / name).is_file() for name in ("state.sqlite", "harvest.log"))
    if work_dir.is_dir() and any(work_dir.iterdir()) and not ours and not force:
        raise InputError(work_dir, "exists and holds no crawl state of 'matrixcoder harvest'; move it or pass --force")


def harvest(seeds_path: Path, out_dir: Path, config: HarvestConfig, *, force: bool = False) -> HarvestResult:
    """Crawl the seeds' sites and write what they hold as a corpus at ``out_dir``.

    Run again with the same ``out_dir`` to resume an interrupted harvest: URLs already
    visited are not fetched again, and the corpus is rebuilt from the raw snapshots (so a new
    ``since``/``until`` needs no fetching either). The corpus is written only at the end,
    atomically.

    Raises:
        InputError: Bad seeds file or settings, or no document at all could be harvested.
    """
    seeds = read_seeds(seeds_path)
    check_output_folder(out_dir, "harvest", force=force, inputs=[seeds_path])
    work_dir = work_dir_for(out_dir)
    check_work_dir(work_dir, force)
    unresolved = _unresolved_seed_hosts(seeds, seeds_path)
    work_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(Frontier(work_dir / "state.sqlite")) as frontier:
        frontier.start_run(config.params())
        crawl(seeds, config, frontier, work_dir, skip_hosts=unresolved)
        alliances = list(dict.fromkeys(seed.alliance for seed in seeds))
        built = build_documents(frontier, work_dir, out_dir, config, alliances)
    if not built.documents:
        raise InputError(seeds_path, f"no document could be harvested (crawl state kept in {work_dir})")
    retrieved = sorted(record["retrieved_at"] for record in built.provenance)
    info = {
        "harvest": {
            "harvested_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "first_retrieved_at": retrieved[0],
            "last_retrieved_at": retrieved[-1],
            "seeds": str(seeds_path),
            "state": str(work_dir / "state.sqlite"),
            "params": config.params(),
            "alliances": {
                alliance: {
                    "fetched": s.fetched,
                    "documents": s.documents,
                    "robots": s.robots,
                    "duplicates": s.duplicates,
                    "outside_dates": s.outside,
                    "errors": dict(s.errors),
                }
                for alliance, s in built.summary.items()
            },
        }
    }
    write_documents(
        out_dir, built.documents, built.units, built.failures, provenance=built.provenance, info=info, command="harvest", force=force
    )
    return HarvestResult(len(built.documents), len(built.units), built.summary, work_dir)


def _unresolved_seed_hosts(seeds: list[Seed], seeds_path: Path) -> set[str]:
    """Seed hosts DNS cannot find now, each reported once: their URLs wait for the next run.

    Raises:
        InputError: No seed host resolves, most likely for want of a network; said at once,
            not after minutes of retries.
    """
    failed = unresolvable_hosts(seed.url for seed in seeds)
    if failed.keys() >= {host_of(seed.url) for seed in seeds}:
        named = ", ".join(sorted(failed)[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
        raise InputError(seeds_path, f"no seed host can be resolved (no network?): {named}; run again once it is back")
    for host, reason in sorted(failed.items()):
        log.warning("%s: host cannot be resolved (%s); its URLs wait for the next run", host, reason)
    return set(failed)
