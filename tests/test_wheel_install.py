"""A wheel built from the checkout, installed in a fresh virtual environment, works without writing inside it.

The wheel is built (offline, no build isolation) from a copy of the checkout, so the checkout's own
``build/`` and ``*.egg-info`` are left alone, and installed with ``--no-deps`` into a new venv. That
venv reaches the third-party packages of the running one through a ``.pth`` naming a folder of links
to them which leaves out this project's editable install (its ``__editable__`` finder and
dist-info), so ``import matrixcoder`` there can only find the wheel's copy. The commands then run
with HOME and the XDG folders in the test's temporary folder and MATRIXCODER_HOME unset: a small
model is trained from the shipped examples (the int8 encoder is exported on first use), and
``codebook show``, ``codebook show --rules`` and ``suggest --model`` run. Everything under the
test's folder except the home and the model written is snapshotted (path, size, mtime, sha256)
before and compared after: the venv (site-packages included) must be unchanged even though it is
writable, as a user's own venv is (and root ignores permissions anyway).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

# Marked slow (the whole module) in conftest.py's SLOW_MODULES.

ROOT = Path(__file__).resolve().parent.parent
# Left out of the copy the wheel is built from: git-ignored stores, caches and build outputs.
NOT_COPIED = (".git", ".venv", "build", "dist", ".matrixcoder", "out", "mlruns", "mlartifacts", "__pycache__", "*.egg-info", "*_cache")
PIP = [sys.executable, "-m", "pip"]
OFFLINE = ["--no-index", "--no-cache-dir", "--disable-pip-version-check", "-q"]
# Folders of the checkout that hold no shipped package (test and demo material).
NOT_PACKAGES = {"tests", "bench", "docs", "build", "dist", "out", ".venv", ".matrixcoder", ".git"}
NEEDED_DATA = [
    "labels/codebook.yaml",
    "labels/examples.jsonl",
    "labels/alliances.csv",
    "labels/CODING_GUIDE.md",
    "models/pyfunc_entry.py",
    "review/static/app.js",
    "review/static/app.css",
    "review/templates/base.html",
]
DOCUMENT = """Micro-credentials at our alliance

Learners can enrol in an online micro-credential of four weeks and earn 5 ECTS credits.
The micro-credentials can be stacked towards a master's degree at any partner university.
They were co-designed with employers to close skill gaps in the regional labour market.
"""
PROBE = """
import importlib.metadata, json, sys
import matrixcoder
from matrixcoder.home import home
from matrixcoder.training.default_model import default_model_path
print(json.dumps({
    "file": matrixcoder.__file__,
    "dist": str(importlib.metadata.distribution("matrixcoder").locate_file("")),
    "editable_finder": any("editable" in name for name in sys.modules),
    "home": str(home()),
    "default_model": str(default_model_path()),
}))
"""


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{command} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _snapshot(root: Path, skip: set[Path]) -> dict[str, tuple]:
    """Every path under ``root`` (links not followed) except ``skip``: kind, size, mtime and sha256."""
    state: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) not in skip]
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            if path.is_symlink():
                state[str(path)] = ("link", os.readlink(path))
            elif path.is_dir():
                state[str(path)] = ("dir",)
            else:
                state[str(path)] = ("file", info.st_size, info.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return state


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)
    # What a working checkout holds besides the code: none of it may reach the wheel.
    for decoy in ("models/default/bundle.json", ".matrixcoder/embeddings.sqlite", "out/demo/scores.csv"):
        (source / decoy).parent.mkdir(parents=True, exist_ok=True)
        (source / decoy).write_text("{}")
    wheels = tmp_path / "wheels"
    _run([*PIP, "wheel", "--no-deps", "--no-build-isolation", *OFFLINE, "-w", wheels, source])
    (wheel,) = wheels.glob("matrixcoder-*.whl")
    return wheel


def _check_wheel_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/RECORD"))
    assert {name.split("/")[0] for name in names} == {"matrixcoder", dist_info}, "only the matrixcoder package and its dist-info"
    inside = {name.removeprefix("matrixcoder/") for name in names if name.startswith("matrixcoder/")}
    assert set(NEEDED_DATA) <= inside
    # Every package of the checkout is in the wheel (a new subpackage missing from pyproject fails here).
    assert _checkout_packages() <= inside
    for name in inside:
        parts = name.split("/")
        assert not NOT_PACKAGES & set(parts) and "__pycache__" not in parts, name
        assert not name.startswith(("models/default", "corpus/demo")), name
        assert not name.endswith((".db", ".sqlite", ".parquet", ".onnx", ".npy", ".pyc")), name


def _checkout_packages() -> set[str]:
    """The checkout's ``__init__.py`` files, relative to it, outside test, demo and build folders."""
    found = set()
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in NOT_PACKAGES and not d.startswith(".") and d not in ("demo", "demo_sources")]
        if "__init__.py" in files:
            found.add((Path(folder, "__init__.py").relative_to(ROOT)).as_posix())
    return found


