"""Human coding from a REFI-QDA project (``.qdpx``) as coded sentence units.

How a project becomes coded units:

- **Codes** map to codebook ids, first match wins: a row of the mapping CSV (by GUID, then by
  name); the GUID matrixcoder gave the code on export (so renaming a code in the tool does not
  matter); a name that starts with a code id ("SI1 – Fully integrated", "SI1: ...", "si1");
  a name equal to exactly one label's name; else the nearest mapped parent (sub-codes refine
  their parent). A code used by some coding that maps to nothing stops the import with a list
  of such codes: nothing is dropped silently. Map it, or ignore it on purpose with ``-``.
- **Sources**: plain-text sources (and the text representation of PDF sources) are read from
  ``internal://`` (inside the archive) or inline ``PlainTextContent``. Sources outside the
  archive (``relative://``, ``absolute://``) are read only from a folder the user names
  (``sources``, ``--sources DIR``): the path must resolve inside it, and a symbolic link out of
  it is refused; a project cannot make the import read any other file.
  A BOM is dropped; offsets count from the first character after it.
- **Offsets** are code points, end exclusive. ATLAS.ti counts ``\\r\\n`` as one character;
  ``crlf=auto`` assumes that for projects whose ``origin`` names ATLAS.ti.
- **Units** are the sentences of ``corpus.segment`` over the source text, ids ``<doc_id>-NNN``
  with the doc id made from the source name as ``ingest`` makes it from a file name. A unit
  gets a selection's code under the overlap rule: ``any`` (one shared character), ``half``
  (the default: at least half of the unit is selected, or at least half of the selection lies
  in the unit, so a highlighted phrase codes its sentence while a selection that spills a few
  characters over a boundary does not code the neighbour) or ``inside`` (the whole unit is
  selected). Selections that still reach no unit are counted per coder in the notes.
- **Coders** are the Users who created the codings. A coder gets every unit of each source in
  which they coded anything, so unselected sentences are units they judged to carry no code.
"""

from __future__ import annotations

import bisect
import csv
import enum
import hashlib
import io
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from matrixcoder.corpus.readers import Document, doc_id_from_path
from matrixcoder.corpus.segment import Unit, segment
from matrixcoder.errors import InputError
from matrixcoder.fileio import atomic_path
from matrixcoder.interop.refi_qda import (
    QdaCode,
    ReadLimits,
    SafeArchive,
    code_guid,
    normalise_guid,
    parse_xml,
    read_codes,
    read_limited,
)
from matrixcoder.labels.codebook import Codebook
from matrixcoder.labels.coded_units import CodedUnit

__all__ = [
    "CodeMatch",
    "CrlfCount",
    "ImportConfig",
    "Mapping",
    "OverlapRule",
    "QdpxImport",
    "import_qdpx",
    "map_codes",
    "read_code_list",
    "read_mapping",
    "write_mapping",
]

IGNORE = "-"


class OverlapRule(str, enum.Enum):
    """When a sentence unit gets the code of a selection that overlaps it."""

    any = "any"
    half = "half"
    inside = "inside"


class CrlfCount(str, enum.Enum):
    """How the tool counted ``\\r\\n`` in positions: one character (ATLAS.ti) or two code points."""

    auto = "auto"
    one = "one"
    two = "two"


@dataclass(frozen=True)
class ImportConfig:
    """How selections become coded units.

    Attributes:
        overlap: The overlap rule.
        crlf: The CRLF convention of the positions.
        limits: Size caps for reading the archive and the sources.
        sources: The folder that external (``relative://``/``absolute://``) sources must lie
            in; None refuses them.
    """

    overlap: OverlapRule = OverlapRule.half
    crlf: CrlfCount = CrlfCount.auto
    limits: ReadLimits = field(default_factory=ReadLimits)
    sources: Path | None = None


@dataclass(frozen=True)
class Mapping:
    """A mapping file: project code GUID or name → codebook id, or None to ignore the code."""

    by_guid: dict[str, str | None]
    by_name: dict[str, str | None]


