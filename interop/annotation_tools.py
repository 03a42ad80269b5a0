"""Sentence units to and from Label Studio, Prodigy and doccano (multi-label text classification).

Export writes one task per unit, with the model's predicted codes as pre-annotations when
predictions are given (the output of ``matrixcoder predict``). Each task keeps ``unit_id``,
``doc_id`` and the offsets, so the reviewed annotations come back as coded units:

- Label Studio: a JSON list of tasks with ``predictions`` (scored by the mean probability of
  the suggested codes), plus a labelling config (one ``Choices`` group per dimension, choice
  values are code ids). Import reads the project's
  JSON export; each annotation's ``completed_by`` (e-mail, else user id) is the coder and
  cancelled (skipped) annotations are left out.
- Prodigy: JSONL for the ``choice`` interface (``options``, pre-selected ``accept``); run it
  with ``"choice_style": "multiple"``. Import reads ``prodigy db-out``: answers ``accept``
  are judgements, ``reject`` and ``ignore`` are left out; ``_annotator_id`` (else
  ``_session_id``) is the coder.
- doccano: JSONL with ``text`` and ``label``. Import reads an export (``.jsonl``, or the
  export ``.zip`` with one file per user, each user a coder); export only approved examples,
  as unreviewed ones still carry the pre-annotations.

A unit annotated twice by one coder keeps the later annotation (and a note says so).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lxml import etree

from matrixcoder.archive import ReadLimits, SafeArchive
from matrixcoder.errors import InputError
from matrixcoder.fileio import atomic_path, parse_json, parse_jsonl_lines, read_jsonl, write_jsonl
from matrixcoder.labels.codebook import APPROACH_DIMENSION, Codebook
from matrixcoder.labels.coded_units import CodedUnit

__all__ = [
    "TaskUnit",
    "ToolImport",
    "export_doccano",
    "export_labelstudio",
    "labelstudio_config_path",
    "export_prodigy",
    "import_doccano",
    "import_labelstudio",
    "import_prodigy",
    "labelstudio_config",
    "read_task_units",
]

_TEXT = "text"
_MODEL_VERSION = "matrixcoder"


@dataclass(frozen=True)
class TaskUnit:
    """A unit to annotate, with the model's suggestion when there is one.

    Attributes:
        codes: Suggested code ids, most probable first; None when nothing was predicted.
        scores: Probability of each suggested code.
    """

    doc_id: str
    unit_id: str
    text: str
    start: int | None = None
    end: int | None = None
    codes: tuple[str, ...] | None = None
    scores: dict[str, float] | None = None

    def fields(self) -> dict:
        """The unit's identity and text, as stored in every tool's task."""
        record = {"unit_id": self.unit_id, "doc_id": self.doc_id, _TEXT: self.text}
        return record | ({"start": self.start, "end": self.end} if self.start is not None else {})


@dataclass(frozen=True)
class ToolImport:
    """Coded units read back from a tool, and one-line notes on what was left out."""

    units: list[CodedUnit]
    notes: list[str]


def read_task_units(units: str | Path, codebook: Codebook, predictions: str | Path | None = None) -> list[TaskUnit]:
    """Read units (``doc_id``, ``unit_id``, ``text``; ``start``/``end`` kept) and join predictions.

    Args:
        units: JSON Lines, e.g. coded units or units from a corpus.
        codebook: Predicted codes must be in it.
        predictions: ``matrixcoder predict`` output (``unit_id``, ``codes``, ``scores``).

    Raises:
        InputError: A missing field, a duplicate unit id, an unknown code, or a prediction
            for a unit not in ``units``.
    """
    found: dict[str, TaskUnit] = {}
    for number, record in read_jsonl(units):
        unit = _task_unit(f"{units}:{number}", record)
        if unit.unit_id in found:
            raise InputError(f"{units}:{number}", f"unit {unit.unit_id} appears twice (give each unit once)")
        found[unit.unit_id] = unit
    if not found:
        raise InputError(units, "no units")
    known = set(codebook.label_ids)
    for number, record in read_jsonl(predictions) if predictions else ():
        where = f"{predictions}:{number}"
        predicted = found.get(str(record.get("unit_id")))
        if predicted is None:
            raise InputError(where, f"prediction for unit '{record.get('unit_id')}', which is not in {units}")
        codes, scores = record.get("codes"), record.get("scores") or {}
        if not isinstance(codes, list) or not isinstance(scores, dict) or any(code not in known for code in codes):
            raise InputError(where, "'codes' must list codebook ids and 'scores' map ids to probabilities")
        found[predicted.unit_id] = TaskUnit(
            predicted.doc_id,
            predicted.unit_id,
            predicted.text,
            predicted.start,
            predicted.end,
            tuple(codes),
            {code: float(scores[code]) for code in codes if isinstance(scores.get(code), (int, float))},
        )
    return list(found.values())


def labelstudio_config(codebook: Codebook) -> str:
    """A Label Studio labelling config: the text, then one multiple-choice group per dimension."""
    view = etree.Element("View")
    etree.SubElement(view, "Text", name=_TEXT, value=f"${_TEXT}")
    for dimension, name in _groups(codebook):
        etree.SubElement(view, "Header", value=name)
        choices = etree.SubElement(view, "Choices", name=dimension, toName=_TEXT, choice="multiple", showInline="true")
        for label in codebook.labels:
            if label.dimension == dimension:
                etree.SubElement(choices, "Choice", value=label.id, html=f"<b>{label.id}</b> {label.name}", hint=label.indicator)
    return etree.tostring(view, encoding="unicode", pretty_print=True)


def labelstudio_config_path(out: str | Path) -> Path:
    """Where :func:`export_labelstudio` writes the labelling config for tasks file ``out``."""
    out = Path(out)
    return out.with_name(f"{out.stem}-config.xml")


def export_labelstudio(units: Iterable[TaskUnit], codebook: Codebook, out: str | Path) -> Path:
    """Write Label Studio tasks (JSON) and, beside them, the labelling config; returns its path."""
    out = Path(out)
    config = labelstudio_config_path(out)
    tasks = []
    for unit in units:
        task: dict = {"data": unit.fields()}
        if unit.codes is not None:
            prediction: dict = {"model_version": _MODEL_VERSION, "result": _choices_results(unit.codes, codebook)}
            if unit.scores:
                prediction["score"] = round(sum(unit.scores.values()) / len(unit.scores), 4)
            task["predictions"] = [prediction]
        tasks.append(task)
    with atomic_path(out) as temporary, atomic_path(config) as config_temporary:
        temporary.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
        config_temporary.write_text(labelstudio_config(codebook), encoding="utf-8")
    return config


def _choices_results(codes: tuple[str, ...], codebook: Codebook) -> list[dict]:
    by_dimension: dict[str, list[str]] = {}
    for code in codes:
        by_dimension.setdefault(codebook.label(code).dimension, []).append(code)
    return [
        {"from_name": dimension, "to_name": _TEXT, "type": "choices", "value": {"choices": chosen}}
        for dimension, chosen in by_dimension.items()
    ]


def export_prodigy(units: Iterable[TaskUnit], codebook: Codebook, out: str | Path) -> None:
    """Write Prodigy ``choice`` tasks: every label an option, the suggestion pre-selected."""
    options = [{"id": label.id, "text": f"{label.id} – {label.name}"} for label in codebook.labels]
    records = []
    for unit in units:
        suggested = ", ".join(f"{code} {(unit.scores or {}).get(code, 0):.2f}" for code in unit.codes) if unit.codes else ""
        record = unit.fields() | {"options": options, "accept": list(unit.codes or ())}
        records.append(record | {"meta": {"unit": unit.unit_id} | ({"suggested": suggested} if suggested else {})})
    write_jsonl(out, records)


def export_doccano(units: Iterable[TaskUnit], out: str | Path) -> None:
    """Write doccano text-classification JSONL; the suggestion is the pre-set ``label``."""
    write_jsonl(out, (unit.fields() | {"label": list(unit.codes or ())} for unit in units))


def import_labelstudio(path: str | Path, codebook: Codebook) -> ToolImport:
    """Read a Label Studio JSON export: one coded unit per task and (not cancelled) annotation.

    Raises:
        InputError: Not a JSON list of tasks, a task without unit fields, an annotation whose
            ``result``, ``value`` or ``choices`` has the wrong shape, or an unknown code.
    """
    path = Path(path)
    tasks = _read_labelstudio(path)
    collector = _Collector(codebook)
    for number, task in enumerate(tasks):
        where = f"{path}: task {number}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise InputError(where, "a task needs a 'data' object")
        unit = _task_unit(where, task["data"])
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            raise InputError(where, "'annotations' must be a list")
        annotations = [a for a in annotations if isinstance(a, dict)]
        cancelled = [a for a in annotations if a.get("was_cancelled")]
        if cancelled:
            collector.notes.append(f"task {number} ({unit.unit_id}): {len(cancelled)} cancelled annotations left out")
        for annotation in annotations:
            if annotation.get("was_cancelled"):
                continue
            collector.add(where, unit, _labelstudio_choices(where, annotation), _labelstudio_coder(annotation.get("completed_by")))
    return collector.result(path)


def _read_labelstudio(path: Path) -> list:
    """The tasks of a Label Studio JSON export; any reason it cannot be read is an InputError."""
    if path.is_dir():
        raise InputError(path, "is a folder; expected Label Studio's JSON export")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except UnicodeDecodeError:
        raise InputError(path, "not a JSON file (export the Label Studio project as JSON)") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        tasks = parse_json(str(path), text)
    except InputError as exc:
        hint = " (export the Label Studio project as JSON)" if exc.problem.startswith("malformed") else ""
        raise InputError(path, exc.problem + hint) from None
    if not isinstance(tasks, list):
        raise InputError(path, "expected a JSON list of tasks (Label Studio's JSON export)")
    return tasks


def _labelstudio_choices(where: str, annotation: dict) -> list:
    """The code ids an annotation chose: the ``choices`` of its ``choices`` results."""
    results = annotation.get("result") or []
    if not isinstance(results, list):
        raise InputError(where, "an annotation's 'result' must be a list")
    chosen = []
    for result in results:
        if not isinstance(result, dict) or result.get("type") != "choices":
            continue
        value = result.get("value") or {}
        if not isinstance(value, dict):
            raise InputError(where, "a choices result's 'value' must be an object with 'choices'")
        choices = value.get("choices") or []
        if not isinstance(choices, list):
            raise InputError(where, "'choices' must be a list of code ids")
        chosen.extend(choices)
    return chosen


def _labelstudio_coder(completed_by: object) -> str:
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or completed_by.get("id") or "labelstudio")
    return f"labelstudio user {completed_by}" if completed_by is not None else "labelstudio"


def import_prodigy(path: str | Path, codebook: Codebook) -> ToolImport:
    """Read ``prodigy db-out`` JSONL: accepted answers become coded units.

    Raises:
        InputError: Malformed JSONL, a line without unit fields, or an unknown code.
    """
    collector = _Collector(codebook)
    skipped: dict[str, int] = {}
    for number, record in read_jsonl(path):
        where = f"{path}:{number}"
        if record.get("answer") != "accept":
            skipped[str(record.get("answer"))] = skipped.get(str(record.get("answer")), 0) + 1
            continue
        coder = record.get("_annotator_id") or record.get("_session_id") or "prodigy"
        collector.add(where, _task_unit(where, record), record.get("accept") or [], str(coder))
    collector.notes.extend(f"{n} answers '{answer}' left out" for answer, n in skipped.items())
    return collector.result(path)


def import_doccano(path: str | Path, codebook: Codebook, coder: str | None = None, limits: ReadLimits = ReadLimits()) -> ToolImport:
    """Read a doccano export: a ``.jsonl`` file (coder: ``coder``, else the file name) or a
    ``.zip`` of them (each member's name is its coder).

    Raises:
        InputError: Unsafe archive, malformed JSONL, a line without unit fields, or an unknown code.
    """
    path = Path(path)
    collector = _Collector(codebook)
    if path.suffix.lower() == ".zip":
        with SafeArchive(path, limits) as archive:
            for name in archive.names():
                if name.lower().endswith(".jsonl"):
                    try:
                        lines = archive.read(name).decode("utf-8-sig").splitlines()
                    except UnicodeDecodeError:
                        raise InputError(f"{path}:{name}", "not UTF-8 text") from None
                    _doccano_lines(collector, f"{path}:{name}", lines, coder or PurePosixPath(name).stem)
    else:
        for number, record in read_jsonl(path):
            _doccano_record(collector, f"{path}:{number}", record, coder or path.stem)
    return collector.result(path)


def _doccano_lines(collector: _Collector, where: str, lines: list[str], coder: str) -> None:
    for number, record in parse_jsonl_lines(where, lines):
        _doccano_record(collector, f"{where}:{number}", record, coder)


def _doccano_record(collector: _Collector, where: str, record: dict, coder: str) -> None:
    # doccano keeps extra import fields top-level or, in some versions, under "meta".
    meta = record.get("meta")
    fields = (meta if isinstance(meta, dict) else {}) | record
    labels = record.get("label", record.get("labels")) or []
    collector.add(where, _task_unit(where, fields), labels, coder)


def _task_unit(where: str, record: dict) -> TaskUnit:
    for key in ("doc_id", "unit_id", _TEXT):
        if not isinstance(record.get(key), str) or not record[key]:
            raise InputError(where, f"'{key}' must be a non-empty string (was the task exported by matrixcoder?)")
    start, end = record.get("start"), record.get("end")
    offsets = isinstance(start, int) and isinstance(end, int) and 0 <= start <= end
    return TaskUnit(record["doc_id"], record["unit_id"], record[_TEXT], start if offsets else None, end if offsets else None)


class _Collector:
    """Gathers one coded unit per (unit, coder), checking codes; later annotations win."""

    def __init__(self, codebook: Codebook) -> None:
        self.known = set(codebook.label_ids)
        self.order = {label_id: i for i, label_id in enumerate(codebook.label_ids)}
        self.units: dict[tuple[str, str], CodedUnit] = {}
        self.notes: list[str] = []

    def add(self, where: str, unit: TaskUnit, codes: object, coder: str) -> None:
        if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
            raise InputError(where, "the chosen labels must be a list of code ids")
        unknown = [code for code in codes if code not in self.known]
        if unknown:
            raise InputError(where, f"'{unknown[0]}' is not a code id of the codebook")
        key = (unit.unit_id, coder)
        if key in self.units:
            self.notes.append(f"{where}: unit {unit.unit_id} annotated again by {coder}; the later annotation is kept")
        codes = sorted(set(codes), key=self.order.__getitem__)
        self.units[key] = CodedUnit(unit.doc_id, unit.unit_id, unit.text, tuple(codes), coder, unit.start, unit.end)

    def result(self, path: str | Path) -> ToolImport:
        if not self.units:
            raise InputError(path, "no annotations to import")
        return ToolImport(list(self.units.values()), self.notes)


def _groups(codebook: Codebook) -> list[tuple[str, str]]:
    dimensions = [(d.id, f"{d.order}. {d.name}") for d in sorted(codebook.dimensions, key=lambda d: d.order) if d.has_codes]
    return dimensions + [(APPROACH_DIMENSION, codebook.dimension_name(APPROACH_DIMENSION))]
