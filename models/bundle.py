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
never unpickles anything. ``bundle.json`` is checked and typed by
:class:`~matrixcoder.models.info.BundleInfo`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.encoding.features import TfidfFeatures
from matrixcoder.errors import InputError
from matrixcoder.labels.codebook import Codebook
from matrixcoder.models.info import BUNDLE_FORMAT, RELEVANCE, BundleInfo, shown

# BUNDLE_FORMAT and RELEVANCE live with BundleInfo; they stay importable from here.
__all__ = ["BUNDLE_FORMAT", "RELEVANCE", "ModelBundle", "load_bundle", "save_bundle"]


@dataclass
class ModelBundle:
    """A trained model: one calibrated linear layer over the encoder's embeddings (and TF-IDF).

    Row ``j`` of the layer gives ``P(label j | unit) = sigmoid(x @ coef[j] + intercept[j])``;
    the last row does the same for relevance. A unit gets label ``j`` when that probability
    reaches ``thresholds[j]`` and its relevance reaches the last threshold.

    Attributes:
        info: The content of ``bundle.json``, checked and typed.
        coef_embedding: Rows × embedding dimension.
        coef_tfidf: Rows × TF-IDF vocabulary, or None without TF-IDF features.
        intercept: One per row.
        thresholds: One per row, on the probability scale.
        tfidf: The TF-IDF features, or None.
        metrics: The content of ``metrics.json``.
        card: The content of ``MODEL.md``.
        path: Where it was loaded from.
    """

    info: BundleInfo
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
        return self.info.label_ids

    @property
    def rows(self) -> list[str]:
        return self.label_ids + [RELEVANCE]

    @property
    def fallback_labels(self) -> list[str]:
        return self.info.fallback_labels

    def probabilities(self, X: UnitBatch) -> np.ndarray:
        """Units × rows probabilities (labels, then relevance)."""
        logits = X.embeddings.astype(np.float64) @ self.coef_embedding.T + self.intercept
        if self.tfidf is not None:
            assert self.coef_tfidf is not None  # a bundle has both or neither
            logits = logits + np.asarray(self.tfidf.transform(X.texts) @ self.coef_tfidf.T)
        return 1.0 / (1.0 + np.exp(-logits))

    def check_codebook(self, codebook: Codebook) -> None:
        """Refuse a codebook other than the one the model was trained on.

        The message names what differs (labels, or the codebook's content), because two
        versions or hashes that read the same tell the user nothing.

        Raises:
            InputError: The codebook's content hash or labels differ.
        """
        trained = self.info.codebook
        if self.label_ids != codebook.label_ids:
            difference = _label_difference(self.label_ids, codebook.label_ids)
        elif trained.content_hash != codebook.content_hash:
            difference = (
                f"trained on codebook version {trained.version} (hash {trained.content_hash[:12]}), "
                f"but {codebook.path} is version {codebook.version} (hash {codebook.content_hash[:12]})"
            )
        else:
            return
        raise InputError(
            self.path or "model",
            f"{difference}; retrain with 'matrixcoder train' or use the codebook the model was trained on",
        )


def _label_difference(model: list[str], codebook: list[str]) -> str:
    """Say which labels only one side has, or where the order first differs."""
    only_model = [label for label in model if label not in codebook]
    only_codebook = [label for label in codebook if label not in model]
    if not (only_model or only_codebook):
        position = next(i for i, (a, b) in enumerate(zip(model, codebook, strict=False)) if a != b)
        return f"labels are in another order: label {position + 1} is {model[position]} in the model, {codebook[position]} in the codebook"
    sides = [f"model has {_few(only_model)}"] if only_model else []
    sides += [f"codebook has {_few(only_codebook)}"] if only_codebook else []
    return "labels differ: " + ", ".join(sides)


def _few(labels: list[str], limit: int = 5) -> str:
    more = f" and {len(labels) - limit} more" if len(labels) > limit else ""
    return ", ".join(labels[:limit]) + more


