"""Load and validate the analysis-matrix codebook (``labels/codebook.yaml``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from matrixcoder.errors import InputError

__all__ = ["Code", "Codebook", "Dimension", "DEFAULT_CODEBOOK", "APPROACH_DIMENSION", "load_codebook"]

DEFAULT_CODEBOOK = Path(__file__).resolve().parent / "codebook.yaml"
# Approach types (Table 2) are alliance-level labels; they sit in a pseudo-dimension of their own.
APPROACH_DIMENSION = "AP"


@dataclass(frozen=True)
class Dimension:
    """One dimension of the matrix; ``has_codes`` is False for recognition mechanisms."""

    id: str
    order: int
    name: str
    description: str
    has_codes: bool = True
    note: str = ""


@dataclass(frozen=True)
class Code:
    """One label: a matrix code (indicator text) or an approach type (definition)."""

    id: str
    name: str
    dimension: str
    indicator: str


@dataclass(frozen=True)
class Codebook:
    """The validated codebook. Labels are the 33 matrix codes, then the 6 approach types."""

    name: str
    version: str
    dimensions: tuple[Dimension, ...]
    codes: tuple[Code, ...]
    approach_types: tuple[Code, ...]
    content_hash: str
    path: Path

    @property
    def labels(self) -> tuple[Code, ...]:
        return self.codes + self.approach_types

    @property
    def label_ids(self) -> list[str]:
        return [label.id for label in self.labels]

    def label(self, label_id: str) -> Code:
        for label in self.labels:
            if label.id == label_id:
                return label
        raise KeyError(label_id)

    def dimension_name(self, dimension_id: str) -> str:
        if dimension_id == APPROACH_DIMENSION:
            return "Approach types"
        return next(d.name for d in self.dimensions if d.id == dimension_id)


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Read and validate a codebook file.

    Args:
        path: The YAML file; the shipped ``labels/codebook.yaml`` when None.

    Returns:
        The codebook, with a sha256 content hash over its canonical JSON form.

    Raises:
        InputError: One line naming the file, the entry and the problem.
    """
    path = Path(path) if path else DEFAULT_CODEBOOK
    raw = _read_yaml(path)
    dimensions = tuple(_dimension(path, i, entry) for i, entry in enumerate(_list(path, raw, "dimensions")))
    codes = tuple(_code(path, "codes", i, entry, "indicator") for i, entry in enumerate(_list(path, raw, "codes")))
    approaches = tuple(
        _code(path, "approach_types", i, entry, "definition", APPROACH_DIMENSION)
        for i, entry in enumerate(_list(path, raw, "approach_types"))
    )
    _check_consistency(path, dimensions, codes + approaches)
    return Codebook(
        name=_text(path, "codebook", raw, "name"),
        version=_text(path, "codebook", raw, "version"),
        dimensions=dimensions,
        codes=codes,
        approach_types=approaches,
        content_hash=_content_hash(raw),
        path=path,
    )


def _read_yaml(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "codebook file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid YAML ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise InputError(path, "codebook must be a mapping with name, version, dimensions, codes, approach_types")
    return raw


def _list(path: Path, raw: dict, key: str) -> list:
    value = raw.get(key)
    if not isinstance(value, list) or not value:
        raise InputError(path, f"'{key}' must be a non-empty list")
    return value


def _text(path: Path, where: str, entry: dict, key: str) -> str:
    value = entry.get(key) if isinstance(entry, dict) else None
    if value is None or not str(value).strip():
        raise InputError(path, f"{where}: '{key}' is missing or empty")
    return str(value).strip()


def _dimension(path: Path, index: int, entry: dict) -> Dimension:
    where = f"dimensions[{index}]"
    dim_id = _text(path, where, entry, "id")
    where = f"{where} ({dim_id})"
    order = entry.get("order")
    if not isinstance(order, int):
        raise InputError(path, f"{where}: 'order' must be an integer")
    return Dimension(
        id=dim_id,
        order=order,
        name=_text(path, where, entry, "name"),
        description=_text(path, where, entry, "description"),
        has_codes=bool(entry.get("has_codes", True)),
        note=str(entry.get("note", "")),
    )


def _code(path: Path, section: str, index: int, entry: dict, text_key: str, dimension: str | None = None) -> Code:
    where = f"{section}[{index}]"
    code_id = _text(path, where, entry, "id")
    where = f"{where} ({code_id})"
    return Code(
        id=code_id,
        name=_text(path, where, entry, "name"),
        dimension=dimension or _text(path, where, entry, "dimension"),
        indicator=_text(path, where, entry, text_key),
    )


def _check_consistency(path: Path, dimensions: tuple[Dimension, ...], labels: tuple[Code, ...]) -> None:
    dim_ids = [d.id for d in dimensions]
    for seen, kind in ((dim_ids, "dimension"), ([label.id for label in labels], "code")):
        duplicates = sorted({x for x in seen if seen.count(x) > 1})
        if duplicates:
            raise InputError(path, f"duplicate {kind} id {duplicates[0]}")
    coded = {label.dimension for label in labels}
    for label in labels:
        if label.dimension != APPROACH_DIMENSION and label.dimension not in dim_ids:
            raise InputError(path, f"code {label.id}: unknown dimension '{label.dimension}'")
    for dim in dimensions:
        if dim.has_codes and dim.id not in coded:
            raise InputError(path, f"dimension {dim.id} has no codes (set has_codes: false if that is intended)")
        if not dim.has_codes and dim.id in coded:
            raise InputError(path, f"dimension {dim.id} is marked has_codes: false but has codes")


def _content_hash(raw: dict) -> str:
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