@dataclass(frozen=True)
class CodeMatch:
    """What a project code maps to (``label`` None: ignored or unmapped) and by which rule."""

    code: QdaCode
    label: str | None
    how: str


@dataclass(frozen=True)
class QdpxImport:
    """The coded units of a project, with what was counted and what was left out.

    Attributes:
        units: One per unit and coder, ordered by source, unit, coder.
        codings: Codings turned into units, per coder.
        notes: Things skipped (non-text sources, codings of whole sources), one line each.
    """

    units: list[CodedUnit]
    codings: Counter
    notes: list[str]


@dataclass
class _Source:
    name: str
    text: str
    crlf_one: bool
    selections: list[tuple[int, int, str, str]]  # start, end (tool positions), user GUID, code GUID
    where: str


def read_mapping(path: str | Path, codebook: Codebook) -> Mapping:
    """Read a mapping CSV: columns ``name`` and ``code``, optionally ``guid``; others ignored.

    ``code`` is a codebook id, ``-`` to ignore the project code on purpose, or empty (the row
    maps nothing, as in a fresh draft from ``import qdc``).

    Raises:
        InputError: Missing file or columns, or a code id not in the codebook.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "mapping file not found") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"name", "code"} <= set(reader.fieldnames):
        raise InputError(path, "a mapping CSV needs the columns name and code (and optionally guid)")
    known = set(codebook.label_ids)
    by_guid: dict[str, str | None] = {}
    by_name: dict[str, str | None] = {}
    for number, row in enumerate(reader, start=2):
        code = (row.get("code") or "").strip()
        if not code:
            continue
        if code != IGNORE and code not in known:
            raise InputError(f"{path}:{number}", f"'{code}' is not a code id of codebook {codebook.version} (use '{IGNORE}' to ignore)")
        target = None if code == IGNORE else code
        guid = normalise_guid(row.get("guid") or "")
        if guid:
            by_guid[guid] = target
        elif (row.get("name") or "").strip():
            by_name[row["name"].strip()] = target
    return Mapping(by_guid, by_name)


def map_codes(codes: list[QdaCode], codebook: Codebook, mapping: Mapping | None = None) -> dict[str, CodeMatch]:
    """Map each project code (by GUID) to a codebook id; see the module docstring for the rules."""
    mapping = mapping or Mapping({}, {})
    own_guids = {code_guid(label_id): label_id for label_id in codebook.label_ids}
    ids = sorted(codebook.label_ids, key=len, reverse=True)
    names = Counter(_plain(label.name) for label in codebook.labels)
    by_name = {_plain(label.name): label.id for label in codebook.labels if names[_plain(label.name)] == 1}
    matches: dict[str, CodeMatch] = {}
    for code in codes:  # parents come first, so a child can inherit
        name = code.name.strip()
        if code.guid in mapping.by_guid or name in mapping.by_name:
            target = mapping.by_guid[code.guid] if code.guid in mapping.by_guid else mapping.by_name[name]
            matches[code.guid] = CodeMatch(code, target, "mapping" if target else "ignored")
        elif code.guid in own_guids:
            matches[code.guid] = CodeMatch(code, own_guids[code.guid], "guid")
        elif label_id := next((i for i in ids if _has_id_prefix(name, i)), None):
            matches[code.guid] = CodeMatch(code, label_id, "id")
        elif _plain(name) in by_name:
            matches[code.guid] = CodeMatch(code, by_name[_plain(name)], "name")
        elif code.parent in matches and matches[code.parent].label:
            matches[code.guid] = CodeMatch(code, matches[code.parent].label, "parent")
        else:
            matches[code.guid] = CodeMatch(code, None, "unmapped")
    return matches


def _plain(name: str) -> str:
    return " ".join(name.casefold().split())


def _has_id_prefix(name: str, label_id: str) -> bool:
    rest = name[len(label_id) :]
    return name[: len(label_id)].upper() == label_id.upper() and not (rest and rest[0].isalnum())


def read_code_list(path: str | Path, limits: ReadLimits = ReadLimits()) -> list[QdaCode]:
    """The codes of a ``.qdc`` codebook, or of the codebook inside a ``.qdpx`` project.

    Raises:
        InputError: Unsafe, damaged or not a REFI-QDA file.
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        with SafeArchive(path, limits) as archive:
            root = _project_root(archive)
    else:
        root = parse_xml(read_limited(path, limits, str(path)), str(path))
        if etree.QName(root).localname not in ("CodeBook", "Project"):
            raise InputError(path, f"not a REFI-QDA codebook (root element <{etree.QName(root).localname}>)")
    return read_codes(_codes_of(root))


