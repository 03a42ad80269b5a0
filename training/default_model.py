"""The default model: trained from the shipped examples on first use, retrained when they change.

It lives in the checkout's ``models/default`` when that folder can be written (``make demo``
trains it there), else in the matrixcoder home (:func:`matrixcoder.home.home`). An installed
wheel (its ``matrixcoder-*.dist-info`` beside the package) always uses the home, even where
site-packages is writable, as in a user's own virtual environment: it never writes there.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from matrixcoder.console import err_console
from matrixcoder.encoding import embeddings
from matrixcoder.errors import InputError
from matrixcoder.home import home
from matrixcoder.labels.codebook import DEFAULT_CODEBOOK, Codebook, load_codebook
from matrixcoder.models.bundle import ModelBundle, load_bundle
from matrixcoder.training.train import TrainConfig, train_model

__all__ = ["DEFAULT_EXAMPLES", "default_model", "default_model_path", "resolve_model"]

_CHECKOUT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default"
DEFAULT_EXAMPLES = DEFAULT_CODEBOOK.parent / "examples.jsonl"


def resolve_model(model: str | Path | None, codebook: Codebook) -> ModelBundle:
    """The bundle a command should use: ``model`` if given, else the default model.

    Raises:
        InputError: The bundle is damaged or was trained on another codebook.
    """
    return load_bundle(model, codebook) if model is not None else default_model(codebook)


def default_model(codebook: Codebook) -> ModelBundle:
    """Load ``models/default``, (re)training it first if it is missing or out of date.

    It counts as out of date when the shipped examples, the shipped codebook or the default
    encoder's fingerprint (its source files and, for the int8 encoder, its recipe) differ from
    those it was trained on: it is a cache of training on them.

    Raises:
        InputError: No shipped examples to train from, or ``codebook`` is not the shipped one.
    """
    if not DEFAULT_EXAMPLES.is_file():
        raise InputError(DEFAULT_EXAMPLES, "no shipped examples to train the default model from; give --model")
    shipped = load_codebook()
    path = default_model_path()
    if not _up_to_date(path, shipped):
        err_console.print(f"Training the default model from {DEFAULT_EXAMPLES} into {path} (once; about a quarter of an hour)…")
        # With the baselines, so that the default model's card shows what it is measured against.
        train_model(DEFAULT_EXAMPLES, path, TrainConfig(compare=True), shipped)
    return load_bundle(path, codebook)


def default_model_path() -> Path:
    """``models/default`` in a writable checkout, else ``models/default`` in the matrixcoder home."""
    if not _installed(_CHECKOUT_MODEL.parent.parent) and os.access(_CHECKOUT_MODEL.parent, os.W_OK | os.X_OK):
        return _CHECKOUT_MODEL
    return home() / "models" / "default"


def _installed(package: Path) -> bool:
    """Whether ``package`` was installed from a wheel (site-packages, ``--target``): its dist-info lies beside it."""
    return any(package.parent.glob("matrixcoder-*.dist-info"))


def _up_to_date(path: Path, shipped: Codebook) -> bool:
    try:
        info = load_bundle(path).info
    except InputError:
        return False
    return (
        info.training_data.sha256 == hashlib.sha256(DEFAULT_EXAMPLES.read_bytes()).hexdigest()
        and info.codebook.content_hash == shipped.content_hash
        and info.encoder.fingerprint == embeddings.load_encoder(None).fingerprint
    )
