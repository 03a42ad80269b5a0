"""Suggestions as a REFI-QDA project (``.qdpx``) that NVivo, ATLAS.ti, MAXQDA and QualCoder open.

Each document becomes a plain-text source stored in the archive; each suggested code becomes
a Coding on a PlainTextSelection over its evidence sentence, created by a User named after the
model, so analysts can filter the machine's codings and accept or delete them. The selection's
Description carries the confidence. GUIDs are uuid5 values, so exporting the same
suggestions twice gives the same project, and the codebook matches ``codebook export --format qdc``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from matrixcoder.fileio import atomic_path
from matrixcoder.interop.refi_qda import PROJECT_NS, code_guid, codes_element, stable_guid
from matrixcoder.labels.codebook import Codebook
from matrixcoder.labels.rulings import Ruling

__all__ = ["ExportDocument", "export_qdpx", "model_user_name"]

# A fixed timestamp for archive entries: the same input gives a byte-identical .qdpx.
_ZIP_TIME = (2025, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class ExportDocument:
    """One document to export: plain data, independent of how suggestions were made.

    Attributes:
        doc_id: Stable id (seeds the source's GUID).
        name: Name shown in the analysis tool; importing derives the doc id from it, as
            ``ingest`` does from file names.
        text: The text the offsets refer to, stored as is (UTF-8).
        suggestions: ``(code_id, start, end, score)``: code-point offsets, end exclusive.
    """

    doc_id: str
    name: str
    text: str
    suggestions: Sequence[tuple[str, int, int, float]] = field(default_factory=list)


def model_user_name(model_id: str) -> str:
    """The REFI-QDA User that owns a model's codings."""
    return f"matrixcoder {model_id}"


def export_qdpx(
    documents: Sequence[ExportDocument], model_id: str, codebook: Codebook, out: str | Path, rulings: list[Ruling] | None = None
) -> None:
    """Write documents and their suggestions as a ``.qdpx`` project (atomically).

    Args:
        documents: The documents, each with its suggestions.
        model_id: Names the User that creates every coding.
        codebook: Written as the project's codebook; every suggested code must be in it.
        out: The ``.qdpx`` file.

    Raises:
        ValueError: Two documents share a doc id, or a suggestion is repeated, names a code
            outside the codebook or has offsets outside the text.
    """
    known = set(codebook.label_ids)
    user = stable_guid("user", model_user_name(model_id))
    root = etree.Element(
        f"{{{PROJECT_NS}}}Project",
        nsmap={None: PROJECT_NS},
        name=f"matrixcoder suggestions ({model_id})",
        origin="matrixcoder",
        creatingUserGUID=user,
    )
    users = etree.SubElement(root, _tag("Users"))
    etree.SubElement(users, _tag("User"), guid=user, name=model_user_name(model_id))
    etree.SubElement(root, _tag("CodeBook")).append(codes_element(codebook, PROJECT_NS, rulings))
    sources = etree.SubElement(root, _tag("Sources")) if documents else None
    files: dict[str, bytes] = {}
    seen: set[str] = set()
    for document in documents:
        source_guid = stable_guid("source", document.doc_id)
        if source_guid in seen:
            raise ValueError(f"{document.doc_id}: two documents with this doc id")
        seen.add(source_guid)
        files[f"sources/{source_guid}.txt"] = document.text.encode("utf-8")
        source = etree.SubElement(
            sources,
            _tag("TextSource"),
            guid=source_guid,
            name=document.name,
            plainTextPath=f"internal://{source_guid}.txt",
            creatingUser=user,
        )
        for code_id, start, end, score in document.suggestions:
            if code_id not in known:
                raise ValueError(f"{document.doc_id}: code '{code_id}' is not in codebook {codebook.version}")
            if not 0 <= start <= end <= len(document.text):
                raise ValueError(f"{document.doc_id}: offsets {start}:{end} outside the text (length {len(document.text)})")
            key = f"{document.doc_id}:{code_id}:{start}:{end}"
            if key in seen:
                raise ValueError(f"{document.doc_id}: code {code_id} suggested twice for {start}:{end}")
            seen.add(key)
            selection = etree.SubElement(
                source,
                _tag("PlainTextSelection"),
                guid=stable_guid("selection", key),
                name=f"{code_id} {score:.2f}",
                startPosition=str(start),
                endPosition=str(end),
                creatingUser=user,
            )
            label = codebook.label(code_id)
            etree.SubElement(
                selection, _tag("Description")
            ).text = f"{code_id} – {label.name}: confidence {score:.4f} ({model_user_name(model_id)})"
            coding = etree.SubElement(selection, _tag("Coding"), guid=stable_guid("coding", key), creatingUser=user)
            etree.SubElement(coding, _tag("CodeRef"), targetGUID=code_guid(code_id))
    with atomic_path(out) as temporary:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            _write(archive, "project.qde", etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))
            for name, data in files.items():
                _write(archive, name, data)


def _tag(name: str) -> str:
    return f"{{{PROJECT_NS}}}{name}"


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED)