def _fresh_venv(tmp_path: Path, wheel: Path) -> tuple[Path, Path]:
    """A new venv with the wheel installed; third-party packages come from the running venv, without matrixcoder."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site_packages = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    links = tmp_path / "dependencies"
    links.mkdir()
    for folder in dict.fromkeys(Path(sysconfig.get_path(key)) for key in ("purelib", "platlib")):
        for entry in folder.iterdir():
            name = entry.name
            if name.startswith(("__editable__", "matrixcoder", "_matrixcoder")) or name.endswith(".pth") or name == "__pycache__":
                continue
            if not (links / name).exists():
                (links / name).symlink_to(entry)
    # A plain path entry, not a site folder: the .pth files in it (the editable finder's) are not run.
    (site_packages / "_dependencies.pth").write_text(f"{links}\n")
    _run([*PIP, "--python", python, "install", "--no-deps", *OFFLINE, wheel])
    return venv, site_packages


def _sample_examples(shipped: Path, out: Path) -> Path:
    """Coder A's units of two documents from each of three writers (about 200 units): a quick training set."""
    rows = [json.loads(line) for line in shipped.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [row for row in rows if row["coder"] == "A"]
    documents: list[str] = []
    for writer in sorted({row["writer"] for row in rows})[:3]:
        documents += list(dict.fromkeys(row["doc_id"] for row in rows if row["writer"] == writer))[:2]
    out.write_text("".join(json.dumps(row) + "\n" for row in rows if row["doc_id"] in documents), encoding="utf-8")
    return out


def test_wheel_installed_in_a_fresh_venv_runs_without_writing_inside_it(tmp_path, codebook):
    wheel = _build_wheel(tmp_path)
    _check_wheel_contents(wheel)
    venv, site_packages = _fresh_venv(tmp_path, wheel)
    matrixcoder = venv / "bin" / "matrixcoder"

    home = tmp_path / "home"
    data = home / ".local" / "share"
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(home),
        "XDG_DATA_HOME": str(data),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LANG": "C.UTF-8",
    }
    work = tmp_path / "work"  # the working folder of every command; nothing may land in it
    work.mkdir()
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    examples = _sample_examples(site_packages / "matrixcoder" / "labels" / "examples.jsonl", inputs / "examples.jsonl")
    document = inputs / "catalogue.txt"
    document.write_text(DOCUMENT, encoding="utf-8")
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    # The links to the third-party packages get Python's __pycache__ for their top-level modules.
    skip = {home, outputs, tmp_path / "dependencies"}
    before = _snapshot(tmp_path, skip)
    assert any(path.startswith(str(site_packages / "matrixcoder") + os.sep) for path in before)

    # Training (which exports the int8 encoder first) takes most of the time: the other checks run meanwhile.
    bundle = outputs / "model"
    with (outputs / "train.log").open("w") as log:
        training = subprocess.Popen([matrixcoder, "train", examples, "--out", bundle], env=env, cwd=work, stdout=log, stderr=log)
    try:
        _check_commands(venv, site_packages, env, work, data)
        training.wait(timeout=600)
    finally:
        training.kill()
        training.wait()
    assert training.returncode == 0, (outputs / "train.log").read_text()[-3000:]
    assert (bundle / "bundle.json").is_file()
    suggested = json.loads(_run([matrixcoder, "suggest", document, "--model", bundle, "--format", "json"], env=env, cwd=work).stdout)
    (result,) = suggested["documents"]
    codes = {code["code"] for dimension in result["dimensions"] for code in dimension["codes"]}
    assert result["doc_id"] == "catalogue" and codes and codes <= set(codebook.label_ids)

    after = _snapshot(tmp_path, skip)
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    assert changed == [], "written outside the home and the model folder (the venv, the inputs, the working folder)"
    home_store = data / "matrixcoder"
    assert list(home_store.glob("encoders/*/model.onnx")), "the int8 encoder is exported into the home"
    assert (home_store / "embeddings.sqlite").is_file() and (home_store / "mlflow.db").is_file()


def _check_commands(venv: Path, site_packages: Path, env: dict, work: Path, data: Path) -> None:
    """The wheel's code is what runs, its home is the user's data folder, and the codebook commands work."""
    probe = json.loads(_run([venv / "bin" / "python", "-c", PROBE], env=env, cwd=work).stdout)
    assert Path(probe["file"]) == site_packages / "matrixcoder" / "__init__.py"
    assert Path(probe["dist"]) == site_packages and not probe["editable_finder"]
    assert Path(probe["home"]) == data / "matrixcoder"
    assert Path(probe["default_model"]) == data / "matrixcoder" / "models" / "default"

    matrixcoder = venv / "bin" / "matrixcoder"
    shown = _run([matrixcoder, "codebook", "show"], env=env, cwd=work).stdout
    assert "SI1\tFully integrated" in shown and "AP-MC" in shown
    rules = _run([matrixcoder, "codebook", "show", "--rules"], env=env, cwd=work).stdout
    assert str(site_packages / "matrixcoder" / "labels" / "CODING_GUIDE.md") in rules and "R-SI1" in rules
