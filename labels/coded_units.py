"""Read and validate hand-coded units (JSON Lines, one object per unit and coder)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from matrixcoder.errors import InputError
from matrixcoder.fileio import read_jsonl
from matrixcoder.labels.codebook import Codebook

__all__ = [
    "GOLD_CODERS",
    "KEY_DIGITS",
    "REVIEW_WEIGHT",
    "CodedUnit",
    "merge_training_units",
    "read_coded_units",
    "unit_key",
    "unit_keys",
    "with_gold_codes",
]

# Coders whose codes are the gold standard: the settled codes of units that two coders coded
# and an adjudicator decided where they disagreed, or a reference coding.
GOLD_CODERS = ("gold", "adjudicated")


@dataclass(frozen=True)
class CodedUnit:
    """One coder's codes for one unit; ``codes == ()`` means read and judged to carry none."""

    doc_id: str
    unit_id: str
    text: str
    codes: tuple[str, ...]
    coder: str
    start: int | None = None
    end: int | None = None
    writer: str | None = None

    def to_json(self) -> dict:
        record: dict[str, Any] = {"doc_id": self.doc_id, "unit_id": self.unit_id, "text": self.text}
        if self.start is not None:
            record |= {"start": self.start, "end": self.end}
        record |= {"codes": list(self.codes), "coder": self.coder}
        return record | ({"writer": self.writer} if self.writer is not None else {})


def read_coded_units(path: str | Path, codebook: Codebook) -> list[CodedUnit]:
    """Read a coded-units file and check it against the codebook.

    Raises:
        InputError: Naming ``file:line`` for malformed JSON, a missing field, an unknown
            code, a unit coded twice by one coder, or one unit id with two texts.
    """
    known = set(codebook.label_ids)
    units: list[CodedUnit] = []
    texts: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for number, record in read_jsonl(path):
        where = f"{path}:{number}"
        unit = _parse(where, record)
        unknown = [code for code in unit.codes if code not in known]
        if unknown:
            raise InputError(where, f"unknown code '{unknown[0]}' (not in codebook {codebook.version})")
        if (unit.unit_id, unit.coder) in seen:
            raise InputError(where, f"unit {unit.unit_id} coded twice by coder {unit.coder}")
        if texts.setdefault(unit.unit_id, unit.text) != unit.text:
            raise InputError(where, f"unit {unit.unit_id} has a different text than on an earlier line")
        seen.add((unit.unit_id, unit.coder))
        units.append(unit)
    if not units:
        raise InputError(path, "no coded units")
    return units


def _parse(where: str, record: dict) -> CodedUnit:
    for key in ("doc_id", "unit_id", "text", "coder"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise InputError(where, f"'{key}' must be a non-empty string")
    codes = record.get("codes")
    if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
        raise InputError(where, "'codes' must be a list of code ids ([] for a unit with no code)")
    start, end = record.get("start"), record.get("end")
    if (start is None) != (end is None):
        raise InputError(where, "give both 'start' and 'end' or neither")
    if start is not None and not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end):
        raise InputError(where, "'start' and 'end' must be integers with 0 <= start <= end")
    writer = record.get("writer")
    if writer is not None and (not isinstance(writer, str) or not writer):
        raise InputError(where, "'writer' must be a non-empty string when given")
    return CodedUnit(
        doc_id=record["doc_id"],
        unit_id=record["unit_id"],
        text=record["text"],
        codes=tuple(dict.fromkeys(codes)),
        coder=record["coder"],
        start=start,
        end=end,
        writer=writer,
    )


