"""Imports point one way: down the layers. A module may import only from its own layer or below.

The order, lowest first (README "Architecture" explains each layer):

0. base: ``errors``, ``console``, ``fileio``, ``archive``, ``options``, ``home``, the package ``__init__`` (its version)
1. ``stats``: agreement statistics, no project imports
2. ``labels``: codebook, coded units, alliances, rulings, approach types (Table 2)
3. ``corpus``: readers, segmentation, attribution, corpus store, harvest
4. ``interop``: REFI-QDA codebooks and projects, Label Studio, Prodigy, doccano
5. ``encoding``: encoders, ONNX export, embedding cache, TF-IDF features, unit batches
6. ``models``: the bundle, the predictor, the MLflow pyfunc, the model card
7. ``training``: folds, heads, thresholds, cross-validation, train, the default model
8. ``inference``: suggest, predict, score
9. ``evaluation``: model vs human, agreement reports, diagnostics
10. ``review``: the review web app
11. ``cli``: the command line
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = [
    {"errors", "console", "fileio", "archive", "options", "home", "__init__"},
    {"stats"},
    {"labels"},
    {"corpus"},
    {"interop"},
    {"encoding"},
    {"models"},
    {"training"},
    {"inference"},
    {"evaluation"},
    {"review"},
    {"cli", "__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _package_of(path: Path) -> str:
    relative = path.relative_to(ROOT)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "matrixcoder":
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "matrixcoder":
                    yield node.lineno, alias.name


def _modules():
    skip = {"tests", "bench", "build", "dist", "docs"}
    # Top-level entries first, so that .venv (tens of thousands of files) is never walked.
    tops = [top for top in ROOT.iterdir() if not top.name.startswith(".") and top.name not in skip]
    paths = [top for top in tops if top.is_file() and top.suffix == ".py"]
    paths += [path for top in tops if top.is_dir() for path in top.rglob("*.py")]
    for path in sorted(paths):
        if "demo_sources" not in path.relative_to(ROOT).parts:
            yield path


def test_every_package_has_a_layer():
    unknown = sorted({_package_of(path) for path in _modules()} - set(RANK))
    assert not unknown, f"packages without a layer in tests/test_layers.py: {unknown}"


def test_no_import_points_up_the_layers():
    upward = []
    for path in _modules():
        here = RANK[_package_of(path)]
        for line, module in _imports(path):
            parts = module.split(".")
            target = parts[1] if len(parts) > 1 else "__init__"
            if RANK.get(target, -1) > here:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {module} (layer {RANK[target]} > {here})")
    assert not upward, "imports that point up the layers:\n" + "\n".join(upward)
