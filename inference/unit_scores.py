"""The unit-score table that every engine writes: its schema, its batches, and writing it in pieces.

One row per unit, in corpus order: ``doc_id``, ``unit_id``, ``start``, ``end``, ``relevant``
(passed the relevance gate), ``codes`` (predicted, most probable first), then a float32
probability column per label. Everything after it (document codes, the alliance matrix, the
approach table) is computed from this table alone, so engines differ only in how they fill it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["UNIT_COLUMNS", "unit_score_batch", "unit_score_schema", "write_unit_scores"]

# Columns of the corpus units that the table carries over.
UNIT_COLUMNS = ["doc_id", "unit_id", "start", "end"]


def unit_score_schema(label_ids: list[str]) -> pa.Schema:
    """The table's schema for a model with these labels."""
    return pa.schema(
        [
            ("doc_id", pa.string()),
            ("unit_id", pa.string()),
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("relevant", pa.bool_()),
            ("codes", pa.list_(pa.string())),
            *((label, pa.float32()) for label in label_ids),
        ]
    )


def unit_score_batch(
    units: pa.RecordBatch,
    label_ids: list[str],
    probabilities: np.ndarray,
    relevance: np.ndarray,
    gate: float,
    codes: list[list[str]],
) -> pa.RecordBatch:
    """Rows of the table for a batch of units.

    Args:
        units: The units, with at least :data:`UNIT_COLUMNS`.
        label_ids: Label of each probability column.
        probabilities: Units × labels.
        relevance: Per unit, the probability that it carries any code.
        gate: The relevance threshold (a unit is ``relevant`` when it reaches it).
        codes: Predicted label ids of each unit.
    """
    probabilities = np.asarray(probabilities, dtype=np.float32)
    columns = [units.column(name) for name in UNIT_COLUMNS]
    columns += [pa.array(np.asarray(relevance) >= gate), pa.array(codes, type=pa.list_(pa.string()))]
    columns += [pa.array(probabilities[:, j]) for j in range(len(label_ids))]
    schema = unit_score_schema(label_ids)
    return pa.RecordBatch.from_arrays([column.cast(field.type) for column, field in zip(columns, schema, strict=False)], schema=schema)


def write_unit_scores(path: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch | pa.Table]) -> int:
    """Write batches into one Parquet file as they come (never all in memory); returns the row count.

    The file is written under a temporary name and renamed when complete.
    """
    temporary = path.with_name(f".{path.name}.tmp")
    rows = 0
    with pq.ParquetWriter(temporary, schema) as writer:
        for batch in batches:
            writer.write(batch)
            rows += batch.num_rows
    os.replace(temporary, path)
    return rows
