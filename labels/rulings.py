"""The coding rulings: the written convention that settles the matrix's hard cases.

They live in ``labels/CODING_GUIDE.md`` under ``## Rulings``, one bullet per ruling, so coders
read them where they read the rest of the guide and the tool shows the same text::

    - **R-FD3** (FD3): ECTS counts for FD3 only as a design rule for micro-credentials ...

The parenthesis names the codes the ruling is about (``all`` for rulings on every code).
``codebook show --rules`` prints them under each code, and exported QDA codebooks carry them in
each code's description.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from matrixcoder.errors import InputError

__all__ = ["DEFAULT_GUIDE", "Ruling", "read_rulings", "rulings_by_code"]

DEFAULT_GUIDE = Path(__file__).resolve().parent / "CODING_GUIDE.md"
_RULING = re.compile(r"^- \*\*(?P<id>R-[^*]+)\*\* \((?P<codes>[^)]*)\): (?P<text>.+)$")


@dataclass(frozen=True)
class Ruling:
    """One ruling: its id, the codes it is about (empty for every code), and its text."""

    id: str
    codes: tuple[str, ...]
    text: str

    def applies_to(self, code: str) -> bool:
        return not self.codes or code in self.codes


def read_rulings(path: str | Path = DEFAULT_GUIDE) -> list[Ruling]:
    """Read the rulings of a coding guide (the ``## Rulings`` section's bullets).

    Raises:
        InputError: The guide cannot be read, or has no ruling.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the coding guide ({type(exc).__name__})") from None
    rulings = []
    for line in text.splitlines():
        match = _RULING.match(line.strip())
        if match:
            codes = tuple(c.strip() for c in match["codes"].split(",") if c.strip() and c.strip().lower() != "all")
            rulings.append(Ruling(match["id"].strip(), codes, match["text"].strip()))
    if not rulings:
        raise InputError(path, "no rulings found (bullets '- **R-ID** (CODES): text' under '## Rulings')")
    return rulings


def rulings_by_code(rulings: Iterable[Ruling], codes: Iterable[str]) -> dict[str, list[Ruling]]:
    """The rulings about each code, in guide order (general rulings excluded)."""
    rulings = list(rulings)
    return {code: [r for r in rulings if code in r.codes] for code in codes}
