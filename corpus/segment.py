"""Split a document's text into sentence units with exact character offsets.

A blank spaCy pipeline with the rule-based ``sentencizer`` works for any language and
needs no model download. Text is first cut into blocks at line breaks (headings, menu
items and list entries are units of their own in harvested pages), then each block into
sentences. Offsets always satisfy ``document.text[unit.start:unit.end] == unit.text``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from matrixcoder.corpus.readers import Document

if TYPE_CHECKING:
    import spacy

__all__ = ["CHUNK_CHARS", "Unit", "chunks", "segment", "sentence_spans"]

_BLOCK = re.compile(r"[^\n]+")
# spaCy refuses texts over nlp.max_length (1,000,000 characters, error E088); blocks are cut
# well below it, at whitespace, so one giant line never stops a batch.
CHUNK_CHARS = 100_000


@dataclass(frozen=True)
class Unit:
    """One sentence of a document; ``page`` is 1-based for paged formats, else None."""

    doc_id: str
    unit_id: str
    text: str
    start: int
    end: int
    page: int | None = None


@lru_cache(maxsize=1)
def _pipeline() -> spacy.language.Language:
    # Imported here: spaCy takes a second to import, and most commands never segment.
    import spacy

    nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    return nlp


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of each sentence, stripped of surrounding whitespace.

    Spans without a letter or digit (rules, bullets, stray punctuation) are dropped.
    """
    blocks = [piece for m in _BLOCK.finditer(text) for piece in chunks(m.group(), m.start())]
    spans: list[tuple[int, int]] = []
    for (offset, _), doc in zip(blocks, _pipeline().pipe(block for _, block in blocks), strict=False):
        for sentence in doc.sents:
            raw = sentence.text
            stripped = raw.strip()
            if not any(ch.isalnum() for ch in stripped):
                continue
            start = offset + sentence.start_char + (len(raw) - len(raw.lstrip()))
            spans.append((start, start + len(stripped)))
    return spans


def chunks(text: str, offset: int = 0, size: int = CHUNK_CHARS) -> list[tuple[int, str]]:
    """Cut ``text`` into ``(offset, piece)`` of at most ``size`` characters, at whitespace where possible."""
    pieces = []
    while len(text) > size:
        cut = text.rfind(" ", size // 2, size)
        cut = size if cut <= 0 else cut + 1
        pieces.append((offset, text[:cut]))
        offset, text = offset + cut, text[cut:]
    pieces.append((offset, text))
    return pieces


def segment(document: Document) -> list[Unit]:
    """Split a document into units ``<doc_id>-001``, ``<doc_id>-002``, ..."""
    units = []
    for number, (start, end) in enumerate(sentence_spans(document.text), start=1):
        page = bisect.bisect_right(document.page_starts, start) if document.page_starts else None
        units.append(Unit(document.doc_id, f"{document.doc_id}-{number:03d}", document.text[start:end], start, end, page))
    return units
