"""The corpus on disk: documents and units as Parquet (written with HF ``datasets``), a manifest.

Layout of a corpus folder::

    documents.parquet   doc_id, alliance, source, format, sha256, language, n_units, ingested_at, text
    units.parquet       doc_id, unit_id, text, start, end, page
    manifest.csv        the documents table without the text, for people
    corpus.json         format version, creation time, counts, languages, failures
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import pandas as pd

from matrixcoder.errors import InputError
from matrixcoder.fileio import output_folder

__all__ = ["CORPUS_FORMAT", "Corpus", "load_corpus", "read_corpus_info", "write_corpus"]

CORPUS_FORMAT = "matrixcoder-corpus/1"
# Writing two small tables does not deserve progress bars on the user's terminal.
datasets.disable_progress_bars()


@dataclass
class Corpus:
    """A loaded corpus: one row per document and one per unit."""

    path: Path
    documents: pd.DataFrame
    units: pd.DataFrame
    info: dict = field(default_factory=dict)


def write_corpus(
    out_dir: str | Path,
    documents: pd.DataFrame,
    units: pd.DataFrame,
    info: dict,
    *,
    command: str = "ingest",
    force: bool = False,
) -> None:
    """Write a corpus folder atomically: it appears complete or not at all.

    ``out_dir`` follows :func:`~matrixcoder.fileio.output_folder`: a folder that ``command``
    did not write is refused unless ``force``, and nothing but the corpus files is replaced.
    """
    with output_folder(out_dir, command, force=force) as folder:
        datasets.Dataset.from_pandas(documents, preserve_index=False).to_parquet(str(folder / "documents.parquet"))
        datasets.Dataset.from_pandas(units, preserve_index=False).to_parquet(str(folder / "units.parquet"))
        documents.drop(columns=["text", "page_starts"], errors="ignore").to_csv(folder / "manifest.csv", index=False)
        (folder / "corpus.json").write_text(json.dumps({"format": CORPUS_FORMAT} | info, indent=2, ensure_ascii=False))


def read_corpus_info(path: Path) -> dict:
    """Read and check ``corpus.json``: the one test of whether a folder is a corpus.

    Raises:
        InputError: Not a corpus folder, damaged, or of an unknown format.
    """
    try:
        info = json.loads((path / "corpus.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(path, "not a corpus folder (no corpus.json); create one with 'matrixcoder ingest'") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise InputError(path / "corpus.json", "damaged corpus description (not JSON)") from None
    found = info.get("format") if isinstance(info, dict) else None
    if found != CORPUS_FORMAT:
        raise InputError(path / "corpus.json", f"unknown corpus format {found!r} (expected {CORPUS_FORMAT})")
    return info


def load_corpus(path: str | Path) -> Corpus:
    """Load a corpus folder written by ``ingest`` or ``harvest``.

    Raises:
        InputError: The folder is not a corpus or its files are damaged.
    """
    path = Path(path)
    info = read_corpus_info(path)
    try:
        documents = pd.read_parquet(path / "documents.parquet")
        units = pd.read_parquet(path / "units.parquet")
    except (OSError, ValueError) as exc:
        raise InputError(path, f"damaged corpus tables ({type(exc).__name__})") from None
    return Corpus(path=path, documents=documents, units=units, info=info)