def write_mapping(matches: list[CodeMatch], out: str | Path) -> None:
    """Write a mapping CSV (guid, name, path, code, how) to review and pass as ``--mapping``."""
    with atomic_path(out) as temporary:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["guid", "name", "path", "code", "how"])
            for match in matches:
                code = match.label or (IGNORE if match.how == "ignored" else "")
                writer.writerow([match.code.guid, match.code.name, " / ".join(match.code.path), code, match.how])


def import_qdpx(path: str | Path, codebook: Codebook, config: ImportConfig = ImportConfig(), mapping: Mapping | None = None) -> QdpxImport:
    """Read a ``.qdpx`` project's text codings as coded sentence units.

    Args:
        path: The project archive.
        codebook: Codes map to its ids.
        config: Overlap rule, CRLF convention and size limits.
        mapping: Explicit code mappings (see :func:`read_mapping`).

    Raises:
        InputError: Unsafe or damaged archive, a source that cannot be read, positions outside
            a source's text, or codings with codes that map to nothing.
    """
    path = Path(path)
    notes: list[str] = []
    with SafeArchive(path, config.limits) as archive:
        root = _project_root(archive)
        ns = etree.QName(root).namespace
        users = {normalise_guid(u.get("guid", "")): u.get("name") or u.get("id") or u.get("guid", "") for u in root.iter(_tag(ns, "User"))}
        default_user = normalise_guid(root.get("creatingUserGUID", ""))
        atlas = "atlas" in root.get("origin", "").lower()
        crlf_one = config.crlf is CrlfCount.one or (config.crlf is CrlfCount.auto and atlas)
        sources = _read_sources(root, ns, archive, config.sources, crlf_one, config.limits, notes)
    matches = map_codes(read_codes(_codes_of(root)), codebook, mapping)
    _check_mapped(path, sources, matches)
    coders = _coder_names(users)
    order = {label_id: i for i, label_id in enumerate(codebook.label_ids)}
    units: list[CodedUnit] = []
    codings: Counter = Counter()
    doc_ids: Counter = Counter()
    unplaced: dict[str, list[str]] = defaultdict(list)
    for source in sources:
        doc_id = _unique_doc_id(source.name, doc_ids, notes)
        sentences = segment(Document(doc_id, source.where, "txt", source.text, "und", hashlib.sha256(source.text.encode()).hexdigest()))
        coded: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
        positions = _Positions(source.text, source.crlf_one)
        for start, end, user, code in source.selections:
            start, end = positions.convert(start, end, source.where)
            coder = coders.get(user or default_user, user or default_user or "unknown")
            codings[coder] += 1
            # Any coding here, even of an ignored code, means the coder read the whole source.
            by_unit = coded[coder]
            if label := matches[code].label:
                hits = _overlapping(sentences, start, end, config.overlap)
                for index in hits:
                    by_unit[index].add(label)
                if not hits:
                    unplaced[coder].append(f"{label} on '{_snippet(source.text[start:end])}' ({source.name})")
        for index, sentence in enumerate(sentences):
            for coder in sorted(coded):
                labels = sorted(coded[coder].get(index, ()), key=order.__getitem__)
                units.append(CodedUnit(doc_id, sentence.unit_id, sentence.text, tuple(labels), coder, sentence.start, sentence.end))
    for coder, lost in unplaced.items():
        examples = "; ".join(lost[:3])
        notes.append(
            f"coder {coder}: {len(lost)} coding(s) reach no sentence unit under --overlap {config.overlap.value} "
            f"and were not imported (--overlap any keeps them), e.g. {examples}"
        )
    return QdpxImport(units, codings, notes)


