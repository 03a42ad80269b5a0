"""Where run stores and caches live: ``MATRIXCODER_HOME``, else the user's data folder.

The embedding cache, the exported int8 encoder, the MLflow store and (when the checkout cannot
be written, as for an installed wheel) the default model live here, never inside the installed
package. ``make demo``/``make test`` set ``MATRIXCODER_HOME`` to the checkout's ``.matrixcoder``.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from matrixcoder.errors import InputError

__all__ = ["home", "tracking_uri"]


def home() -> Path:
    """The folder for caches and run stores, created on demand.

    Raises:
        InputError: It cannot be created or written (the message says how to move it).
    """
    configured = os.environ.get("MATRIXCODER_HOME")
    folder = Path(configured) if configured else Path(platformdirs.user_data_dir("matrixcoder", appauthor=False))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            folder, f"cannot create the matrixcoder home ({exc.strerror}); set MATRIXCODER_HOME to a writable folder"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(folder, "the matrixcoder home is not writable; set MATRIXCODER_HOME to a writable folder")
    return folder


def tracking_uri() -> str:
    """MLflow tracking URI: ``MLFLOW_TRACKING_URI`` if set, else a SQLite store in :func:`home`."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home() / 'mlflow.db'}"
