"""Read txt, md, html, pdf and docx files into normalised plain text.

Every reader returns the text that units' offsets refer to: the normalisation
(NFC, LF line ends, single spaces, repaired PDF line breaks) happens here, once,
before segmentation, so offsets never drift.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import docx
import pypdf
import trafilatura
from lxml import html as lxml_html

from matrixcoder.archive import ReadLimits, check_archive
from matrixcoder.corpus.language import detect_language
from matrixcoder.errors import InputError

__all__ = ["Document", "SUPPORTED_SUFFIXES", "doc_id_from_path", "normalise_text", "read_document", "text_to_document"]

SUPPORTED_SUFFIXES = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
# Prefixes whose hyphen is part of the word, not a line-end break ("micro-\ncredentials").
_KEEP_HYPHEN_PREFIXES = {"micro", "co", "non", "cross", "self", "e"}


@dataclass(frozen=True)
class Document:
    """A document's normalised text; ``page_starts[i]`` is where page ``i + 1`` begins."""

    doc_id: str
    source: str
    format: str
    text: str
    language: str
    sha256: str
    alliance: str | None = None
    page_starts: tuple[int, ...] = ()


def doc_id_from_path(path: str | Path) -> str:
    """A readable id from the file name: lower case, runs of other characters as ``-``.

    Accents are dropped ("Présentation" → "presentation"); names in other scripts keep their
    letters ("Μικροπιστοποιητικά.txt" → "μικροπιστοποιητικα"), so they never collapse to one id.
    """
    stem = unicodedata.normalize("NFKD", Path(path).stem.lower())
    stem = "".join(ch for ch in stem if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", "-", stem).strip("-") or "document"


def read_document(path: str | Path, doc_id: str | None = None) -> Document:
    """Read one file into a :class:`Document`.

    Raises:
        InputError: Unsupported type, empty, binary, not UTF-8, corrupt, or no text.
    """
    path = Path(path)
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(path, f"unsupported file type '{path.suffix or '(none)'}' (use txt, md, html, pdf or docx)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror})") from None
    if not data.strip():
        raise InputError(path, "empty file")
    pages = _READERS[kind](path, data)
    return text_to_document(
        pages, source=str(path), kind=kind, doc_id=doc_id or doc_id_from_path(path), sha256=hashlib.sha256(data).hexdigest()
    )


def text_to_document(pages: list[str], *, source: str, kind: str, doc_id: str, sha256: str) -> Document:
    """Join already-extracted page texts into a normalised :class:`Document`."""
    texts = [normalise_text(page) for page in pages]
    page_starts, offset = [], 0
    for text in texts:
        page_starts.append(offset)
        offset += len(text) + 2
    text = "\n\n".join(texts)
    if not any(ch.isalnum() for ch in text):
        raise InputError(source, "no text found")
    return Document(
        doc_id=doc_id,
        source=source,
        format=kind,
        text=text,
        language=detect_language(text),
        sha256=sha256,
        page_starts=tuple(page_starts) if kind == "pdf" else (),
    )


def normalise_text(text: str) -> str:
    """NFC, LF line ends, control characters and odd spaces as plain spaces, tidy blank lines."""
    text = unicodedata.normalize("NFC", text.removeprefix("\ufeff"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(" " if (unicodedata.category(ch) in ("Cc", "Zs") and ch != "\n") else ch for ch in text)
    text = re.sub(r" {2,}", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _decode_text(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise InputError(path, "binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (invalid byte at offset {exc.start}); re-save it as UTF-8") from None


def _read_txt(path: Path, data: bytes) -> list[str]:
    return [_decode_text(path, data)]


_MD_RULES = [
    (re.compile(r"^```.*$", re.M), ""),
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*", re.M), ""),
    (re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+", re.M), ""),
    (re.compile(r"^[ \t]*>[ \t]?", re.M), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"(\*\*|__|\*|`)"), ""),
    (re.compile(r"^[ \t]*\|?[-:| ]{3,}\|?[ \t]*$", re.M), ""),
    (re.compile(r"[ \t]*\|[ \t]*"), " | "),
]


def _read_md(path: Path, data: bytes) -> list[str]:
    text = _decode_text(path, data)
    for pattern, replacement in _MD_RULES:
        text = pattern.sub(replacement, text)
    return [text]


def _read_html(path: Path, data: bytes) -> list[str]:
    if b"\x00" in data[:8192]:
        raise InputError(path, "binary file, not HTML")
    text = trafilatura.extract(data, output_format="txt", include_comments=False, include_tables=True, favor_recall=True, deduplicate=False)
    return [text or _html_fallback_text(path, data)]


def _html_fallback_text(path: Path, data: bytes) -> str:
    # trafilatura gives up on very short pages; strip the obvious boilerplate ourselves.
    try:
        tree = lxml_html.fromstring(data)
    except (ValueError, lxml_html.etree.ParserError):
        raise InputError(path, "not parseable as HTML") from None
    for element in tree.xpath("//script|//style|//nav|//header|//footer|//aside|//form|//noscript"):
        element.drop_tree()
    text = "\n".join(line.strip() for line in tree.text_content().splitlines() if line.strip())
    return text or _stripped_tags(data)


_SKIPPED_ELEMENTS = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _stripped_tags(data: bytes) -> str:
    """Text between the tags, for pages an HTML parser gives up on (e.g. 100,000 nested divs).

    libxml2 stops at a nesting depth of a few hundred, so a deeply nested page would otherwise
    lose its text without a word.
    """
    html = html_lib.unescape(_TAG.sub("\n", _SKIPPED_ELEMENTS.sub(" ", data.decode("utf-8", errors="replace"))))
    return "\n".join(line.strip() for line in html.splitlines() if line.strip())


# pypdf logs its repairs of damaged files (with raw bytes) at warning level; a file it cannot
# read becomes one InputError line below, so its chatter stays off the user's terminal.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def _read_pdf(path: Path, data: bytes) -> list[str]:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(path, "encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        raise InputError(path, f"corrupt or unreadable PDF ({type(exc).__name__})") from None
    if not any(page.strip() for page in pages):
        raise InputError(path, "PDF has no extractable text (scanned images?)")
    return [_join_pdf_lines(page) for page in pages]


def _join_pdf_lines(page: str) -> str:
    """Undo the PDF's visual line wrapping: repair hyphenation and rejoin wrapped sentences."""
    lines = [line.strip() for line in normalise_text(page).split("\n")]
    width = max((len(line) for line in lines), default=0)
    joined: list[str] = []
    for line in lines:
        if not line:
            continue
        previous = joined[-1] if joined else ""
        if previous and re.search(r"[A-Za-zÀ-ÿ]-$", previous) and line[0].islower():
            fragment = re.split(r"[^\w-]", previous)[-1][:-1].lower()
            joined[-1] = previous + line if fragment in _KEEP_HYPHEN_PREFIXES else previous[:-1] + line
        elif previous and not re.search(r"[.!?:]$", previous) and (line[0].islower() or len(previous) >= 0.8 * width):
            joined[-1] = f"{previous} {line}"
        else:
            joined.append(line)
    return "\n".join(joined)


# A .docx is a zip: its parts are decompressed under these caps before python-docx sees them,
# so a 3 MB file that expands to gigabytes is one bad file, not an exhausted machine.
DOCX_LIMITS = ReadLimits(max_entry_bytes=64 * 2**20, max_total_bytes=256 * 2**20)


def _read_docx(path: Path, data: bytes) -> list[str]:
    try:
        check_archive(path, data, DOCX_LIMITS)
    except InputError as exc:
        raise InputError(path, f"corrupt or unreadable DOCX ({exc.problem})") from None
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, docx.table.Table):
                blocks.extend(" | ".join(cell.text for cell in row.cells) for row in item.rows)
            else:
                blocks.append(item.text)
    except Exception as exc:  # python-docx and lxml raise many types for damaged or hostile files
        raise InputError(path, f"corrupt or unreadable DOCX ({type(exc).__name__})") from None
    return ["\n".join(blocks)]


_READERS = {"txt": _read_txt, "md": _read_md, "html": _read_html, "pdf": _read_pdf, "docx": _read_docx}
