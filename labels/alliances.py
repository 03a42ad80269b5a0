"""Read alliance-level data: ``labels/alliances.csv`` (names, launch years, Table 2 coding)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from matrixcoder.errors import InputError

__all__ = ["Alliance", "DEFAULT_ALLIANCES", "read_alliances"]

DEFAULT_ALLIANCES = Path(__file__).resolve().parent / "alliances.csv"


@dataclass(frozen=True)
class Alliance:
    """One alliance and the names texts use for it."""

    acronym: str
    name: str
    aliases: tuple[str, ...]
    launch_year: int | None
    website: str


def read_alliances(path: str | Path | None = None) -> list[Alliance]:
    """Read the alliance list (columns ``alliance``, ``launch_year``, ``name``, ``aliases``, ``website``).

    Raises:
        InputError: The file is missing, lacks a column, or repeats an acronym.
    """
    path = Path(path) if path else DEFAULT_ALLIANCES
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read alliance CSV ({type(exc).__name__})") from None
    missing = {"alliance", "launch_year", "name", "aliases", "website"} - set(table.columns)
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(sorted(missing))}")
    duplicated = table["alliance"][table["alliance"].duplicated()].tolist()
    if duplicated:
        raise InputError(path, f"alliance {duplicated[0]} listed twice")
    return [
        Alliance(
            acronym=row.alliance.strip(),
            name=row.name.strip(),
            aliases=tuple(alias.strip() for alias in row.aliases.split(";") if alias.strip()),
            launch_year=int(row.launch_year) if row.launch_year.strip() else None,
            website=row.website.strip(),
        )
        for row in table.itertuples(index=False)
    ]
