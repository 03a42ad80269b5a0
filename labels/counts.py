"""Label counts of a coded-units file: how much evidence each label has, per coder."""

from __future__ import annotations

import pandas as pd

from matrixcoder.labels.codebook import Codebook
from matrixcoder.labels.coded_units import CodedUnit

__all__ = ["label_counts", "coding_summary"]


def label_counts(units: list[CodedUnit], codebook: Codebook) -> pd.DataFrame:
    """Positive units per label (rows, codebook order) and coder (columns)."""
    coders = sorted({unit.coder for unit in units})
    counts = pd.DataFrame(0, index=codebook.label_ids, columns=coders)
    for unit in units:
        for code in unit.codes:
            counts.loc[code, unit.coder] += 1
    return counts


def coding_summary(units: list[CodedUnit]) -> pd.DataFrame:
    """Per coder: documents, units, share of units coded empty, codes per coded unit."""
    frame = pd.DataFrame({"coder": u.coder, "doc_id": u.doc_id, "n_codes": len(u.codes)} for u in units)
    grouped = frame.groupby("coder")
    return pd.DataFrame(
        {
            "documents": grouped["doc_id"].nunique(),
            "units": grouped.size(),
            "empty_share": grouped["n_codes"].apply(lambda n: (n == 0).mean()),
            "codes_per_coded_unit": grouped["n_codes"].apply(lambda n: n[n > 0].mean()),
        }
    )