def with_gold_codes(units: list[CodedUnit], coder: str) -> tuple[list[CodedUnit], set[str]]:
    """``coder``'s units, each with the gold codes instead where a gold coder also coded it.

    A model learns best from the codes the coders settled on: an adjudicated unit's codes are
    right where the primary coder's are, and fix the slips where they are not. Units only
    ``coder`` coded keep that coder's codes; units ``coder`` never coded are left out, so the
    training set keeps the primary coder's coverage.

    Args:
        units: Coded units of any coders (one line per unit and coder).
        coder: The coder to learn from, e.g. "A".

    Returns:
        The units of ``coder`` in file order, and the ids of those whose codes are gold.

    Examples:
        >>> a = CodedUnit("d", "d-1", "Text.", ("SI1",), "A")
        >>> gold = CodedUnit("d", "d-1", "Text.", ("SI2",), "adjudicated")
        >>> learnt, settled = with_gold_codes([a, gold], "A")
        >>> learnt[0].codes, learnt[0].coder, settled
        (('SI2',), 'A', {'d-1'})
    """
    gold: dict[str, CodedUnit] = {}
    for name in reversed(GOLD_CODERS):  # "gold" wins over "adjudicated" when a unit has both
        gold |= {unit.unit_id: unit for unit in units if unit.coder == name}
    chosen = [unit for unit in units if unit.coder == coder]
    learnt = [replace(unit, codes=gold[unit.unit_id].codes) if unit.unit_id in gold else unit for unit in chosen]
    return learnt, {unit.unit_id for unit in chosen if unit.unit_id in gold}


# bundle.json (12 characters each); a false match among 10^4 training units has odds below 1e-10.
KEY_DIGITS = 12


def unit_key(doc_id: str, text: str) -> str:
    """A unit's identity across files: its document id and the sha256 of its text.

    The unit id is left out and whitespace is collapsed, so renumbered units and re-wrapped
    lines are still recognised as the units the model was trained on.
    """
    text_hash = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
    return hashlib.sha256(f"{doc_id}\0{text_hash}".encode()).hexdigest()[:KEY_DIGITS]


def unit_keys(doc_ids: Iterable[str], texts: Iterable[str]) -> str:
    """The units' keys, sorted and concatenated: what a bundle stores to recognise its training units."""
    return "".join(sorted({unit_key(str(doc_id), text) for doc_id, text in zip(doc_ids, texts, strict=True)}))


# An analyst's reviewed unit counts as this many examples when a model learns from reviews.
REVIEW_WEIGHT = 3


def merge_training_units(
    examples: list[CodedUnit],
    reviewed: list[CodedUnit],
    *,
    coder: str = "A",
    weight: int = REVIEW_WEIGHT,
    prefer: dict[str, str] | None = None,
) -> list[CodedUnit]:
    """Training units: the examples of ``coder``, with reviewed units replacing and outweighing them.

    Args:
        examples: Hand-coded units; ``coder``'s are kept, with gold codes where a gold coder
            also coded the unit (:func:`with_gold_codes`).
        reviewed: Reviewed units (any reviewer). A unit reviewed by several coders counts once,
            with the codes of the coder named in ``prefer`` (else the first given).
        coder: The coder name the training set is read with (``TrainConfig.coder``).
        weight: Copies of each reviewed unit (1 = as much as one example).
        prefer: unit_id -> reviewer whose codes to take when several reviewed it.

    Returns:
        Units all coded by ``coder``: examples not reviewed, then each reviewed unit ``weight``
        times (the copies' unit ids end in ``~2``, ``~3``…).

    Raises:
        ValueError: ``weight`` below 1.
    """
    if weight < 1:
        raise ValueError("weight must be at least 1")
    chosen: dict[str, CodedUnit] = {}
    for unit in reviewed:
        if unit.unit_id not in chosen or (prefer or {}).get(unit.unit_id) == unit.coder:
            chosen[unit.unit_id] = unit
    replaced = {(unit.doc_id, unit.text) for unit in chosen.values()}
    merged = [u for u in with_gold_codes(examples, coder)[0] if (u.doc_id, u.text) not in replaced]
    taken = {u.unit_id for u in merged}
    for unit in chosen.values():
        base = unit.unit_id if unit.unit_id not in taken else f"{unit.unit_id}~review"
        for copy in range(1, weight + 1):
            unit_id = base if copy == 1 else f"{base}~{copy}"
            merged.append(CodedUnit(unit.doc_id, unit_id, unit.text, unit.codes, coder, unit.start, unit.end, unit.writer))
    return merged
