"""A review session: the corpus, the model's suggestions for every unit, one coder's decisions,
the active-learning queue, and retraining in the background.

Everything the pages show comes from here; the web layer only renders it. Units are scored
once when the session opens (embeddings come from the shared cache) and again, from the same
embeddings, whenever a retrained model is swapped in.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.errors import InputError
from matrixcoder.inference.aggregate import aggregate
from matrixcoder.labels.codebook import APPROACH_DIMENSION, Codebook
from matrixcoder.labels.rulings import Ruling, rulings_by_code
from matrixcoder.models.bundle import ModelBundle, load_bundle
from matrixcoder.review.learn import retrain
from matrixcoder.review.queue import ActiveQueue, QueuePick, label_margins
from matrixcoder.review.store import ReviewStore, UnitState

__all__ = ["ModelState", "RetrainJob", "ReviewSession", "model_version"]

DECIDE_ACTIONS = ("accept", "reject", "add", "none", "undo")


def model_version(bundle: ModelBundle) -> str:
    """What a decision records as the model it answered: the bundle's name and creation time."""
    return f"{bundle.info.name}@{bundle.info.created}"


@dataclass
class ModelState:
    """One model's view of the corpus: scores per unit, suggested codes per document."""

    bundle: ModelBundle
    version: str
    probabilities: np.ndarray
    relevance: np.ndarray
    predicted: np.ndarray
    thresholds: np.ndarray
    evidence: np.ndarray
    doc_codes: list[list[tuple[int, float, list[int]]]]


@dataclass
class RetrainJob:
    """The state of the background retraining, as the page shows it."""

    state: str = "idle"
    stage: str = ""
    started: float | None = None
    finished: float | None = None
    model: str | None = None
    error: str | None = None
    history: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        elapsed = (self.finished or time.monotonic()) - self.started if self.started else 0.0
        return {
            "state": self.state,
            "stage": self.stage,
            "elapsed": round(elapsed, 1),
            "model": self.model,
            "error": self.error,
            "history": self.history[-8:],
        }


