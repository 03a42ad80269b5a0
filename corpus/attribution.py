"""Attribute documents to alliances: metadata CSV, then folder name, then names in the text."""

from __future__ import annotations

import re
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from matrixcoder.corpus.segment import chunks
from matrixcoder.errors import InputError
from matrixcoder.labels.alliances import Alliance

if TYPE_CHECKING:
    import spacy
    from spacy.matcher import PhraseMatcher

__all__ = ["AllianceAttributor", "read_metadata"]


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9+]", "", name.lower())


class AllianceAttributor:
    """Find the alliance a document belongs to.

    Acronyms are matched case-sensitively (``INVEST``, ``UNIC`` and ``AURORA`` are also
    ordinary words in some languages), full names and aliases case-insensitively.

    Args:
        alliances: The known alliances.
    """

    def __init__(self, alliances: list[Alliance]) -> None:
        self.alliances = alliances

    def from_folder(self, path: Path, root: Path) -> str | None:
        """The alliance whose acronym or name is one of the folders between ``root`` and the file."""
        by_key: dict[str, str] = {}
        for alliance in self.alliances:
            for name in (alliance.acronym, alliance.name, *alliance.aliases):
                by_key.setdefault(_key(name), alliance.acronym)
        try:
            folders = path.parent.relative_to(root).parts
        except ValueError:
            folders = path.parent.parts[-1:]
        for folder in reversed(folders):
            if _key(folder) in by_key:
                return by_key[_key(folder)]
        return None

    def from_text(self, text: str) -> str | None:
        """The alliance named most often in the text (ties: the one named first)."""
        matches: list[tuple[int, int, int]] = []
        for offset, piece in chunks(text):
            doc = self._nlp.make_doc(piece)
            matches.extend((m_id, offset + start, end) for matcher in self._matchers for m_id, start, end in matcher(doc))
        matches.sort(key=lambda m: m[1])
        if not matches:
            return None
        names = [self._nlp.vocab.strings[match_id] for match_id, _, _ in matches]
        counts = Counter(names)
        return max(counts, key=lambda acronym: (counts[acronym], -names.index(acronym)))

    @cached_property
    def _nlp(self) -> spacy.language.Language:
        # Imported here, as in corpus.segment: most commands never attribute documents.
        import spacy

        return spacy.blank("xx")

    @cached_property
    def _matchers(self) -> tuple[PhraseMatcher, PhraseMatcher]:
        from spacy.matcher import PhraseMatcher

        exact = PhraseMatcher(self._nlp.vocab, attr="ORTH")
        lowered = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        for alliance in self.alliances:
            exact.add(alliance.acronym, [self._nlp.make_doc(alliance.acronym)])
            names = [self._nlp.make_doc(name) for name in (alliance.name, *alliance.aliases) if name]
            if names:
                lowered.add(alliance.acronym, names)
        return exact, lowered


def read_metadata(path: str | Path) -> dict[str, str]:
    """Read a metadata CSV with columns ``file`` (name or relative path) and ``alliance``."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read metadata CSV ({type(exc).__name__})") from None
    if not {"file", "alliance"} <= set(table.columns):
        raise InputError(path, "metadata CSV needs the columns 'file' and 'alliance'")
    return {row.file.strip(): row.alliance.strip() for row in table.itertuples(index=False) if row.alliance.strip()}
