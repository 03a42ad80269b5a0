"""Read a corpus folder for scoring without loading it: units in batches, documents' alliances only.

:func:`matrixcoder.corpus.load_corpus` reads every table whole, texts included; scoring a
corpus larger than memory needs the units a batch at a time and, of the documents, only which
alliance each belongs to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from matrixcoder.corpus.store import read_corpus_info
from matrixcoder.errors import InputError
from matrixcoder.inference.unit_scores import UNIT_COLUMNS

__all__ = ["CorpusReader", "NO_ALLIANCE", "open_corpus"]

NO_ALLIANCE = "(no alliance)"
_UNIT_COLUMNS = [*UNIT_COLUMNS, "text"]


@dataclass(frozen=True)
class CorpusReader:
    """A corpus folder opened for scoring.

    Attributes:
        path: The corpus folder.
        n_units: Number of units.
    """

    path: Path
    n_units: int

    @property
    def units_path(self) -> Path:
        return self.path / "units.parquet"

    def unit_batches(self, size: int) -> Iterator[pa.RecordBatch]:
        """Units (``doc_id``, ``unit_id``, ``start``, ``end``, ``text``) in corpus order, ``size`` at a time."""
        yield from pq.ParquetFile(self.units_path).iter_batches(batch_size=size, columns=_UNIT_COLUMNS)

    def alliances(self) -> dict[str, str]:
        """Alliance of each document (:data:`NO_ALLIANCE` where it has none)."""
        table = pq.read_table(self.path / "documents.parquet", columns=["doc_id", "alliance"])
        return {
            doc_id: NO_ALLIANCE if alliance is None else alliance
            for doc_id, alliance in zip(*(table.column(c).to_pylist() for c in ("doc_id", "alliance")), strict=False)
        }

    def units_sha256(self) -> str:
        """sha256 of the units file: identifies the corpus content a score run started from."""
        digest = hashlib.sha256()
        with self.units_path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


def open_corpus(path: str | Path) -> CorpusReader:
    """Check that ``path`` is a corpus folder with the tables scoring needs.

    Raises:
        InputError: Not a corpus folder, an unknown format, or damaged tables.
    """
    path = Path(path)
    read_corpus_info(path)
    try:
        units = pq.ParquetFile(path / "units.parquet")
        documents = pq.ParquetFile(path / "documents.parquet")
    except (OSError, pa.ArrowException) as exc:
        raise InputError(path, f"damaged corpus tables ({type(exc).__name__})") from None
    for name, table, needed in (("units", units, _UNIT_COLUMNS), ("documents", documents, ["doc_id", "alliance"])):
        missing = [column for column in needed if column not in table.schema_arrow.names]
        if missing:
            raise InputError(path / f"{name}.parquet", f"damaged corpus table (no column {', '.join(missing)})")
    return CorpusReader(path=path, n_units=units.metadata.num_rows)
