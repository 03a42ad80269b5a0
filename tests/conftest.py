"""Shared fixtures: builders for real PDF and DOCX files, and the shipped codebook."""

from __future__ import annotations

from pathlib import Path

import docx
import matplotlib
import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from matrixcoder.labels import load_codebook

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


@pytest.fixture(scope="session")
def codebook():
    return load_codebook()


@pytest.fixture
def make_pdf():
    """Write a real PDF whose pages hold the given lines, drawn exactly as given."""

    def build(path: Path, pages: list[list[str]]) -> Path:
        pdfmetrics.registerFont(TTFont("DejaVu", str(FONT)))
        pdf = canvas.Canvas(str(path))
        for lines in pages:
            pdf.setFont("DejaVu", 10)
            for row, line in enumerate(lines):
                pdf.drawString(60, 780 - 14 * row, line)
            pdf.showPage()
        pdf.save()
        return path

    return build


@pytest.fixture
def make_docx():
    """Write a real DOCX with the given paragraphs and an optional table."""

    def build(path: Path, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
        document = docx.Document()
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
        if table:
            grid = document.add_table(rows=len(table), cols=len(table[0]))
            for r, row in enumerate(table):
                for c, cell in enumerate(row):
                    grid.cell(r, c).text = cell
        document.save(str(path))
        return path

    return build


# Tests that take seconds to minutes each: the real encoder, Spark, a browser, hypothesis fuzzing,
# corpus-wide runs and trainings. `pytest -m "not slow"` leaves them out; `make test` runs them.
SLOW_MODULES = {"test_onnx_encoder", "test_score_engines", "test_demo_data", "test_fuzz", "test_review_browser", "test_harvest"}
SLOW_TESTS = {
    "test_train_with_the_real_encoder",
    "test_predict_with_the_real_encoder",
    "test_html_report_renders_its_plots_in_headless_chromium",
    "test_examples_with_writers_are_validated_on_unseen_writers",
    "test_default_model_is_trained_once_and_retrained_when_examples_change",
    "test_train_command_prints_the_comparison",
    "test_cli_exit_code_says_something_failed",
    "test_an_interrupted_run_resumes_without_recomputing_or_duplicating",
    "test_trained_bundle_has_a_threshold_per_label",
    "test_interval_is_agreement_bootstrap_ci_on_the_same_draws",
    "test_mlflow_run_gets_metrics_when_active",
    "test_a_batch_where_every_file_fails_prints_each_reason",
    "test_a_million_character_line_ingests",
    "test_retrain_merges_decisions_and_swaps_the_model_in",
    "test_mlflow_run_logs_params_metrics_artifacts_and_a_pyfunc_model",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES or item.originalname in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
