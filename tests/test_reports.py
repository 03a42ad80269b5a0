"""The agreement report: Markdown, JSON and self-contained HTML from the same numbers; MLflow; CLI errors."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from matrixcoder import cli
from matrixcoder.cli import app
from matrixcoder.evaluation.human_agreement import agreement_report, human_agreement
from matrixcoder.evaluation.multilabel import BootstrapConfig, Estimate

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    """Two coders on 40 units of 8 documents; B disagrees on a few, confusing SI3 with CL2."""
    rng = np.random.default_rng(11)
    labels = ["SI3", "CL2", "AP-MC", "SD4-5", "FD3"]
    lines = []
    for i in range(40):
        codes = [label for label in labels if rng.random() < 0.25]
        other = ["CL2" if c == "SI3" and i % 3 == 0 else c for c in codes]
        if i % 7 == 0:
            other = other + ["FD3"] if "FD3" not in other else other
        for coder, chosen in (("A", codes), ("B", other)):
            lines.append({"doc_id": f"D{i // 5}", "unit_id": f"U{i:02d}", "text": f"sentence {i}", "codes": chosen, "coder": coder})
    path = tmp_path_factory.mktemp("coded") / "coded.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _no_nan(text: str) -> dict:
    def reject(constant):
        raise AssertionError(f"non-finite number {constant} in JSON")

    return json.loads(text, parse_constant=reject)


def test_agreement_writes_three_reports_from_the_same_numbers(coded, tmp_path) -> None:
    result = CliRunner().invoke(app, ["agreement", str(coded), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = _no_nan((tmp_path / "agreement.json").read_text())
    markdown = (tmp_path / "agreement.md").read_text()
    page = (tmp_path / "agreement.html").read_text()
    assert data["coders"] == ["A", "B"] and data["n_pairable"] == 40
    si3 = next(label for label in data["labels"] if label["label"] == "SI3")
    alpha = Estimate(si3["alpha"]["value"], tuple(si3["alpha"]["interval"])).format()
    row = next(line for line in markdown.splitlines() if line.startswith("| SI3 |"))
    assert alpha in row and alpha in page and alpha in result.output
    # Every plot is embedded as a PNG; nothing is loaded from elsewhere.
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 3
    assert all(base64.b64decode(image).startswith(PNG_MAGIC) for image in images)
    assert not re.search(r'(src|href)="(http|file|/)', page)
    # The confusion SI3 -> CL2 built into the fixture is the top disagreement.
    assert set(data["confusions"]["top"][0]["codes"]) == {"CL2", "SI3"}


def test_mlflow_run_gets_metrics_when_active(coded, tmp_path, codebook) -> None:
    import mlflow

    from matrixcoder.evaluation.reports import log_report

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    # A SQLite store would otherwise put artefacts in ./mlruns of the working directory.
    experiment = mlflow.create_experiment("reports", artifact_location=(tmp_path / "artifacts").as_uri())
    _, result, confusion = human_agreement(coded, codebook, BootstrapConfig(n_resamples=1000))
    report = agreement_report(result, confusion, codebook, str(coded))
    assert log_report(report) is False  # no active run: nothing logged
    with mlflow.start_run(experiment_id=experiment) as run:
        assert log_report(report) is True
    logged = mlflow.get_run(run.info.run_id).data.metrics
    assert logged["agreement.overall.masi_alpha"] == pytest.approx(result.overall.masi_alpha.value)
    assert logged["agreement.alpha.SI3"] == pytest.approx(result.labels[2].alpha.value)


def test_single_coder_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"doc_id": "D", "unit_id": "U", "text": "t", "codes": [], "coder": "A"}) + "\n")
    monkeypatch.setattr(sys, "argv", ["matrixcoder", "agreement", str(path), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"matrixcoder: error: {path}: agreement needs at least two coders, found only coder A"]
    assert not (tmp_path / "out").exists()


CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs Debian's chromium for this test)")
def test_html_report_renders_its_plots_in_headless_chromium(coded, tmp_path) -> None:
    from PIL import Image

    CliRunner().invoke(app, ["agreement", str(coded), "--out", str(tmp_path)])
    page = tmp_path / "agreement.html"
    stripped = tmp_path / "stripped.html"
    stripped.write_text(re.sub(r"<img [^>]*>", "", page.read_text()))

    def colour_pixels(html_file) -> int:
        shot = tmp_path / f"{html_file.stem}.png"
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={shot}", "--window-size=1280,9000", html_file.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
        return int(((pixels.max(axis=2) - pixels.min(axis=2)) > 80).sum())

    # Text and tables are grey; the plots' markers, lines and heatmap are saturated colour.
    assert colour_pixels(page) > 5000
    assert colour_pixels(stripped) < 500
