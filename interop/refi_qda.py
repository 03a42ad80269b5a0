"""REFI-QDA building blocks shared by export and import: GUIDs, the codebook as codes, safe reading.

REFI-QDA (https://www.qdasoftware.org/) is the exchange format of NVivo, ATLAS.ti, MAXQDA and
QualCoder: a ``.qdc`` is a codebook (XML), a ``.qdpx`` a zip holding ``project.qde`` (XML) and
the sources under ``sources/``. Files come from other people's machines, so reading is
defensive: entry names must stay inside the archive, sizes are capped (as declared and as
actually read), and XML with a DOCTYPE is refused, which rules out external entities and
entity expansion bombs alike.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from matrixcoder.archive import ReadLimits, SafeArchive, read_limited
from matrixcoder.errors import InputError
from matrixcoder.fileio import atomic_path
from matrixcoder.labels.codebook import APPROACH_DIMENSION, Codebook
from matrixcoder.labels.rulings import Ruling, rulings_by_code

__all__ = [
    "CODEBOOK_NS",
    "PROJECT_NS",
    "QdaCode",
    "ReadLimits",
    "SafeArchive",
    "code_guid",
    "codes_element",
    "normalise_guid",
    "parse_xml",
    "read_codes",
    "read_limited",
    "stable_guid",
    "write_qdc",
]

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
# Fixed namespace for uuid5: the same code, source or user gets the same GUID on every export,
# so a re-exported codebook merges with the one already in the analysts' project.
_GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/matrixcoder/refi-qda")
# A DOCTYPE sits in the prolog: after an optional BOM, XML declaration and comments. Checked
# before parsing so that an entity the parser cannot resolve still reads as a refused DOCTYPE;
# the parsed tree is checked again for encodings this pattern does not see (UTF-16).
_DOCTYPE = re.compile(rb"(?:\xef\xbb\xbf)?\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<!DOCTYPE", re.S)


def stable_guid(kind: str, key: str) -> str:
    """A GUID derived from ``kind`` and ``key`` (uuid5), identical on every run."""
    return str(uuid.uuid5(_GUID_NAMESPACE, f"{kind}:{key}"))


def code_guid(code_id: str) -> str:
    """The GUID of a codebook label (or, with ``dimension:`` ids, of a dimension parent)."""
    return stable_guid("code", code_id)


def codes_element(codebook: Codebook, namespace: str, rulings: list[Ruling] | None = None) -> etree._Element:
    """The codebook as a ``<Codes>`` tree: one non-codable parent per dimension, codes nested.

    The approach types get a parent of their own; recognition mechanisms, which the matrix
    names but gives no codes, appear as an empty non-codable parent so the structure is complete.
    Each code's description is its indicator followed by the coding rulings about it, so
    coders see the convention inside NVivo, ATLAS.ti, MAXQDA or QualCoder.
    """
    about = rulings_by_code(rulings or [], codebook.label_ids)
    codes = etree.Element(f"{{{namespace}}}Codes", nsmap={None: namespace})
    groups = [(d.id, d.name, d.description) for d in sorted(codebook.dimensions, key=lambda d: d.order)]
    groups.append((APPROACH_DIMENSION, codebook.dimension_name(APPROACH_DIMENSION), "Approach types of alliances (Table 2)."))
    for dimension_id, name, description in groups:
        parent = _code(codes, namespace, code_guid(f"dimension:{dimension_id}"), name, description, codable=False)
        for label in codebook.labels:
            if label.dimension == dimension_id:
                description = "\n".join([label.indicator, *(f"{r.id}: {r.text}" for r in about[label.id])])
                _code(parent, namespace, code_guid(label.id), f"{label.id} – {label.name}", description, codable=True)
    return codes


def _code(parent: etree._Element, namespace: str, guid: str, name: str, description: str, codable: bool) -> etree._Element:
    element = etree.SubElement(parent, f"{{{namespace}}}Code", guid=guid, name=name, isCodable="true" if codable else "false")
    etree.SubElement(element, f"{{{namespace}}}Description").text = description
    return element


def write_qdc(codebook: Codebook, path: str | Path, rulings: list[Ruling] | None = None) -> None:
    """Write the codebook (with the coding rulings in code descriptions) as a REFI-QDA ``.qdc`` file, atomically."""
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=f"matrixcoder codebook {codebook.version}")
    root.append(codes_element(codebook, CODEBOOK_NS, rulings))
    with atomic_path(path) as temporary:
        temporary.write_bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))


@dataclass(frozen=True)
class QdaCode:
    """A code read from a REFI-QDA codebook; ``path`` is its names from the top, itself last."""

    guid: str
    name: str
    path: tuple[str, ...]
    parent: str | None
    codable: bool


def read_codes(codes: etree._Element | None) -> list[QdaCode]:
    """Flatten a ``<Codes>`` element (any namespace), parents before their children."""
    found: list[QdaCode] = []

    def walk(element: etree._Element, parent: QdaCode | None) -> None:
        for child in element:
            if _local(child) != "Code":
                continue
            name = child.get("name", "")
            code = QdaCode(
                guid=normalise_guid(child.get("guid", "")),
                name=name,
                path=(parent.path if parent else ()) + (name,),
                parent=parent.guid if parent else None,
                codable=child.get("isCodable", "true").strip().lower() in ("true", "1"),
            )
            found.append(code)
            walk(child, code)

    if codes is not None:
        walk(codes, None)
    return found


def normalise_guid(guid: str) -> str:
    """GUIDs compare case-insensitively and may come in braces (``{...}``) from some tools."""
    return guid.strip().strip("{}").lower()


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def parse_xml(data: bytes, source: str) -> etree._Element:
    """Parse XML without network, DTDs or entity substitution; refuse any DOCTYPE.

    Raises:
        InputError: Not well-formed XML, or a DOCTYPE (REFI-QDA files never need one, and
            it is where external entities and entity bombs live).
    """
    if _DOCTYPE.match(data):
        raise InputError(source, "XML with a DOCTYPE is refused (entities are never resolved)")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(source, f"not well-formed XML ({exc.msg}, line {exc.lineno})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise InputError(source, "XML with a DOCTYPE is refused (entities are never resolved)")
    return root
