"""Shared fixtures: builders for real PDF and DOCX files, the shipped codebook, a home of the
test's own with the fake encoder (helpers and data in ``synthetic.py``), and which tests are slow."""

from __future__ import annotations

from pathlib import Path

import docx
import matplotlib
import pytest
import synthetic
from fakes import HashingEncoder
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from matrixcoder.encoding import embeddings
from matrixcoder.labels import load_codebook
from matrixcoder.training import train

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh MATRIXCODER_HOME for the test (caches, MLflow store, default model), with the real
    encoder and MLflow logging; ``MLFLOW_TRACKING_URI`` is unset so runs stay in it."""
    return synthetic.fake_environment(monkeypatch, tmp_path / "home", encoder=None, mlflow=True)


@pytest.fixture
def fake_encoder(home, monkeypatch) -> type[HashingEncoder]:
    """``home``, with the hashing encoder wherever an encoder is loaded; returns its class."""
    monkeypatch.setattr(embeddings, "load_encoder", lambda spec=None: HashingEncoder())
    return HashingEncoder


@pytest.fixture
def no_mlflow(home, monkeypatch) -> None:
    """``home``, where trainings save their bundle without MLflow (``synthetic.save_without_mlflow``)."""
    monkeypatch.setattr(train, "log_training_run", synthetic.save_without_mlflow)


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


# --- Slow tests ---------------------------------------------------------------------------------
# The one place tests are marked slow: a whole module in SLOW_MODULES, or a test function (by name,
# in whichever module) in SLOW_TESTS, each with why. Do not mark slow in the test modules
# (@pytest.mark.slow, pytestmark); add an entry here. `pytest -m "not slow"` leaves them out and is
# the fast subset (under a minute on two cores, see README); `make test` runs everything.
# Slow: the real encoder (its int8 model is built on first use), Spark, a browser, hypothesis
# fuzzing and property tests of heavy round trips, crawls of local HTTP servers, MLflow stores,
# default-model and command-line trainings, a fresh `python -m matrixcoder` per test, and walks
# over every command or parameter. Every layer keeps fast tests (tiny models trained with the
# hashing encoder of fakes.py on synthetic.py's examples, without MLflow).
SLOW_MODULES = {
    "test_onnx_encoder": "the real encoder: exports and quantises the int8 ONNX model",
    "test_score_engines": "Spark in local mode, with the real encoder",
    "test_demo_data": "ingests the whole demo corpus",
    "test_fuzz": "hypothesis fuzzing of every command with many examples",
    "test_review_browser": "a real Chromium driven by Playwright",
    "test_harvest": "crawls of local HTTP servers with real delays and timeouts",
    "test_wheel_install": "builds a wheel and installs it into a fresh virtual environment",
}
REAL_ENCODER = "the real encoder (and, on a fresh machine, building its int8 model)"
PYTHON_M = "a fresh `python -m matrixcoder` process"
EVALUATE = "the whole evaluate command: cross-fitting, 1000 bootstrap resamples, plots"
AGREEMENT = "more runs of the agreement command, each drawing its plots (one stays fast)"
HYPOTHESIS = "hypothesis: 25-150 generated examples, each a document or report round trip"
SLOW_TESTS = {
    "test_train_with_the_real_encoder": REAL_ENCODER,
    "test_predict_with_the_real_encoder": REAL_ENCODER,
    "test_real_default_encoder_embeds_and_caches": REAL_ENCODER,
    "test_diagnose_command_with_the_real_encoder": REAL_ENCODER,
    "test_html_report_renders_its_plots_in_headless_chromium": "headless Chromium screenshots",
    "test_examples_with_writers_are_validated_on_unseen_writers": "a training with writer folds, within-writer runs and a learning curve",
    "test_default_model_is_trained_once_and_retrained_when_examples_change": "two default-model trainings logged to MLflow",
    "test_train_command_prints_the_comparison": "the train command with baselines, logged to MLflow",
    "test_train_learns_from_reviewed_units_beside_the_examples": "the train command (3 x 3 folds)",
    "test_trained_units_are_found_by_unit_and_cross_fitted": "a training, then models cross-fitted on its training file",
    "test_mlflow_run_logs_params_metrics_artifacts_and_a_pyfunc_model": "a training logged to a new MLflow store, the pyfunc reloaded",
    "test_mlflow_run_gets_metrics_when_active": "a new MLflow store",
    "test_retrain_merges_decisions_and_swaps_the_model_in": "a retraining from the review app",
    "test_interval_is_agreement_bootstrap_ci_on_the_same_draws": "bootstrap intervals recomputed with the reference functions",
    "test_cli_exit_code_says_something_failed": PYTHON_M,
    "test_a_batch_where_every_file_fails_prints_each_reason": PYTHON_M,
    "test_codebook_show_prints_every_dimension": PYTHON_M,
    "test_cli_reports_broken_codebook_in_one_line_with_exit_2": PYTHON_M,
    "test_a_million_character_line_ingests": "segments a million-character line",
    "test_evaluate_command_prints_model_beside_humans": EVALUATE,
    "test_evaluate_excludes_trained_units_when_the_training_file_is_gone": EVALUATE,
    "test_evaluate_report_says_how_many_units_were_cross_fitted": EVALUATE,
    "test_report_says_how_gold_is_formed_and_why_figures_differ_from_the_card": EVALUATE,
    "test_every_command_has_help": "the help of every command",
    "test_missing_required_parameter_is_one_line_and_exit_2": "every required parameter of every command",
    "test_bad_option_value_is_one_line_and_exit_2": "every typed option of every command",
    "test_unknown_option_is_one_line_and_exit_2": "every command",
    "test_every_folder_output_refuses_the_users_folder": "every command that writes a folder",
    "test_file_output_that_is_a_folder_is_refused_even_with_force": "every command that writes a file, with and without --force",
    "test_existing_file_output_needs_force": "every command that writes a file",
    "test_rare_labels_are_marked_as_no_evidence": AGREEMENT,
    "test_few_doubly_coded_units_are_warned_about": AGREEMENT,
    "test_columns_name_whose_codes_they_show": AGREEMENT,
    "test_offsets_round_trip_for_any_text": HYPOTHESIS,
    "test_offsets_round_trip_through_pdf_line_repair": HYPOTHESIS,
    "test_round_trip_property": HYPOTHESIS,
    "test_multi_coder_alpha_with_missing_matches_reference": HYPOTHESIS,
}


def pytest_configure(config):
    """Warn about entries above that no longer name a test (renamed or removed): they mark nothing."""
    tests = Path(__file__).parent
    sources = "\n".join(path.read_text(encoding="utf-8") for path in tests.glob("test_*.py"))
    stale = [name for name in SLOW_MODULES if not (tests / f"{name}.py").is_file()]
    stale += [name for name in SLOW_TESTS if f"def {name}(" not in sources]
    if stale:
        config.issue_config_time_warning(pytest.PytestConfigWarning(f"conftest.py marks slow what no test module defines: {stale}"), 2)


def pytest_ignore_collect(collection_path, config):
    """Under exactly `-m "not slow"`, skip importing the SLOW_MODULES, all of whose tests would be
    deselected anyway (saves over a second of imports and assertion rewriting)."""
    if collection_path.stem in SLOW_MODULES and " ".join((config.getoption("markexpr") or "").split()) == "not slow":
        return True
    return None


def pytest_collection_modifyitems(items):
    for item in items:
        why = SLOW_MODULES.get(item.module.__name__.rsplit(".", 1)[-1]) or SLOW_TESTS.get(item.originalname)
        if why:
            item.add_marker(pytest.mark.slow(reason=why))