class ReviewSession:
    """The data behind the review app.

    Args:
        documents: One dict per document: doc_id, name, alliance, language, sha256, text.
        units: One dict per unit: doc_id, unit_id, text, start, end (any order).
        codebook: The codebook the model was trained on.
        bundle: The model.
        embedder: Embeds texts with the model's encoder (``embed(texts, description)``).
        store: The review database.
        coder: Whose decisions this session makes and shows.
        rules: The coding rulings, shown with each code.
        examples: Hand-coded units that retraining starts from.
        models_dir: Where retrained models go.
        train_config: Extra ``TrainConfig`` fields for retraining (tests make it small).
    """

    def __init__(
        self,
        documents: list[dict],
        units: list[dict],
        codebook: Codebook,
        bundle: ModelBundle,
        embedder,
        store: ReviewStore,
        coder: str,
        rules: Sequence[Ruling] = (),
        examples: Path | None = None,
        models_dir: Path | None = None,
        train_config: dict | None = None,
    ) -> None:
        self.codebook = codebook
        self.store = store
        self.coder = coder
        self.rules = rulings_by_code(rules, codebook.label_ids)
        self.examples = examples
        self.models_dir = models_dir
        self.train_config = train_config or {}
        self.embedder = embedder
        self._lock = threading.RLock()
        self.job = RetrainJob()
        self.skipped: set[int] = set()

        self.documents = [dict(d) for d in documents]
        self.doc_row = {d["doc_id"]: i for i, d in enumerate(self.documents)}
        by_doc: dict[str, list[dict]] = {d["doc_id"]: [] for d in self.documents}
        for unit in units:
            if unit["doc_id"] not in by_doc:
                raise InputError(unit["unit_id"], f"unit of unknown document {unit['doc_id']}")
            by_doc[unit["doc_id"]].append(unit)
        ordered: list[dict] = []
        for document in self.documents:
            rows = sorted(by_doc[document["doc_id"]], key=lambda u: (u.get("start") or 0, u["unit_id"]))
            document["rows"] = (len(ordered), len(ordered) + len(rows))
            ordered.extend(rows)
        self.units = ordered
        self.row_of = {u["unit_id"]: i for i, u in enumerate(ordered)}
        if len(self.row_of) != len(ordered):
            raise InputError("corpus", "two units share a unit id")
        self.doc_index = np.array([self.doc_row[u["doc_id"]] for u in ordered], dtype=np.int32)
        self.texts = [u["text"] for u in ordered]
        self.embeddings = np.asarray(embedder.embed(self.texts, "embedding units"), dtype=np.float32)
        self.label_ids = codebook.label_ids
        self.label_index = {label: j for j, label in enumerate(self.label_ids)}
        self.model = self._score(bundle)
        self.queue = self._new_queue()

    # -- the model -------------------------------------------------------------------------

    def _score(self, bundle: ModelBundle) -> ModelState:
        bundle.check_codebook(self.codebook)
        probabilities = (
            bundle.probabilities(UnitBatch(self.texts, self.embeddings)) if self.texts else np.zeros((0, len(self.label_ids) + 1))
        )
        labels, relevance = probabilities[:, :-1], probabilities[:, -1]
        thresholds = np.asarray(bundle.thresholds, dtype=float)
        relevant = relevance >= thresholds[-1]
        predicted = (labels >= thresholds[:-1]) & relevant[:, None]
        evidence = np.zeros(len(self.texts), dtype=bool)
        doc_codes = []
        for document in self.documents:
            start, stop = document["rows"]
            summary = aggregate(labels[start:stop], relevant[start:stop], predicted[start:stop])
            codes = []
            for j in np.argsort(-summary.confidence, kind="stable"):
                if summary.evidence_count[j]:
                    rows = [start + r for r in summary.evidence[j]]
                    evidence[rows] = True
                    codes.append((int(j), float(summary.confidence[j]), rows))
            doc_codes.append(codes)
        return ModelState(
            bundle,
            model_version(bundle),
            labels.astype(np.float32),
            relevance.astype(np.float32),
            predicted,
            thresholds,
            evidence,
            doc_codes,
        )

    def _new_queue(self) -> ActiveQueue:
        model = self.model
        margins = label_margins(model.probabilities, model.relevance, model.thresholds)
        reviewed = [self.row_of[u] for u in self.store.states(self.coder) if u in self.row_of]
        return ActiveQueue(margins, self.embeddings, self.doc_index, self.label_ids, reviewed)

    def swap_model(self, bundle: ModelBundle) -> None:
        """Score every unit with another model (same encoder) and rebuild the queue."""
        state = self._score(bundle)
        with self._lock:
            self.model = state
            self.queue = self._new_queue()

    # -- reading ---------------------------------------------------------------------------

    def states(self) -> dict[str, UnitState]:
        self.store.refresh()
        return self.store.states(self.coder)

    def code_info(self, code: str) -> dict:
        label = self.codebook.label(code)
        return {
            "id": label.id,
            "name": label.name,
            "dimension": label.dimension,
            "dimension_name": self.codebook.dimension_name(label.dimension),
            "indicator": label.indicator,
            "rules": [{"id": r.id, "heading": r.id, "text": r.text} for r in self.rules.get(code, [])],
        }

    def codebook_json(self) -> list[dict]:
        """Every code with its dimension, definition and rulings, grouped in dimension order."""
        order = {d.id: d.order for d in self.codebook.dimensions}
        labels = sorted(self.codebook.labels, key=lambda c: order.get(c.dimension, 99) if c.dimension != APPROACH_DIMENSION else 100)
        return [self.code_info(label.id) for label in labels]

    def suggestions(self, row: int) -> list[tuple[str, float]]:
        """The unit's suggested codes, most probable first."""
        model = self.model
        chosen = np.flatnonzero(model.predicted[row])
        chosen = chosen[np.argsort(-model.probabilities[row, chosen], kind="stable")]
        return [(self.label_ids[j], float(model.probabilities[row, j])) for j in chosen]

    def unit_view(self, row: int, state: UnitState | None = None) -> dict:
        """What the page shows of one unit: its text, its chips (suggested and added codes)."""
        unit = self.units[row]
        if state is None:
            state = self.states().get(unit["unit_id"]) or UnitState()
        suggested = self.suggestions(row)
        chips = []
        for code, p in suggested:
            status = state.codes.get(code, "rejected" if state.no_code else "pending")
            chips.append(self._chip(code, status, p, True))
        shown = {code for code, _ in suggested}
        for code, status in state.codes.items():
            if code not in shown and status != "rejected":
                p = float(self.model.probabilities[row, self.label_index[code]])
                chips.append(self._chip(code, status, p, False))
        start, stop = self.documents[self.doc_index[row]]["rows"]
        previous_end = self.units[row - 1]["end"] if row > start else 0
        gap = self.documents[self.doc_index[row]]["text"][previous_end or 0 : unit["start"] or 0] if unit.get("start") is not None else ""
        return {
            "row": row,
            "unit_id": unit["unit_id"],
            "doc_id": unit["doc_id"],
            "text": unit["text"],
            "start": unit.get("start"),
            "end": unit.get("end"),
            "evidence": bool(self.model.evidence[row]),
            "chips": chips,
            "reviewed": state.reviewed,
            "no_code": state.no_code,
            "paragraph": row == start or "\n" in gap,
            "relevance": float(self.model.relevance[row]),
        }

    def _chip(self, code: str, status: str, p: float, suggested: bool) -> dict:
        label = self.codebook.label(code)
        return {
            "code": code,
            "name": label.name,
            "dimension": self.codebook.dimension_name(label.dimension),
            "confidence": p,
            "status": status,
            "suggested": suggested,
        }

    def document_view(self, doc_row: int) -> dict:
        document = self.documents[doc_row]
        start, stop = document["rows"]
        states = self.states()
        units = [self.unit_view(row, states.get(self.units[row]["unit_id"]) or UnitState()) for row in range(start, stop)]
        codes = [
            {**self._chip(self.label_ids[j], "pending", confidence, True), "evidence": [self.units[r]["unit_id"] for r in rows]}
            for j, confidence, rows in self.model.doc_codes[doc_row]
        ]
        return {"document": document, "units": units, "codes": codes, "counts": self._counts(doc_row, states)}

    def _counts(self, doc_row: int, states: dict[str, UnitState]) -> dict:
        start, stop = self.documents[doc_row]["rows"]
        counts = {"units": stop - start, "reviewed": 0, "accepted": 0, "rejected": 0, "added": 0}
        for row in range(start, stop):
            state = states.get(self.units[row]["unit_id"])
            if state is not None:
                counts["reviewed"] += 1
                for status in ("accepted", "rejected", "added"):
                    counts[status] += state.count(status)
        return counts

    def overview(self, alliance: str = "", language: str = "", code: str = "") -> dict:
        """The documents page: one row per document and per alliance, filtered."""
        states = self.states()
        final_by_doc: dict[int, set[str]] = {}
        for unit_id, state in states.items():
            row = self.row_of.get(unit_id)
            if row is not None:
                final_by_doc.setdefault(int(self.doc_index[row]), set()).update(state.final_codes)
        rows = []
        for i, document in enumerate(self.documents):
            if alliance and (document.get("alliance") or "") != alliance:
                continue
            if language and (document.get("language") or "") != language:
                continue
            suggested = {self.label_ids[j] for j, _, _ in self.model.doc_codes[i]}
            if code and code not in suggested and code not in final_by_doc.get(i, set()):
                continue
            rows.append(
                {
                    "index": i,
                    "doc_id": document["doc_id"],
                    "name": document["name"],
                    "alliance": document.get("alliance") or "",
                    "language": document.get("language") or "",
                    "suggested": len(suggested),
                    **self._counts(i, states),
                }
            )
        alliances: dict[str, dict] = {}
        for document in rows:
            total = alliances.setdefault(
                document["alliance"],
                {"alliance": document["alliance"], "documents": 0, "units": 0, "reviewed": 0, "accepted": 0, "rejected": 0, "added": 0},
            )
            total["documents"] += 1
            for key in ("units", "reviewed", "accepted", "rejected", "added"):
                total[key] += document[key]
        return {
            "documents": rows,
            "alliances": sorted(alliances.values(), key=lambda a: a["alliance"]),
            "choices": {
                "alliance": sorted({d.get("alliance") or "" for d in self.documents} - {""}),
                "language": sorted({d.get("language") or "" for d in self.documents} - {""}),
                "code": [(label.id, label.name) for label in self.codebook.labels],
            },
            "totals": {key: sum(r[key] for r in rows) for key in ("units", "reviewed", "accepted", "rejected", "added")},
        }

    def next_in_queue(self) -> QueuePick | None:
        with self._lock:
            self.store.refresh()
            for unit_id in self.store.states(self.coder):
                row = self.row_of.get(unit_id)
                if row is not None:
                    self.queue.mark_reviewed(row)
            return self.queue.next(self.skipped)

    def why(self, pick: QueuePick) -> list[str]:
        model = self.model
        return pick.why(model.probabilities[pick.row], model.thresholds, float(model.relevance[pick.row]), self.label_ids)

    # -- deciding --------------------------------------------------------------------------

    def decide(self, unit_id: str, action: str, code: str | None = None) -> dict:
        """Record one decision of this session's coder; returns the unit's new view.

        Raises:
            LookupError: Unknown unit or code.
            ValueError: An action that does not apply (e.g. accepting with no code).
        """
        row = self.row_of.get(unit_id)
        if row is None:
            raise LookupError(f"unknown unit {unit_id!r}")
        if action not in DECIDE_ACTIONS:
            raise ValueError(f"unknown action {action!r} (expected one of {', '.join(DECIDE_ACTIONS)})")
        if action in ("accept", "reject", "add"):
            if not code or code not in self.label_index:
                raise LookupError(f"unknown code {code!r}")
        elif code:
            raise ValueError(f"action {action!r} takes no code")
        unit = self.units[row]
        document = self.documents[self.doc_index[row]]
        suggested = dict(self.suggestions(row))
        state = self.states().get(unit_id) or UnitState()
        if action == "accept" and code not in suggested:
            action = "add"
        if action == "reject" and code not in suggested and (code is None or state.codes.get(code) not in ("accepted", "added")):
            raise ValueError(f"{code} is neither suggested nor given to this unit; nothing to reject")
        with self._lock:
            self.store.remember_document(
                document["doc_id"],
                document["name"],
                document.get("alliance"),
                document.get("language"),
                document["sha256"],
                document["text"],
            )
            record = {k: unit.get(k) for k in ("doc_id", "unit_id", "text", "start", "end")}
            if action == "undo":
                self.store.undo(coder=self.coder, model=self.model.version, unit=record)
            else:
                self.store.append(coder=self.coder, model=self.model.version, unit=record, action=action, code=code, suggestion=suggested)
                self.queue.mark_reviewed(row)
        return self.unit_view(row)

    def skip(self, unit_id: str) -> None:
        row = self.row_of.get(unit_id)
        if row is None:
            raise LookupError(f"unknown unit {unit_id!r}")
        self.skipped.add(row)

    # -- retraining ------------------------------------------------------------------------

    def start_retrain(self) -> bool:
        """Start retraining in a background thread; False when one is already running."""
        with self._lock:
            if self.job.state == "running":
                return False
            if self.examples is None or self.models_dir is None:
                self.job = RetrainJob(state="failed", error="this session has no examples or model folder to retrain with")
                return False
            self.job = RetrainJob(state="running", stage="starting", started=time.monotonic())
        threading.Thread(target=self._retrain, name="matrixcoder-retrain", daemon=True).start()
        return True

    def _retrain(self) -> None:
        job = self.job

        def progress(message: str) -> None:
            job.stage = message
            job.history.append(message)

        try:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            assert self.models_dir is not None and self.examples is not None  # start_retrain checked both
            out = Path(self.models_dir) / f"review-{stamp}"
            bundle = self.model.bundle
            result = retrain(
                self.store,
                self.examples,
                out,
                self.codebook,
                encoder=bundle.info.encoder.name,
                coder=bundle.info.training_data.coder,
                progress=progress,
                config=self.train_config,
            )
            progress("scoring the corpus with the new model")
            new = load_bundle(out, self.codebook)
            if new.info.encoder.fingerprint != bundle.info.encoder.fingerprint:
                raise InputError(out, "was trained with another encoder than the model in use")
            self.swap_model(new)
            decisions = len(self.store.decisions())
            self.store.record_model(coder=self.coder, path=out, version=self.model.version, decisions=decisions)
            job.model = self.model.version
            cv = result.bundle.info.cv
            progress(f"done: {out.name} swapped in (cross-validated macro-F1 {cv.macro_f1:.3f}, mean kappa {cv.mean_kappa:.3f})")
            job.state = "done"
        except InputError as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # the thread must report, never die silently
            traceback.print_exc()
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished = time.monotonic()
