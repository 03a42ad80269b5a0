"""The MLflow pyfunc wrapper of a model bundle (for ``mlflow models serve`` and ``spark_udf``)."""

from __future__ import annotations

import importlib.resources
import warnings
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel

from matrixcoder.models.bundle import load_bundle
from matrixcoder.models.predictor import Predictor

__all__ = ["MatrixcoderPyfunc", "save_pyfunc_model", "signature"]


class MatrixcoderPyfunc(PythonModel):
    """Scores a DataFrame with a ``text`` column: codes, relevance and one probability per label.

    The bundle travels as the MLflow artifact ``bundle``; the encoder is resolved from the
    bundle's encoder name on the serving machine and must have the same fingerprint. The bundle
    names its own labels, so the model serves whatever codebook it was trained on: pairing it
    with a codebook is the caller's check (``matrixcoder score`` does it on the driver).
    """

    def load_context(self, context) -> None:
        self._predictor = Predictor.from_bundle(load_bundle(context.artifacts["bundle"]))

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        scored = self._predictor.score(model_input["text"].astype(str).tolist())
        table = pd.DataFrame(scored.probabilities, columns=scored.label_ids)
        table.insert(0, "relevance", scored.relevance)
        table.insert(0, "codes", scored.codes())
        return table


def signature(label_ids: list[str]) -> ModelSignature:
    """Input ``text``; output ``codes``, ``relevance`` and a probability column per label, as :meth:`MatrixcoderPyfunc.predict` returns."""
    from mlflow.types import ColSpec, DataType, Schema
    from mlflow.types.schema import Array

    return ModelSignature(
        inputs=Schema([ColSpec(DataType.string, "text")]),
        outputs=Schema(
            [
                ColSpec(Array(DataType.string), "codes"),
                ColSpec(DataType.double, "relevance"),
                *(ColSpec(DataType.double, label) for label in label_ids),
            ]
        ),
    )


def save_pyfunc_model(bundle_folder: Path, label_ids: list[str], path: Path) -> None:
    """Save a bundle folder as a pyfunc model at ``path`` (a folder that must not exist yet).

    The model is code (``pyfunc_entry.py``) plus the bundle as the artifact ``bundle``, so nothing
    is pickled; loading it needs matrixcoder installed where it runs. No pip requirements are
    inferred (MLflow would load and run the model to find them): it is meant for callers that run
    it in their own environment, such as ``spark_udf(env_manager="local")``.
    """
    with warnings.catch_warnings():
        # An input example would make MLflow load and run the model while saving it.
        warnings.filterwarnings("ignore", message=".*input example was not provided")
        mlflow.pyfunc.save_model(
            str(path),
            python_model=str(importlib.resources.files("matrixcoder.models") / "pyfunc_entry.py"),
            artifacts={"bundle": str(bundle_folder)},
            signature=signature(label_ids),
            pip_requirements=["matrixcoder"],
        )
