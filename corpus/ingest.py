"""Ingest files into a corpus: read, attribute to an alliance, segment, store."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from matrixcoder.console import progress
from matrixcoder.corpus.attribution import AllianceAttributor, read_metadata
from matrixcoder.corpus.readers import SUPPORTED_SUFFIXES, Document, read_document
from matrixcoder.corpus.segment import Unit, segment
from matrixcoder.corpus.store import write_corpus
from matrixcoder.errors import InputError
from matrixcoder.fileio import check_output_folder
from matrixcoder.labels.alliances import read_alliances

__all__ = ["IngestResult", "ingest_paths", "write_documents"]


@dataclass
class IngestResult:
    """What an ingest produced, and every input it could not use (with the reason)."""

    documents: list[Document] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: bool = False


def ingest_paths(
    paths: list[Path],
    out_dir: Path,
    metadata: Path | None = None,
    alliances: Path | None = None,
    *,
    force: bool = False,
    follow_symlinks: bool = False,
) -> IngestResult:
    """Read files and folders into a corpus at ``out_dir``.

    Unreadable files are listed in ``failures`` and the rest is still ingested.

    Args:
        paths: Files, or folders searched recursively for txt, md, html, pdf and docx.
        out_dir: The corpus folder to create (replaced atomically if it exists).
        metadata: Optional CSV (``file``, ``alliance``) that names each file's alliance.
        alliances: Alliance list for attribution; the shipped ``labels/alliances.csv`` by default.
        force: Write into an existing folder that ``ingest`` did not create (only the corpus
            files are replaced).
        follow_symlinks: Read files behind symbolic links (skipped with a note by default).

    Returns:
        The result; when no document could be ingested, nothing is written and
        ``result.written`` is False (each file's reason is in ``failures``).

    Raises:
        InputError: ``out_dir`` may not be written (checked before any file is read).
    """
    check_output_folder(out_dir, "ingest", force=force, inputs=paths)
    files, result = _collect(paths, follow_symlinks)
    attributor = AllianceAttributor(read_alliances(alliances))
    assigned = read_metadata(metadata) if metadata else {}
    seen_content: dict[str, str] = {}
    taken_ids: set[str] = set()
    with progress() as bar:
        task = bar.add_task("Ingesting", total=len(files))
        for file, root in files:
            bar.advance(task)
            try:
                document = read_document(file)
            except InputError as exc:
                result.failures.append((exc.source, exc.problem))
                continue
            except (Exception, RecursionError) as exc:  # one hostile file never costs the batch
                result.failures.append((str(file), f"could not be read ({type(exc).__name__})"))
                continue
            if document.sha256 in seen_content:
                result.failures.append((str(file), f"same content as {seen_content[document.sha256]}; skipped"))
                continue
            seen_content[document.sha256] = document.doc_id
            doc_id = document.doc_id if document.doc_id not in taken_ids else f"{document.doc_id}-{document.sha256[:6]}"
            taken_ids.add(doc_id)
            alliance = _attribute(attributor, assigned, file, root, document.text)
            document = dataclasses.replace(document, doc_id=doc_id, alliance=alliance)
            result.documents.append(document)
            result.units.extend(segment(document))
    if not result.documents:
        return result
    write_documents(out_dir, result.documents, result.units, result.failures, force=force)
    result.written = True
    return result


def _collect(paths: list[Path], follow_symlinks: bool) -> tuple[list[tuple[Path, Path]], IngestResult]:
    result, files = IngestResult(), []
    for path in paths:
        if path.is_dir():
            for file in _files_below(path, follow_symlinks, result):
                if file.suffix.lower() in SUPPORTED_SUFFIXES:
                    files.append((file, path))
                else:
                    result.failures.append((str(file), f"unsupported file type '{file.suffix or '(none)'}'; skipped"))
        elif path.exists():
            files.append((path, path.parent))
        else:
            result.failures.append((str(path), "no such file or folder"))
    return files, result


def _files_below(root: Path, follow_symlinks: bool, result: IngestResult) -> list[Path]:
    """The files below ``root``, hidden ones left out; links (to files or folders) only when followed.

    A skipped link is a note, a file name that is not valid UTF-8 a failure: it could not be
    stored, and one such name must not cost the batch.
    """
    found = []
    for folder, subfolders, names in os.walk(root, followlinks=follow_symlinks):
        here = Path(folder)
        kept = []
        for name in sorted(subfolders):
            if name.startswith("."):
                continue
            if (here / name).is_symlink() and not follow_symlinks:
                result.notes.append(f"{here / name}: symbolic link to a folder, skipped (--follow-symlinks reads it)")
                continue
            kept.append(name)
        subfolders[:] = kept
        for name in sorted(names):
            path = here / name
            if name.startswith(".") or not (path.is_file() or path.is_symlink()):
                continue
            if path.is_symlink() and not follow_symlinks:
                result.notes.append(f"{path}: symbolic link, skipped (--follow-symlinks reads it)")
            elif not _utf8(str(path)):
                result.failures.append((repr(str(path))[1:-1], "file name is not valid UTF-8; rename the file"))
            elif path.is_file():
                found.append(path)
    return sorted(found)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _attribute(attributor: AllianceAttributor, assigned: dict[str, str], file: Path, root: Path, text: str) -> str | None:
    for key in (file.relative_to(root).as_posix(), file.name):
        if key in assigned:
            return assigned[key]
    return attributor.from_folder(file, root) or attributor.from_text(text)


def write_documents(
    out_dir: Path,
    documents: list[Document],
    units: list[Unit],
    failures: list[tuple[str, str]],
    provenance: list[dict] | None = None,
    info: dict | None = None,
    *,
    command: str = "ingest",
    force: bool = False,
) -> None:
    """Write documents and their units as a corpus: the tables ``ingest`` and ``harvest`` share.

    Args:
        out_dir: The corpus folder (replaced atomically if it exists).
        documents: The documents, each with its alliance.
        units: Their units.
        failures: Inputs that could not be used, as ``(source, problem)``.
        provenance: Extra document columns, one dict per document in the same order.
        info: Extra entries for ``corpus.json``.
        command: The command writing the corpus (``ingest`` or ``harvest``): it owns the folder.
        force: Write into an existing folder the command did not create.
    """
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    unit_counts = Counter(unit.doc_id for unit in units)
    documents_table = pd.DataFrame(
        {
            "doc_id": d.doc_id,
            "alliance": d.alliance,
            "source": d.source,
            "format": d.format,
            "sha256": d.sha256,
            "language": d.language,
            "n_units": unit_counts[d.doc_id],
            "ingested_at": created_at,
            **(provenance[i] if provenance else {}),
            "page_starts": list(d.page_starts),
            "text": d.text,
        }
        for i, d in enumerate(documents)
    )
    units_table = pd.DataFrame([dataclasses.asdict(unit) for unit in units]).astype({"page": "Int64"})
    summary = {
        "created_at": created_at,
        "documents": len(documents_table),
        "units": len(units_table),
        "languages": dict(Counter(d.language for d in documents)),
        "failures": [{"source": source, "problem": problem} for source, problem in failures],
    }
    write_corpus(out_dir, documents_table, units_table, summary | (info or {}), command=command, force=force)
