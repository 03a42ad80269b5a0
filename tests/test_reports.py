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
from matrixcoder.evaluation.coding_agreement import BootstrapConfig, Estimate
from matrixcoder.evaluation.human_agreement import agreement_report, human_agreement

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


# Issue 10, friction: rare labels marked, too few doubly coded units warned about, columns named.


@pytest.fixture(scope="module")
def few(tmp_path_factory):
    """The agreement report on A and B coding 20 units: SI3 on 3 units where both agree (1.000 [1.000, 1.000]),
    CL2 on 12, and on one of those B gave FD3 instead. Returns the terminal output and the report folder."""
    lines = []
    for i in range(20):
        codes = (["SI3"] if i < 3 else []) + (["CL2"] if i >= 8 else [])
        other = codes if i != 10 else [c for c in codes if c != "CL2"] + ["FD3"]
        for coder, chosen in (("A", codes), ("B", other)):
            lines.append({"doc_id": f"D{i // 5}", "unit_id": f"U{i:02d}", "text": f"sentence {i}", "codes": chosen, "coder": coder})
    folder = tmp_path_factory.mktemp("few")
    path = folder / "few.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = CliRunner().invoke(app, ["agreement", str(path), "--out", str(folder / "out")])
    assert result.exit_code == 0, result.output
    return result.output, folder / "out"


def _row(markdown: str, label: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {label}"))
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def test_rare_labels_are_marked_as_no_evidence(few) -> None:
    _, out = few
    markdown = (out / "agreement.md").read_text()
    si3, cl2 = _row(markdown, "SI3"), _row(markdown, "CL2")
    # Before: "| SI3 | ... | 1.000 [1.000, 1.000] | ..." unmarked beside well-supported labels.
    assert si3[0] == "SI3 †" and "1.000 [1.000, 1.000] †" in si3
    assert "not evidence of agreement" in si3[-1]
    assert cl2[0] == "CL2" and not any("†" in cell for cell in cl2)
    assert "† marks labels carried by fewer than 10 doubly coded units" in markdown
    assert "Rare (units with the label): SI3 (3), FD3 (1). Never given: 36 label(s)." in markdown
    assert _row(markdown, "SI1")[0] == "SI1 †"  # never given: AC1 1 by convention, no evidence either
    pairs = next(line for line in markdown.splitlines() if line.startswith("| SI3 †") and line.count("|") == 3)
    assert "1.000 [1.000, 1.000] †" in pairs
    data = json.loads((out / "agreement.json").read_text())
    assert data["rare_labels"] == ["SI3", "FD3"] and len(data["never_given_labels"]) == 36
    assert data["few_doubly_coded"] is True


def test_few_doubly_coded_units_are_warned_about(few, coded, tmp_path) -> None:
    output, out = few
    warning = "WARNING: only 20 units are coded by two or more coders (fewer than 30)"
    assert warning in (out / "agreement.md").read_text() and warning in (out / "agreement.html").read_text()
    assert "WARNING: only 20 doubly coded units" in output  # on the terminal too
    CliRunner().invoke(app, ["agreement", str(coded), "--out", str(tmp_path / "enough")])
    assert "WARNING" not in (tmp_path / "enough" / "agreement.md").read_text()


def test_columns_name_whose_codes_they_show(few) -> None:
    markdown = (few[1] / "agreement.md").read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| label | name |"))
    for column in ("units A gave it", "units B gave it", "alpha (all coders)", "kappa (A vs B)", "AC1 (A vs B)"):
        assert column in header
    confusions = next(line for line in markdown.splitlines() if line.startswith("| code p | code q |"))
    assert "units: A gave p, B q" in confusions and "example unit (A's codes / B's)" in confusions
    # Unit 10: A gave CL2, B gave FD3 instead; the row says which coder gave which.
    assert _row(markdown, "CL2 | FD3")[:4] == ["CL2", "FD3", "1", "0"]
    assert "row = A's code, column = B's code" in markdown
