"""What a model bundle says about itself (``bundle.json``), as frozen, typed records.

Readers of ``bundle.json`` used to look its keys up by string, so a missing or mistyped field
failed wherever it was first read, as a ``KeyError`` far from the file. Here the file is checked
once, when the bundle loads, and a damaged or hand-edited field is named with its file; past that
point fields are attributes, which mypy checks.

:meth:`BundleInfo.to_json` gives back the keys the file had, in the order training writes them:
the fields older bundles lack (``training_data.writers``, ``training_data.unit_keys``,
``cv.scheme``, ``mlflow``) are None here and left out there, so every existing bundle loads, and
its description (which the score cache hashes) is the same as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matrixcoder.errors import InputError

__all__ = [
    "BUNDLE_FORMAT",
    "RELEVANCE",
    "ZERO_SHOT",
    "BundleInfo",
    "CVInfo",
    "CodebookRef",
    "ConfigInfo",
    "EncoderInfo",
    "LabelInfo",
    "MlflowRef",
    "TrainingDataInfo",
    "shown",
]

BUNDLE_FORMAT = "matrixcoder-model/1"
# Name of the last row of the linear layer: the gate "this unit carries any code".
RELEVANCE = "relevance"
# Mode of a label scored by similarity to its indicator text (too few positives for a head).
ZERO_SHOT = "zero-shot"


@dataclass(frozen=True)
class EncoderInfo:
    """The encoder whose embeddings the model learnt from: it scores only with that one.

    Attributes:
        name: Encoder name or folder, as :func:`~matrixcoder.encoding.embeddings.load_encoder` takes it.
        fingerprint: Hash of the encoder's files; another fingerprint means other embeddings.
        dim: Embedding dimension, the columns of ``coef_embedding``.
    """

    name: str
    fingerprint: str
    dim: int

    def to_json(self) -> dict:
        return {"name": self.name, "fingerprint": self.fingerprint, "dim": self.dim}


@dataclass(frozen=True)
class CodebookRef:
    """The codebook the model was trained on, so that another one is refused rather than misread.

    Attributes:
        name: The codebook's title (for the model card).
        version: Its version, as the user knows it.
        content_hash: Hash of its content: what decides whether two codebooks are the same.
    """

    name: str
    version: str
    content_hash: str

    def to_json(self) -> dict:
        return {"name": self.name, "version": self.version, "content_hash": self.content_hash}


@dataclass(frozen=True)
class TrainingDataInfo:
    """The hand-coded units the model learnt from, so that ``evaluate`` never scores them as unseen.

    Attributes:
        path: The examples file as given to ``train`` (it may have moved since).
        sha256: Its hash, which recognises the file wherever it now is.
        coder: Whose codes were learnt.
        units: Training units.
        documents: Documents they came from.
        empty_units: Units coded with no code.
        writers: Writers named in the examples; None in bundles from before writers were recorded.
        unit_keys: Document id + text hash of every training unit, concatenated
            (:func:`~matrixcoder.labels.coded_units.unit_keys`); None in older bundles.
    """

    path: str
    sha256: str
    coder: str
    units: int
    documents: int
    empty_units: int
    writers: int | None = None
    unit_keys: str | None = None

    def to_json(self) -> dict:
        content: dict[str, Any] = {
            "path": self.path,
            "sha256": self.sha256,
            "coder": self.coder,
            "units": self.units,
            "documents": self.documents,
        }
        if self.writers is not None:
            content["writers"] = self.writers
        content["empty_units"] = self.empty_units
        if self.unit_keys is not None:
            content["unit_keys"] = self.unit_keys
        return content


@dataclass(frozen=True)
class LabelInfo:
    """One row of the linear layer, in codebook order.

    Attributes:
        id: The label id.
        mode: ``"head"`` (a trained logistic head) or ``"zero-shot"`` (similarity to its indicator text).
        support: Positive training units.
    """

    id: str
    mode: str
    support: int

    @property
    def zero_shot(self) -> bool:
        return self.mode == ZERO_SHOT

    def to_json(self) -> dict:
        return {"id": self.id, "mode": self.mode, "support": self.support}


@dataclass(frozen=True)
class ConfigInfo:
    """The training settings that shaped the model (``train``'s, less encoder, coder and --compare).

    Attributes:
        n_splits: Folds asked for (fewer were used when there were fewer documents: see :class:`CVInfo`).
        C: Inverse regularisation strength of the logistic heads.
        min_positives: Labels with fewer positive units were given no head (scored zero-shot).
        random_state: Seed of the fold shuffles.
        gold_weight: Weight, in the heads' loss, of a unit whose codes were adjudicated; None in
            bundles written before it was recorded, which weighed every unit alike.
    """

    n_splits: int
    C: float
    min_positives: int
    random_state: int
    gold_weight: float | None = None

    def to_json(self) -> dict:
        return {
            "n_splits": self.n_splits,
            "C": self.C,
            "min_positives": self.min_positives,
            "random_state": self.random_state,
        } | ({} if self.gold_weight is None else {"gold_weight": self.gold_weight})


@dataclass(frozen=True)
class CVInfo:
    """How the model was cross-validated, and its headline figures.

    Attributes:
        n_splits: Folds per repeat (writers, or groups of writers when there are many, when by writer).
        n_repeats: Repeats of the folds (figures are their mean).
        feature_sets: The feature sets cross-validated against each other.
        micro_f1: Micro-averaged F1 of the chosen model.
        macro_f1: Macro-averaged F1 over labels with positives.
        mean_kappa: Mean per-label Cohen's kappa.
        scheme: ``"writer"`` (whole writers held out) or ``"document"``; None in bundles from
            before writers were recorded, which were cross-validated by document.
    """

    n_splits: int
    n_repeats: int
    feature_sets: tuple[str, ...]
    micro_f1: float
    macro_f1: float
    mean_kappa: float
    scheme: str | None = None

    @property
    def by_writer(self) -> bool:
        """Whether writers were held out: re-running the recipe must hold them out too."""
        return self.scheme == "writer"

    def to_json(self) -> dict:
        content: dict[str, Any] = {"scheme": self.scheme} if self.scheme is not None else {}
        return content | {
            "n_splits": self.n_splits,
            "n_repeats": self.n_repeats,
            "feature_sets": list(self.feature_sets),
            "micro_f1": self.micro_f1,
            "macro_f1": self.macro_f1,
            "mean_kappa": self.mean_kappa,
        }


@dataclass(frozen=True)
class MlflowRef:
    """Where the training run was logged, so the card and ``train``'s output can point to it."""

    tracking_uri: str
    run_id: str

    def to_json(self) -> dict:
        return {"tracking_uri": self.tracking_uri, "run_id": self.run_id}


@dataclass(frozen=True)
class BundleInfo:
    """The content of ``bundle.json``: what the model is, what it was trained on and how.

    Attributes:
        name: The bundle's name (its folder's name when trained).
        created: When it was trained (ISO 8601, UTC).
        encoder: The encoder of its embeddings.
        codebook: The codebook it was trained on.
        training_data: The units it learnt from.
        features: The feature set that won cross-validation, e.g. ``"embedding+tfidf+char"``.
        labels: One per label, codebook order (the relevance row is not among them).
        config: The training settings.
        cv: The cross-validation and its headline figures.
        mlflow: The MLflow run; None until the run is logged.
    """

    name: str
    created: str
    encoder: EncoderInfo
    codebook: CodebookRef
    training_data: TrainingDataInfo
    features: str
    labels: tuple[LabelInfo, ...]
    config: ConfigInfo
    cv: CVInfo
    mlflow: MlflowRef | None = None

    @property
    def label_ids(self) -> list[str]:
        return [label.id for label in self.labels]

    @property
    def fallback_labels(self) -> list[str]:
        """Labels scored zero-shot, for want of positives to train a head on."""
        return [label.id for label in self.labels if label.zero_shot]

    def to_json(self) -> dict:
        content = {
            "format": BUNDLE_FORMAT,
            "name": self.name,
            "created": self.created,
            "encoder": self.encoder.to_json(),
            "codebook": self.codebook.to_json(),
            "training_data": self.training_data.to_json(),
            "features": self.features,
            "labels": [label.to_json() for label in self.labels],
            "config": self.config.to_json(),
            "cv": self.cv.to_json(),
        }
        if self.mlflow is not None:
            content["mlflow"] = self.mlflow.to_json()
        return content

    @classmethod
    def from_json(cls, content: object, file: Path) -> BundleInfo:
        """Check and read the content of ``bundle.json``.

        Every field that loading, scoring, evaluating or the card relies on is checked here,
        so that a hand-edited or damaged file is named with its field instead of failing later
        inside numpy or a report with a traceback.

        Args:
            content: The parsed JSON.
            file: The file it came from, for the error message.

        Raises:
            InputError: Not a bundle of this format, or a field is missing or of the wrong type.
        """
        if not isinstance(content, dict) or content.get("format") != BUNDLE_FORMAT:
            raise InputError(file, f"not a matrixcoder model bundle (expected format {BUNDLE_FORMAT})")

        def field(keys: str, kind: type) -> Any:
            return _field(file, content, tuple(keys.split(".")), kind)

        def optional(keys: str, kind: type) -> Any:
            *parents, last = keys.split(".")
            parent = _field(file, content, tuple(parents), dict) if parents else content
            return _field(file, content, (*parents, last), kind) if last in parent else None

        # The fields that loading and scoring need first, in the order they were always checked.
        features = field("features", str)
        encoder = EncoderInfo(field("encoder.name", str), field("encoder.fingerprint", str), field("encoder.dim", int))
        version, content_hash = field("codebook.version", str), field("codebook.content_hash", str)
        labels = _labels(file, field("labels", list))
        mlflow = optional("mlflow", dict)
        return cls(
            name=field("name", str),
            created=field("created", str),
            encoder=encoder,
            codebook=CodebookRef(field("codebook.name", str), version, content_hash),
            training_data=TrainingDataInfo(
                path=field("training_data.path", str),
                sha256=field("training_data.sha256", str),
                coder=field("training_data.coder", str),
                units=field("training_data.units", int),
                documents=field("training_data.documents", int),
                empty_units=field("training_data.empty_units", int),
                writers=optional("training_data.writers", int),
                unit_keys=optional("training_data.unit_keys", str),
            ),
            features=features,
            labels=labels,
            config=ConfigInfo(
                n_splits=field("config.n_splits", int),
                C=field("config.C", float),
                min_positives=field("config.min_positives", int),
                random_state=field("config.random_state", int),
                gold_weight=optional("config.gold_weight", float),
            ),
            cv=CVInfo(
                n_splits=field("cv.n_splits", int),
                n_repeats=field("cv.n_repeats", int),
                feature_sets=_texts(file, field("cv.feature_sets", list), "cv.feature_sets"),
                micro_f1=field("cv.micro_f1", float),
                macro_f1=field("cv.macro_f1", float),
                mean_kappa=field("cv.mean_kappa", float),
                scheme=optional("cv.scheme", str),
            ),
            mlflow=None if mlflow is None else MlflowRef(field("mlflow.tracking_uri", str), field("mlflow.run_id", str)),
        )


def _labels(file: Path, labels: list) -> tuple[LabelInfo, ...]:
    """The labels, refused unless each is an object with text id and mode and the ids are distinct.

    Raises:
        InputError: A label is malformed, or the ids repeat, are missing or name the relevance row.
    """
    read = []
    for i, label in enumerate(labels):
        if not isinstance(label, dict):
            raise InputError(file, f"damaged model bundle (labels[{i}] must be an object)")
        read.append(
            LabelInfo(
                _field(file, label, ("id",), str, f"labels[{i}]."),
                _field(file, label, ("mode",), str, f"labels[{i}]."),
                _field(file, label, ("support",), int, f"labels[{i}]."),
            )
        )
    ids = [label.id for label in read]
    if not ids or len(set(ids)) != len(ids) or RELEVANCE in ids:
        raise InputError(file, "damaged model bundle ('labels' must be distinct label ids)")
    return tuple(read)


def _texts(file: Path, values: list, where: str) -> tuple[str, ...]:
    """A list of text, refused if any element is not text."""
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise InputError(file, f"damaged model bundle ('{where}[{i}]' must be text, not {shown(value)})")
    return tuple(values)


_KIND_NAMES = {str: "text", int: "a whole number", float: "a number", list: "a list", dict: "an object"}


def _field(file: Path, content: dict, keys: tuple[str, ...], kind: type, prefix: str = "") -> Any:
    """The value at ``keys`` (nested), refused unless it is of ``kind`` (a bool is no number; an int is a float)."""
    value: object = content
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    kinds: tuple[type, ...] = (int, float) if kind is float else (kind,)
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise InputError(file, f"damaged model bundle ('{prefix}{'.'.join(keys)}' must be {_KIND_NAMES[kind]}, not {shown(value)})")
    return value


def shown(value: object) -> str:
    """A JSON value as an error message quotes it: as the file spells it, cut to 40 characters."""
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
