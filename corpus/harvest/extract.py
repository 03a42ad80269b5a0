"""From a fetched body to links, and to a corpus document with its date.

Text extraction is :func:`matrixcoder.corpus.readers.read_document` run on the raw snapshot,
so harvested and ingested files are read the same way.
"""

from __future__ import annotations

import codecs
import io
import re
import tempfile
from datetime import date, datetime
from pathlib import Path

import docx
import htmldate
import pypdf
from lxml import etree
from lxml import html as lxml_html

from matrixcoder.corpus.harvest.urls import resolve_link
from matrixcoder.corpus.readers import Document, read_document

__all__ = ["DOCUMENT_TYPES", "SUFFIXES", "decode_html", "document_date", "document_kind", "extract_document", "page_links"]

# Media types worth reading, and the reader each needs.
DOCUMENT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
# The suffix a raw snapshot of each kind gets, which is what read_document dispatches on.
SUFFIXES = {"html": ".html", "pdf": ".pdf", "docx": ".docx"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


def document_kind(media_type: str, url: str, body: bytes) -> str | None:
    """``html``, ``pdf`` or ``docx`` from the media type, or from the body when it has none."""
    if media_type in DOCUMENT_TYPES:
        return DOCUMENT_TYPES[media_type]
    head = body[:1024].lstrip().lower()
    if head.startswith(b"%pdf-"):
        return "pdf"
    if head.startswith(b"pk\x03\x04") and url.lower().endswith(".docx"):
        return "docx"
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    return None


def decode_html(body: bytes, charset: str | None) -> str:
    """HTML as text: the charset of the Content-Type header, else of a ``<meta>``, else UTF-8."""
    declared = _META_CHARSET.search(body[:4096])
    for candidate in (charset, declared.group(1).decode("ascii") if declared else None, "utf-8"):
        if not candidate:
            continue
        try:
            codecs.lookup(candidate)
            return body.decode(candidate, errors="strict").removeprefix("\ufeff")
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", errors="replace")


def page_links(html: str, base_url: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Links of a page as ``(url, link text)``, and the URLs of its language versions
    (``<link rel="alternate" hreflang>``); all absolute and normalised."""
    try:
        tree = lxml_html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*>", "", html))
    except (etree.ParserError, ValueError):
        return [], []
    base = tree.xpath("string(//base/@href)").strip() or base_url
    base = resolve_link(base_url, base) or base_url
    links = []
    for anchor in tree.xpath("//a[@href] | //area[@href]"):
        url = resolve_link(base, anchor.get("href"))
        if url:
            links.append((url, " ".join(anchor.text_content().split())))
    alternates = [
        url
        for element in tree.xpath("//link[@hreflang][@href][contains(concat(' ', normalize-space(@rel), ' '), ' alternate ')]")
        if (url := resolve_link(base, element.get("href")))
    ]
    return links, alternates


def extract_document(raw_path: Path, kind: str, charset: str | None, doc_id: str) -> Document:
    """Read the text of a raw snapshot into a :class:`Document` (language included).

    Raises:
        InputError: No text could be read from it.
    """
    if kind == "html":
        data = raw_path.read_bytes()
        text = decode_html(data, charset)
        if text.encode("utf-8") != data:
            # trafilatura guesses the encoding of bytes; the Content-Type header's word is better.
            with tempfile.TemporaryDirectory() as folder:
                copy = Path(folder) / "page.html"
                copy.write_text(text, encoding="utf-8")
                return read_document(copy, doc_id=doc_id)
    return read_document(raw_path, doc_id=doc_id)


def document_date(kind: str, body: bytes, charset: str | None, url: str) -> date | None:
    """When the document was published or made, from its HTML or file metadata; None if unknown."""
    try:
        if kind == "html":
            # Only dates the page states (meta tags, time elements, the URL), not guesses from its text.
            found = htmldate.find_date(decode_html(body, charset), url=url, original_date=True, extensive_search=False)
            return date.fromisoformat(found) if found else None
        if kind == "pdf":
            metadata = pypdf.PdfReader(io.BytesIO(body)).metadata
            created = metadata.creation_date if metadata else None
        else:
            created = docx.Document(io.BytesIO(body)).core_properties.created
    except Exception:  # noqa: BLE001 -- damaged metadata only means "no date"; the text is read separately
        return None
    return created.date() if isinstance(created, datetime) else None
