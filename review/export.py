"""``review export``: the decisions as coded units (JSON Lines) or as a REFI-QDA project.

JSON Lines: one coded unit per reviewed unit and reviewer (design.md's format, coder = the
reviewer's name), ready for ``matrixcoder agreement`` and ``matrixcoder train``.

REFI-QDA (``.qdpx``): every reviewed document as a text source, every reviewer as a User, and
each code they gave a unit as a Coding on a PlainTextSelection over the unit's sentence.
``matrixcoder import qdpx`` reads it back into the same coded units (a unit marked "no code"
has no selection to carry it, so it comes back as any other uncoded sentence of the source).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree

from matrixcoder.fileio import atomic_path, write_jsonl
from matrixcoder.interop.refi_qda import PROJECT_NS, code_guid, codes_element, stable_guid
from matrixcoder.labels.codebook import Codebook
from matrixcoder.review.learn import reviewed_units
from matrixcoder.review.store import ReviewStore

__all__ = ["export_jsonl", "export_qdpx"]

_ZIP_TIME = (2025, 1, 1, 0, 0, 0)


def export_jsonl(store: ReviewStore, out: str | Path) -> int:
    """Write every reviewer's coded units; returns how many."""
    units = reviewed_units(store)
    write_jsonl(out, (unit.to_json() for unit in units))
    return len(units)


def export_qdpx(store: ReviewStore, codebook: Codebook, out: str | Path) -> int:
    """Write the reviewed documents and every reviewer's codes as a ``.qdpx``; returns the codings.

    GUIDs are uuid5 values of the content, so the same decisions give the same project.
    """
    units = reviewed_units(store)
    documents = store.documents()
    coders = sorted({unit.coder for unit in units})
    users = {coder: stable_guid("user", f"review {coder}") for coder in coders}
    creator = stable_guid("user", "matrixcoder review")
    root = etree.Element(
        _tag("Project"),
        nsmap={None: PROJECT_NS},
        name="matrixcoder review decisions",
        origin="matrixcoder review",
        creatingUserGUID=users[coders[0]] if coders else creator,
    )
    users_element = etree.SubElement(root, _tag("Users"))
    for coder in coders:
        etree.SubElement(users_element, _tag("User"), guid=users[coder], name=coder)
    if not coders:
        etree.SubElement(users_element, _tag("User"), guid=creator, name="matrixcoder review")
    etree.SubElement(root, _tag("CodeBook")).append(codes_element(codebook, PROJECT_NS))
    by_document: dict[str, list] = {}
    for unit in units:
        by_document.setdefault(unit.doc_id, []).append(unit)
    files: dict[str, bytes] = {}
    codings = 0
    if by_document:
        sources = etree.SubElement(root, _tag("Sources"))
        for doc_id in sorted(by_document):
            document = documents[doc_id]
            source_guid = stable_guid("source", f"review {doc_id}")
            files[f"sources/{source_guid}.txt"] = document["text"].encode("utf-8")
            source = etree.SubElement(
                sources,
                _tag("TextSource"),
                guid=source_guid,
                name=document["name"],
                plainTextPath=f"internal://{source_guid}.txt",
                creatingUser=users[by_document[doc_id][0].coder],
            )
            for unit in by_document[doc_id]:
                for code in unit.codes:
                    key = f"{doc_id}:{unit.unit_id}:{unit.coder}:{code}"
                    selection = etree.SubElement(
                        source,
                        _tag("PlainTextSelection"),
                        guid=stable_guid("selection", key),
                        name=f"{code} ({unit.coder})",
                        startPosition=str(unit.start),
                        endPosition=str(unit.end),
                        creatingUser=users[unit.coder],
                    )
                    etree.SubElement(
                        selection, _tag("Description")
                    ).text = f"{code} – {codebook.label(code).name}: reviewed by {unit.coder}"
                    coding = etree.SubElement(selection, _tag("Coding"), guid=stable_guid("coding", key), creatingUser=users[unit.coder])
                    etree.SubElement(coding, _tag("CodeRef"), targetGUID=code_guid(code))
                    codings += 1
    with atomic_path(out) as temporary:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            _write(archive, "project.qde", etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))
            for name, data in files.items():
                _write(archive, name, data)
    return codings


def _tag(name: str) -> str:
    return f"{{{PROJECT_NS}}}{name}"


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED)
