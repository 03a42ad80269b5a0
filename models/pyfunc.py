"""The MLflow pyfunc wrapper of a model bundle (for ``mlflow models serve`` and ``spark_udf``)."""

from __future__ import annotations

import mlflow.pyfunc
import pandas as pd

__all__ = ["MatrixcoderPyfunc"]


class MatrixcoderPyfunc(mlflow.pyfunc.PythonModel):
    """Scores a DataFrame with a ``text`` column: codes, relevance and one probability per label.

    The bundle travels as the MLflow artifact ``bundle``; the encoder is resolved from the
    bundle's encoder name on the serving machine and must have the same fingerprint.
    """

    def load_context(self, context) -> None:
        from matrixcoder.inference.predictor import Predictor
        from matrixcoder.labels.codebook import load_codebook
        from matrixcoder.models.bundle import load_bundle

        self._predictor = Predictor.from_bundle(load_bundle(context.artifacts["bundle"], load_codebook()))

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        scored = self._predictor.score(model_input["text"].astype(str).tolist())
        table = pd.DataFrame(scored.probabilities, columns=scored.label_ids)
        table.insert(0, "relevance", scored.relevance)
        table.insert(0, "codes", scored.codes())
        return table