def save_bundle(bundle: ModelBundle, folder: Path) -> None:
    """Write a bundle into ``folder``; callers make it atomic with :func:`~matrixcoder.fileio.atomic_path`."""
    (folder / "weights").mkdir(parents=True, exist_ok=True)
    _write_json(folder / "bundle.json", bundle.info.to_json())
    _write_json(folder / "thresholds.json", dict(zip(bundle.rows, (round(float(t), 6) for t in bundle.thresholds), strict=False)))
    _write_json(folder / "metrics.json", bundle.metrics)
    np.save(folder / "weights" / "coef_embedding.npy", bundle.coef_embedding.astype(np.float32))
    np.save(folder / "weights" / "intercept.npy", bundle.intercept.astype(np.float64))
    if bundle.tfidf is not None:
        assert bundle.coef_tfidf is not None  # a bundle has both or neither
        vocabulary, idf = bundle.tfidf.fitted()
        np.save(folder / "weights" / "coef_tfidf.npy", bundle.coef_tfidf.astype(np.float32))
        np.save(folder / "weights" / "idf.npy", idf.astype(np.float32))
        _write_json(folder / "tfidf_vocabulary.json", list(vocabulary))
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
    info = BundleInfo.from_json(_read_json(path, "bundle.json"), path / "bundle.json")
    rows = [*info.label_ids, RELEVANCE]
    thresholds = _thresholds(path, _read_json(path, "thresholds.json"), rows)
    coef_embedding = _array(path, "coef_embedding")
    intercept = _array(path, "intercept")
    tfidf, coef_tfidf = None, None
    if "tfidf" in info.features:
        tfidf = TfidfFeatures(_vocabulary(path), _array(path, "idf"))
        coef_tfidf = _array(path, "coef_tfidf")
    shapes_ok = (
        coef_embedding.shape == (len(rows), info.encoder.dim)
        and intercept.shape == (len(rows),)
        and (
            tfidf is None
            or (
                coef_tfidf is not None
                and coef_tfidf.shape == (len(rows), tfidf.n_features)
                and tfidf.fitted()[1].shape == (tfidf.n_features,)
            )
        )
    )
    if not shapes_ok:
        raise InputError(path, "damaged model bundle (array shapes do not match bundle.json)")
    metrics = _read_json(path, "metrics.json")
    if not isinstance(metrics, dict):
        raise InputError(path / "metrics.json", "damaged model bundle file (expected a JSON object)")
    bundle = ModelBundle(
        info=info,
        coef_embedding=coef_embedding,
        coef_tfidf=coef_tfidf,
        intercept=intercept,
        thresholds=thresholds,
        tfidf=tfidf,
        metrics=metrics,
        card=(path / "MODEL.md").read_text(encoding="utf-8") if (path / "MODEL.md").is_file() else "",
        path=path,
    )
    if codebook is not None:
        bundle.check_codebook(codebook)
    return bundle


def _thresholds(path: Path, by_row: object, rows: list[str]) -> np.ndarray:
    """One probability per row; strings, NaN or missing rows would make every decision wrong.

    Raises:
        InputError: ``thresholds.json`` is not an object of numbers from 0 to 1, one per row.
    """
    file = path / "thresholds.json"
    if not isinstance(by_row, dict):
        raise InputError(file, "damaged model bundle file (expected an object of label: threshold)")
    missing = [row for row in rows if row not in by_row]
    if missing:
        raise InputError(file, f"damaged model bundle file (no threshold for {_few(missing)})")
    for row in rows:
        value = by_row[row]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise InputError(file, f"damaged model bundle file (threshold of {row} is {shown(value)}; expected a number from 0 to 1)")
    return np.array([by_row[row] for row in rows], dtype=np.float64)


def _vocabulary(path: Path) -> list[str]:
    """The TF-IDF terms; a non-string or repeated term would only fail later, inside scikit-learn."""
    vocabulary = _read_json(path, "tfidf_vocabulary.json")
    if not isinstance(vocabulary, list) or not all(isinstance(term, str) for term in vocabulary) or len(set(vocabulary)) != len(vocabulary):
        raise InputError(path / "tfidf_vocabulary.json", "damaged model bundle file (expected a list of distinct terms)")
    return vocabulary


def _array(path: Path, name: str) -> np.ndarray:
    """Load a weight array; a NaN or infinite weight would turn every score into NaN.

    Raises:
        InputError: The file is missing, not a plain numeric array, or holds non-finite values.
    """
    file = path / "weights" / f"{name}.npy"
    try:
        array = np.load(file, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(file, "missing from the model bundle") from None
    except (ValueError, EOFError, OSError) as exc:
        raise InputError(file, f"not a plain numeric array ({exc})") from None
    if array.dtype.kind not in "fiu":
        raise InputError(file, f"not a plain numeric array (dtype {array.dtype})")
    bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise InputError(file, f"damaged model bundle ({bad} of {array.size} values are NaN or infinite); retrain the model")
    return array


def _read_json(path: Path, name: str):
    try:
        return json.loads((path / name).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(path, f"not a model bundle (no {name})") from None
    except IsADirectoryError:
        raise InputError(path / name, "is a folder; expected a file of the model bundle") from None
    except OSError as exc:
        raise InputError(path / name, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(path / name, "damaged model bundle file (not JSON)") from None
    except RecursionError:
        raise InputError(path / name, "damaged model bundle file (JSON nested too deeply)") from None


def _write_json(file: Path, content: object) -> None:
    file.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
