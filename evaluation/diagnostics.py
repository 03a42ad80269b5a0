"""Codebook diagnostics for methodologists: where the matrix's codes overlap, get confused or lack evidence.

Evidence comes from four places:

* Definitions: cosine similarity between the codes' texts ("name: indicator") under a sentence
  encoder. Every indicator speaks of micro-credentials, so similarities are high across the
  board; a pair counts as overlapping when its similarity is above the ``overlap_quantile``
  quantile of all pairs (the most similar 2% by default).
* Practice: code confusions between human coders on the same unit (see
  :mod:`matrixcoder.evaluation.confusion`), with example units, and per-label agreement;
  given the model's codes for the same units, also the codes the model gives where a human
  coder gave another.
* Evidence: labels carried by fewer than ``rare_units`` doubly coded units, whose reliability
  cannot be estimated.
* Structure: dimensions without codes (recognition mechanisms in the paper).

Suggestions follow fixed rules, each quoting its evidence:

* merge: two codes of the same dimension whose definitions overlap and that coders confuse
  (at least ``min_confusions`` units) or give together (co-occurrence Jaccard at least
  ``min_cooccurrence``).
* split: a code with alpha below ``low_agreement`` that coders confuse with two or more codes.
* clarify: a confused pair not suggested for merging; a pair the model confuses on at least
  ``min_model_confusions`` units; a same-dimension definition overlap with no practice
  evidence; a code with low agreement whose disagreements are omissions.
* double-code: a label too rare to estimate reliability.
* add codes: a dimension without codes, with the existing codes nearest to its description.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matrixcoder.encoding.embeddings import TextEncoder
from matrixcoder.evaluation.coding_agreement import AgreementResult, BootstrapConfig, CodingTable, label_agreement
from matrixcoder.evaluation.confusion import NONE, Confusion, code_confusions
from matrixcoder.evaluation.human_agreement import RARE_UNITS
from matrixcoder.evaluation.model_vs_human import MODEL
from matrixcoder.evaluation.plots import TENTATIVE
from matrixcoder.evaluation.reports import Report, Section, Table
from matrixcoder.labels.codebook import Codebook

__all__ = ["DiagnoseConfig", "Diagnosis", "Suggestion", "diagnose", "diagnosis_report"]


@dataclass(frozen=True)
class DiagnoseConfig:
    """Thresholds of the diagnostics (see the module docstring)."""

    overlap_quantile: float = 0.98
    min_confusions: int = 2
    # The model codes every unit, so its confusions need more units to stand out from noise.
    min_model_confusions: int = 8
    min_cooccurrence: float = 0.5
    rare_units: int = RARE_UNITS
    low_agreement: float = TENTATIVE
    examples: int = 2
    nearest: int = 3


@dataclass(frozen=True)
class Suggestion:
    """One concrete change to the codebook and why."""

    action: str
    codes: tuple[str, ...]
    evidence: str

    def to_json(self) -> dict:
        return {"action": self.action, "codes": list(self.codes), "evidence": self.evidence}


@dataclass(frozen=True)
class Diagnosis:
    """Everything ``codebook diagnose`` found.

    Attributes:
        threshold: Similarity above which two definitions overlap.
        overlaps: ``(p, q, similarity, same dimension)``, most similar first.
        confusions: ``(p, q, units, examples)`` for pairs confused at least ``min_confusions`` times.
        model_confusions: The same for the model against each human coder, at least
            ``min_model_confusions`` times; empty without model codes.
        rare: ``(label, doubly coded units with it)`` below ``rare_units``.
        empty_dimensions: ``(dimension id, name, nearest codes with similarity)``.
        suggestions: The suggestions.
        notes: What could not be diagnosed and why.
    """

    threshold: float
    overlaps: list[tuple[str, str, float, bool]]
    confusions: list[tuple[str, str, int, list[dict]]]
    model_confusions: list[tuple[str, str, int, list[dict]]]
    rare: list[tuple[str, int]]
    empty_dimensions: list[tuple[str, str, list[tuple[str, float]]]]
    suggestions: list[Suggestion]
    notes: list[str]

    def to_json(self) -> dict:
        return {
            "overlap_threshold": self.threshold,
            "overlaps": [{"codes": [p, q], "similarity": s, "same_dimension": d} for p, q, s, d in self.overlaps],
            "confusions": [{"codes": [p, q], "units": n, "examples": e} for p, q, n, e in self.confusions],
            "model_confusions": [{"codes": [p, q], "units": n, "examples": e} for p, q, n, e in self.model_confusions],
            "rare": [{"label": label, "doubly_coded_units": n} for label, n in self.rare],
            "dimensions_without_codes": [
                {"dimension": d, "name": name, "nearest_codes": [{"code": c, "similarity": s} for c, s in near]}
                for d, name, near in self.empty_dimensions
            ],
            "suggestions": [s.to_json() for s in self.suggestions],
            "notes": self.notes,
        }


def diagnose(
    codebook: Codebook,
    encoder: TextEncoder,
    table: CodingTable | None = None,
    config: DiagnoseConfig = DiagnoseConfig(),
    bootstrap: BootstrapConfig = BootstrapConfig(),
    model: np.ndarray | None = None,
) -> Diagnosis:
    """Diagnose the codebook, from its definitions and, given coded units, from practice.

    Args:
        codebook: The codebook.
        encoder: Sentence encoder (``encode(texts)`` gives unit-length rows).
        table: Human coding, or None for definitions only.
        config: Thresholds.
        bootstrap: Bootstrap settings of the agreement figures used as evidence.
        model: The model's decisions (units x labels, aligned with ``table``), ideally from
            folds that did not see the units; None to diagnose from human coding alone.
    """
    labels = codebook.labels
    vectors = _unit_rows(encoder.encode([f"{label.name}: {label.indicator}" for label in labels]))
    similarity = vectors @ vectors.T
    upper = np.triu_indices(len(labels), k=1)
    threshold = float(np.quantile(similarity[upper], config.overlap_quantile))
    overlaps = sorted(
        (
            (labels[i].id, labels[j].id, round(float(similarity[i, j]), 3), labels[i].dimension == labels[j].dimension)
            for i, j in zip(*upper, strict=False)
            if similarity[i, j] > threshold
        ),
        key=lambda row: -row[2],
    )
    notes: list[str] = []
    result = confusion = None
    if table is None:
        notes.append("No coded units given: only the definitions were diagnosed.")
    elif len(table.coders) < 2 or not (table.coded.sum(axis=0) >= 2).any():
        notes.append("Fewer than two coders on any unit: no disagreements to learn confusions and reliability from.")
    else:
        result = label_agreement(table, codebook, bootstrap)
        confusion = code_confusions(table, list(itertools.combinations(table.coders, 2)), config.examples)
    confusions = _confusions(confusion, config.min_confusions, config.examples) if confusion else []
    model_confusions = _model_confusions(table, model, config) if table is not None and model is not None else []
    rare = [(label.label, label.n_with_label) for label in result.labels if label.n_with_label < config.rare_units] if result else []
    empty = _empty_dimensions(codebook, encoder, vectors, config)
    suggestions = _suggest(codebook, table, result, confusion, overlaps, confusions, model_confusions, rare, empty, config)
    return Diagnosis(threshold, overlaps, confusions, model_confusions, rare, empty, suggestions, notes)


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=float)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _confusions(confusion: Confusion, minimum: int, examples: int) -> list[tuple[str, str, int, list[dict]]]:
    return [
        (p, q, n, [example.to_json() for example in confusion.examples_of(p, q)[:examples]]) for p, q, n in confusion.top() if n >= minimum
    ]


def _model_confusions(table: CodingTable, model: np.ndarray, config: DiagnoseConfig) -> list[tuple[str, str, int, list[dict]]]:
    with_model = table.with_coder(MODEL, np.ones(len(table.unit_ids), dtype=bool), np.asarray(model, dtype=bool))
    confusion = code_confusions(with_model, [(coder, MODEL) for coder in table.coders], config.examples)
    return _confusions(confusion, config.min_model_confusions, config.examples)


def _empty_dimensions(codebook: Codebook, encoder: TextEncoder, vectors: np.ndarray, config: DiagnoseConfig):
    empty = [d for d in sorted(codebook.dimensions, key=lambda d: d.order) if not d.has_codes]
    if not empty:
        return []
    described = _unit_rows(encoder.encode([f"{d.name}: {d.description}" for d in empty]))
    found = []
    for dimension, row in zip(empty, described @ vectors.T, strict=False):
        order = np.argsort(-row)[: config.nearest]
        found.append((dimension.id, dimension.name, [(codebook.labels[k].id, round(float(row[k]), 3)) for k in order]))
    return found


def _cooccurrence(table: CodingTable, p: str, q: str) -> float:
    """Jaccard index of the (coder, unit) codings carrying p and those carrying q."""
    i, j = table.label_ids.index(p), table.label_ids.index(q)
    with_p, with_q = table.codes[:, :, i], table.codes[:, :, j]
    either = (with_p | with_q).sum()
    return float((with_p & with_q).sum() / either) if either else 0.0


def _suggest(
    codebook: Codebook,
    table: CodingTable | None,
    result: AgreementResult | None,
    confusion: Confusion | None,
    overlaps: Sequence[tuple[str, str, float, bool]],
    confusions: Sequence[tuple[str, str, int, list[dict]]],
    model_confusions: Sequence[tuple[str, str, int, list[dict]]],
    rare: Sequence[tuple[str, int]],
    empty: Sequence[tuple[str, str, list[tuple[str, float]]]],
    config: DiagnoseConfig,
) -> list[Suggestion]:
    suggestions: list[Suggestion] = []
    confused = {frozenset((p, q)): n for p, q, n, _ in confusions}
    similar = {frozenset((p, q)): s for p, q, s, _ in overlaps}
    handled: set[frozenset] = set()
    for p, q, s, same in overlaps:
        pair = frozenset((p, q))
        together = _cooccurrence(table, p, q) if table is not None else 0.0
        units = confused.get(pair, 0)
        if same and (units >= config.min_confusions or together >= config.min_cooccurrence):
            suggestions.append(
                Suggestion(
                    "merge",
                    (p, q),
                    f"definitions overlap (similarity {s:.3f}, top {1 - config.overlap_quantile:.0%} of pairs); "
                    f"coders confused them on {units} unit(s); given together on {together:.0%} of codings with either",
                )
            )
            handled.add(pair)
    for p, q, units, examples in confusions:
        pair = frozenset((p, q))
        if pair in handled:
            continue
        overlap = f"; definitions overlap (similarity {similar[pair]:.3f})" if pair in similar else ""
        example = f'; e.g. {examples[0]["unit_id"]}: "{examples[0]["text"][:100]}"' if examples else ""
        suggestions.append(
            Suggestion("clarify", (p, q), f"coders gave one where the other gave the other on {units} unit(s){overlap}{example}")
        )
        handled.add(pair)
    for p, q, units, examples in model_confusions:
        if frozenset((p, q)) in handled:
            continue
        example = f'; e.g. {examples[0]["unit_id"]}: "{examples[0]["text"][:100]}"' if examples else ""
        suggestions.append(Suggestion("clarify", (p, q), f"the model gave one where a coder gave the other on {units} unit(s){example}"))
        handled.add(frozenset((p, q)))
    for p, q, s, same in overlaps:
        if same and frozenset((p, q)) not in handled:
            suggestions.append(
                Suggestion("clarify", (p, q), f"definitions overlap (similarity {s:.3f}) within one dimension; add a decision rule")
            )
    if result is not None and confusion is not None:
        suggestions += _low_agreement(result, confusion, config)
    if rare:
        counts = ", ".join(f"{label} ({n})" for label, n in rare)
        suggestions.append(
            Suggestion(
                "double-code",
                tuple(label for label, _ in rare),
                f"{len(rare)} label(s) are carried by fewer than {config.rare_units} doubly coded units, so their "
                f"reliability cannot be estimated: {counts}; double-code more units that carry them",
            )
        )
    for dimension, name, nearest in empty:
        near = ", ".join(f"{code} ({s:.3f})" for code, s in nearest)
        suggestions.append(
            Suggestion(
                "add codes",
                (dimension,),
                f"dimension '{name}' has no codes in the codebook (the paper names it but gives none); "
                f"the codes nearest to its description are {near}",
            )
        )
    return suggestions


def _low_agreement(result: AgreementResult, confusion: Confusion, config: DiagnoseConfig) -> list[Suggestion]:
    found = []
    both = confusion.symmetric()
    for label in result.labels:
        alpha = label.alpha.value
        if alpha is None or alpha >= config.low_agreement or label.n_with_label < config.rare_units:
            continue
        k = confusion.labels.index(label.label)
        partners = [confusion.labels[m] for m in np.flatnonzero(both[k]) if confusion.labels[m] != NONE]
        omissions = int(both[k, confusion.labels.index(NONE)])
        if len(partners) >= 2:
            found.append(
                Suggestion(
                    "split",
                    (label.label,),
                    f"alpha {alpha:.3f} below {config.low_agreement:.3f}; confused with {len(partners)} codes "
                    f"({', '.join(partners)}): it may hold several meanings",
                )
            )
        else:
            found.append(
                Suggestion(
                    "clarify",
                    (label.label,),
                    f"alpha {alpha:.3f} below {config.low_agreement:.3f}; in {omissions} unit(s) one coder gave it and the "
                    "other gave nothing instead: state when it applies",
                )
            )
    return found


def diagnosis_report(diagnosis: Diagnosis, codebook: Codebook, source: str) -> Report:
    """The diagnosis as a report (Markdown, JSON, HTML)."""
    name = {label.id: label.name for label in codebook.labels}
    suggestions = Table(
        "Suggestions",
        ["action", "codes", "evidence"],
        [[s.action, " + ".join(s.codes), s.evidence] for s in diagnosis.suggestions] or [["–", "", "none"]],
    )
    overlaps = Table(
        f"Overlapping definitions (similarity above {diagnosis.threshold:.3f})",
        ["code", "code", "similarity", "same dimension"],
        [[f"{p} {name[p]}", f"{q} {name[q]}", f"{s:.3f}", "yes" if d else "no"] for p, q, s, d in diagnosis.overlaps],
    )
    confusions = Table(
        "Codes confused in practice (coder disagreements on the same unit)",
        ["code", "code", "units", "examples"],
        [[p, q, str(n), " | ".join(f"{e['unit_id']}: {e['text'][:100]}" for e in examples)] for p, q, n, examples in diagnosis.confusions],
    )
    model_confusions = Table(
        "Codes the model confuses (its codes against each coder's on the same unit)",
        ["code", "code", "units", "examples"],
        [
            [p, q, str(n), " | ".join(f"{e['unit_id']}: {e['text'][:100]}" for e in examples)]
            for p, q, n, examples in diagnosis.model_confusions
        ],
    )
    rare = Table(
        "Codes too rare to estimate reliability",
        ["label", "name", "doubly coded units with it"],
        [[label, name[label], str(n)] for label, n in diagnosis.rare],
    )
    empty = Table(
        "Dimensions without codes",
        ["dimension", "name", "nearest codes"],
        [[d, n, ", ".join(f"{c} ({s:.3f})" for c, s in near)] for d, n, near in diagnosis.empty_dimensions],
    )
    sections = [
        Section("Source", [f"Coded units: {source}.", *diagnosis.notes]),
        Section("Suggestions", tables=[suggestions]),
        Section("Evidence", tables=[overlaps, confusions, model_confusions, rare, empty]),
    ]
    data = {"source": source, "codebook": {"version": codebook.version, "content_hash": codebook.content_hash}}
    return Report("diagnose", "Codebook diagnostics", data | diagnosis.to_json(), sections, console_tables=(0,))