def _snippet(text: str, size: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _project_root(archive: SafeArchive) -> etree._Element:
    name = archive.find("project.qde")
    if name is None:
        raise InputError(archive.path, "no project.qde in the archive; is it a REFI-QDA .qdpx?")
    root = parse_xml(archive.read(name), f"{archive.path}:{name}")
    if etree.QName(root).localname != "Project":
        raise InputError(f"{archive.path}:{name}", f"not a REFI-QDA project (root element <{etree.QName(root).localname}>)")
    return root


def _codes_of(root: etree._Element) -> etree._Element | None:
    # <Project><CodeBook><Codes> or <CodeBook><Codes>, in whatever namespace the file uses.
    ns = etree.QName(root).namespace
    codebook = root if etree.QName(root).localname == "CodeBook" else root.find(_tag(ns, "CodeBook"))
    return codebook.find(_tag(ns, "Codes")) if codebook is not None else None


def _tag(ns: str | None, name: str) -> str:
    return f"{{{ns}}}{name}" if ns else name


def _read_sources(root, ns, archive: SafeArchive, base: Path | None, crlf_one: bool, limits: ReadLimits, notes: list[str]) -> list[_Source]:
    container = root.find(_tag(ns, "Sources"))
    sources: list[_Source] = []
    for element in container if container is not None else ():
        kind = etree.QName(element).localname if isinstance(element.tag, str) else ""
        name = element.get("name") or element.get("guid", "source")
        text_element = element if kind == "TextSource" else element.find(_tag(ns, "Representation")) if kind == "PDFSource" else None
        if text_element is None:
            if kind:
                notes.append(f"source '{name}' ({kind}) skipped: only text codings become units")
            continue
        skipped = len(element.findall(_tag(ns, "Coding"))) + len(element.findall(_tag(ns, "PDFSelection")))
        if skipped:
            notes.append(f"source '{name}': {skipped} codings on the whole source or on PDF areas skipped (no text selection)")
        text = _source_text(text_element, ns, archive, base, limits, name, notes)
        if text is None:
            continue
        where = f"{archive.path}: source '{name}'"
        selections = []
        for selection in text_element.findall(_tag(ns, "PlainTextSelection")):
            start, end = _position(selection, "startPosition", where), _position(selection, "endPosition", where)
            for coding in selection.findall(_tag(ns, "Coding")):
                ref = coding.find(_tag(ns, "CodeRef"))
                user = normalise_guid(coding.get("creatingUser") or selection.get("creatingUser") or "")
                selections.append(
                    (min(start, end), max(start, end), user, normalise_guid(ref.get("targetGUID", "") if ref is not None else ""))
                )
        sources.append(_Source(name, text, crlf_one and "\r\n" in text, selections, where))
    return sources


def _position(selection, attribute: str, where: str) -> int:
    try:
        return int(selection.get(attribute, ""))
    except ValueError:
        raise InputError(where, f"selection {selection.get('guid', '')} has no integer {attribute}") from None


def _source_text(element, ns, archive: SafeArchive, base: Path | None, limits: ReadLimits, name: str, notes: list[str]) -> str | None:
    where = f"{archive.path}: source '{name}'"
    reference = element.get("plainTextPath")
    if reference:
        scheme, _, rest = reference.partition("://")
        if scheme == "internal":
            if not rest or "/" in rest.replace("\\", "/") or rest in (".", ".."):
                raise InputError(where, f"unsafe internal path '{reference}'; refused")
            entry = archive.find(f"sources/{rest}")
            if entry is None:
                raise InputError(where, f"{reference} is not in the archive's sources/ folder")
            data = archive.read(entry)
        elif scheme in ("relative", "absolute"):
            data = read_limited(_external_source(base, scheme, rest, reference, where), limits, where)
        else:
            raise InputError(where, f"unknown path scheme in '{reference}' (expected internal://, relative:// or absolute://)")
        return _decode(data, where)
    content = element.find(_tag(ns, "PlainTextContent"))
    if content is not None and content.text:
        return content.text
    notes.append(f"source '{name}' skipped: no plain text (plainTextPath or PlainTextContent)")
    return None


def _external_source(base: Path | None, scheme: str, rest: str, reference: str, where: str) -> Path:
    """The file behind a ``relative://``/``absolute://`` reference, if it lies inside ``base``."""
    if base is None:
        raise InputError(where, f"refers to a file outside the project ({reference}); name the folder that holds it with --sources DIR")
    root = base.resolve()
    candidate = (root / rest) if scheme == "relative" else Path(rest)
    resolved = candidate.resolve()
    if resolved != root and root not in resolved.parents:
        raise InputError(where, f"{reference} lies outside the --sources folder {base}; refused")
    return resolved


def _decode(data: bytes, where: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(where, f"source text is not UTF-8 (invalid byte at offset {exc.start})") from None


class _Positions:
    """Tool positions → code-point offsets, undoing a one-character-per-CRLF count if needed."""

    def __init__(self, text: str, crlf_one: bool) -> None:
        self.length = len(text)
        # Where each \r\n sits in the tool's count, which is one less per earlier \r\n.
        self.crlfs = [m.start() - k for k, m in enumerate(re.finditer("\r\n", text))] if crlf_one else []
        self.tool_length = self.length - len(self.crlfs)

    def convert(self, start: int, end: int, where: str) -> tuple[int, int]:
        if start < 0 or end > self.tool_length:
            hint = " (positions may count \\r\\n as one character: try --crlf one)" if not self.crlfs else ""
            raise InputError(where, f"selection {start}:{end} lies outside the text (length {self.tool_length}){hint}")
        return self._real(start), self._real(end)

    def _real(self, position: int) -> int:
        return position + bisect.bisect_left(self.crlfs, position)


def _overlapping(units: list[Unit], start: int, end: int, rule: OverlapRule) -> list[int]:
    hits = []
    for index, unit in enumerate(units):
        shared = min(end, unit.end) - max(start, unit.start)
        if shared <= 0:
            continue
        half = 2 * shared >= unit.end - unit.start or 2 * shared >= end - start
        if (
            rule is OverlapRule.any
            or (rule is OverlapRule.half and half)
            or (rule is OverlapRule.inside and start <= unit.start and unit.end <= end)
        ):
            hits.append(index)
    return hits


def _check_mapped(path: Path, sources: list[_Source], matches: dict[str, CodeMatch]) -> None:
    used = Counter(code for source in sources for *_, code in source.selections)
    missing = [(code, n) for code, n in used.items() if code not in matches or matches[code].how == "unmapped"]
    if missing:
        listed = ", ".join(
            f"'{matches[c].code.name if c in matches else c}' ({n} codings)" for c, n in sorted(missing, key=lambda x: -x[1])
        )
        raise InputError(
            path,
            f"codes that map to no codebook id: {listed}; map them in --mapping MAP.csv "
            f"(columns name,code; code '{IGNORE}' ignores one; 'matrixcoder import qdc {path.name} -o MAP.csv' drafts it)",
        )


def _coder_names(users: dict[str, str]) -> dict[str, str]:
    """User GUID → coder name; two users with one name stay apart by a GUID suffix."""
    counts = Counter(users.values())
    return {guid: name if counts[name] == 1 else f"{name} ({guid[:8]})" for guid, name in users.items()}


def _unique_doc_id(name: str, seen: Counter, notes: list[str]) -> str:
    doc_id = doc_id_from_path(name)
    seen[doc_id] += 1
    if seen[doc_id] > 1:
        notes.append(f"source '{name}' gets doc id {doc_id}-{seen[doc_id]}: another source already has {doc_id}")
        return f"{doc_id}-{seen[doc_id]}"
    return doc_id
