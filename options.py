"""Command-line options that several commands share, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["CodebookOption", "ForceOption", "ModelOption"]

CodebookOption = Annotated[Path | None, typer.Option("--codebook", metavar="YAML", help="Codebook YAML (default: the shipped one).")]
ModelOption = Annotated[
    Path | None,
    typer.Option("--model", metavar="DIR", help="Model bundle folder (default: models/default, trained on first use)."),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Write into an existing output the command did not create; only the command's own files are replaced.",
    ),
]
