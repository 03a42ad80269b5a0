"""Model bundles: a folder of JSON and ``.npy`` arrays that loads without executing any code.

Layout of ``models/<name>/``::

    bundle.json              format, encoder identity and fingerprint, codebook version and hash,
                             training-data sha256, feature set, labels (mode, support), CV summary
    thresholds.json          decision threshold per label, and the relevance gate's
    metrics.json             cross-validation figures of the model and the baselines, per label
    weights/*.npy            one calibrated linear layer: a row per label, then the relevance row
    tfidf_vocabulary.json    only when TF-IDF features won in cross-validation
    MODEL.md                 the model card

Arrays are read with ``allow_pickle=False`` and everything else is JSON: loading a bundle
never unpickles anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matrixcoder.errors import InputError
from matrixcoder.labels.codebook import Codebook
from matrixcoder.training.data import UnitBatch
from matrixcoder.training.features import TfidfFeatures

__all__ = ["BUNDLE_FORMAT", "RELEVANCE", "ModelBundle", "load_bundle", "save_bundle"]

BUNDLE_FORMAT = "matrixcoder-model/1"
# Name of the last row of the linear layer: the gate "this unit carries any code".
RELEVANCE = "relevance"


@dataclass
class ModelBundle:
    """A trained model: one calibrated linear layer over the encoder's embeddings (and TF-IDF).

    Row ``j`` of the layer gives ``P(label j | unit) = sigmoid(x @ coef[j] + intercept[j])``;
    the last row does the same for relevance. A unit gets label ``j`` when that probability
    reaches ``thresholds[j]`` and its relevance reaches the last threshold.

    Attributes:
        info: The content of ``bundle.json``.
        coef_embedding: Rows × embedding dimension.
        coef_tfidf: Rows × TF-IDF vocabulary, or None without TF-IDF features.
        intercept: One per row.
        thresholds: One per row, on the probability scale.
        tfidf: The TF-IDF features, or None.
        metrics: The content of ``metrics.json``.
        card: The content of ``MODEL.md``.
        path: Where it was loaded from.
    """

    info: dict
    coef_embedding: np.ndarray
    coef_tfidf: np.ndarray | None
    intercept: np.ndarray
    thresholds: np.ndarray
    tfidf: TfidfFeatures | None
    metrics: dict
    card: str
    path: Path | None = None

    @property
    def label_ids(self) -> list[str]:
        return [label["id"] for label in self.info["labels"]]

    @property
    def rows(self) -> list[str]:
        return self.label_ids + [RELEVANCE]

    @property
    def fallback_labels(self) -> list[str]:
        return [label["id"] for label in self.info["labels"] if label["mode"] == "zero-shot"]

    def probabilities(self, X: UnitBatch) -> np.ndarray:
        """Units × rows probabilities (labels, then relevance)."""
        logits = X.embeddings.astype(np.float64) @ self.coef_embedding.T + self.intercept
        if self.tfidf is not None:
            logits = logits + np.asarray(self.tfidf.transform(X.texts) @ self.coef_tfidf.T)
        return 1.0 / (1.0 + np.exp(-logits))

    def check_codebook(self, codebook: Codebook) -> None:
        """Refuse a codebook other than the one the model was trained on.

        Raises:
            InputError: The codebook's content hash or labels differ.
        """
        trained = self.info["codebook"]
        if trained["content_hash"] != codebook.content_hash or self.label_ids != codebook.label_ids:
            raise InputError(
                self.path or "model",
                f"trained on codebook version {trained['version']} (hash {trained['content_hash'][:12]}), "
                f"but {codebook.path} is version {codebook.version} (hash {codebook.content_hash[:12]}); "
                "retrain with 'matrixcoder train' or use the codebook the model was trained on",
            )


def save_bundle(bundle: ModelBundle, folder: Path) -> None:
    """Write a bundle into ``folder``; callers make it atomic with :func:`~matrixcoder.fileio.atomic_path`."""
    (folder / "weights").mkdir(parents=True, exist_ok=True)
    _write_json(folder / "bundle.json", bundle.info)
    _write_json(folder / "thresholds.json", dict(zip(bundle.rows, (round(float(t), 6) for t in bundle.thresholds))))
    _write_json(folder / "metrics.json", bundle.metrics)
    np.save(folder / "weights" / "coef_embedding.npy", bundle.coef_embedding.astype(np.float32))
    np.save(folder / "weights" / "intercept.npy", bundle.intercept.astype(np.float64))
    if bundle.tfidf is not None:
        np.save(folder / "weights" / "coef_tfidf.npy", bundle.coef_tfidf.astype(np.float32))
        np.save(folder / "weights" / "idf.npy", bundle.tfidf.idf.astype(np.float32))
        _write_json(folder / "tfidf_vocabulary.json", list(bundle.tfidf.vocabulary))
    (folder / "MODEL.md").write_text(bundle.card, encoding="utf-8")


def load_bundle(path: str | Path, codebook: Codebook | None = None) -> ModelBundle:
    """Load a bundle folder, checking every array's shape against ``bundle.json``.

    Args:
        path: The bundle folder.
        codebook: When given, the model must have been trained on exactly this codebook.

    Raises:
        InputError: Not a bundle, damaged, or trained on another codebook.
    """
    path = Path(path)
    info = _read_json(path, "bundle.json")
    if not isinstance(info, dict) or info.get("format") != BUNDLE_FORMAT:
        raise InputError(path / "bundle.json", f"not a matrixcoder model bundle (expected format {BUNDLE_FORMAT})")
    try:
        thresholds_by_row = _read_json(path, "thresholds.json")
        rows = [label["id"] for label in info["labels"]] + [RELEVANCE]
        thresholds = np.array([thresholds_by_row[row] for row in rows], dtype=np.float64)
        coef_embedding = _array(path, "coef_embedding")
        intercept = _array(path, "intercept")
        tfidf, coef_tfidf = None, None
        if "tfidf" in info["features"]:
            tfidf = TfidfFeatures(_read_json(path, "tfidf_vocabulary.json"), _array(path, "idf"))
            coef_tfidf = _array(path, "coef_tfidf")
        shapes_ok = (
            coef_embedding.shape == (len(rows), info["encoder"]["dim"])
            and intercept.shape == (len(rows),)
            and (tfidf is None or (coef_tfidf.shape == (len(rows), tfidf.n_features) and tfidf.idf.shape == (tfidf.n_features,)))
        )
    except (KeyError, TypeError) as exc:
        raise InputError(path, f"damaged model bundle (missing {exc})") from None
    if not shapes_ok:
        raise InputError(path, "damaged model bundle (array shapes do not match bundle.json)")
    bundle = ModelBundle(
        info=info,
        coef_embedding=coef_embedding,
        coef_tfidf=coef_tfidf,
        intercept=intercept,
        thresholds=thresholds,
        tfidf=tfidf,
        metrics=_read_json(path, "metrics.json"),
        card=(path / "MODEL.md").read_text(encoding="utf-8") if (path / "MODEL.md").is_file() else "",
        path=path,
    )
    if codebook is not None:
        bundle.check_codebook(codebook)
    return bundle


def _array(path: Path, name: str) -> np.ndarray:
    file = path / "weights" / f"{name}.npy"
    try:
        return np.load(file, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(file, "missing from the model bundle") from None
    except ValueError as exc:
        raise InputError(file, f"not a plain numeric array ({exc})") from None


def _read_json(path: Path, name: str):
    try:
        return json.loads((path / name).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(path, f"not a model bundle (no {name})") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(path / name, "damaged model bundle file (not JSON)") from None


def _write_json(file: Path, content: object) -> None:
    file.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
