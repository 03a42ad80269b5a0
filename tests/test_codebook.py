import re
import subprocess
import sys

import pytest
import yaml

from matrixcoder.errors import InputError
from matrixcoder.labels import load_codebook

EXPECTED_IDS = (
    [f"SI{i}" for i in range(1, 7)]
    + [f"CL{i}" for i in range(1, 7)]
    + [f"SD4-{i}" for i in range(1, 6)]
    + [f"SD8-{i}" for i in range(1, 6)]
    + [f"CB{i}" for i in range(1, 7)]
    + [f"FD{i}" for i in range(1, 6)]
)
APPROACHES = ["AP-PROJ", "AP-EVENT", "AP-GUIDE", "AP-MC", "AP-MISSION", "AP-POLICY"]


def test_shipped_codebook_has_the_papers_matrix(codebook):
    assert [c.id for c in codebook.codes] == EXPECTED_IDS
    assert [a.id for a in codebook.approach_types] == APPROACHES
    assert len(codebook.label_ids) == 39
    dims = {d.id: d for d in codebook.dimensions}
    assert len(dims) == 7
    assert dims["RM"].has_codes is False and dims["RM"].order == 5
    assert all(c.indicator and c.name for c in codebook.labels)
    assert codebook.label("SD4-4").name == "Focus on digital inclusion"
    assert re.fullmatch(r"[0-9a-f]{64}", codebook.content_hash)


def _write_variant(tmp_path, edit):
    raw = yaml.safe_load(open(load_codebook().path, encoding="utf-8"))
    edit(raw)
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_hash_changes_with_content(tmp_path, codebook):
    def reword(raw):
        raw["codes"][0]["indicator"] = "Something else."

    assert load_codebook(_write_variant(tmp_path, reword)).content_hash != codebook.content_hash


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: raw["codes"][3].update(id="SI1"), "duplicate code id SI1"),
        (lambda raw: raw["codes"][2].update(dimension="XX"), "code SI3: unknown dimension 'XX'"),
        (lambda raw: raw["codes"][4].update(indicator="  "), "codes[4] (SI5): 'indicator' is missing or empty"),
        (lambda raw: raw["approach_types"][1].pop("definition"), "approach_types[1] (AP-EVENT): 'definition' is missing"),
        (lambda raw: raw["dimensions"][4].update(has_codes=True), "dimension RM has no codes"),
        (lambda raw: raw.pop("codes"), "'codes' must be a non-empty list"),
    ],
)
def test_broken_codebooks_are_rejected_with_the_entry(tmp_path, edit, message):
    path = _write_variant(tmp_path, edit)
    with pytest.raises(InputError) as caught:
        load_codebook(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_not_yaml_is_one_clear_error(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_text("codes: [unclosed", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        load_codebook(path)


def test_codebook_show_prints_every_dimension():
    out = subprocess.run([sys.executable, "-m", "matrixcoder", "codebook", "show"], capture_output=True, text=True, check=True).stdout
    for heading in ["1. Strategic integration", "5. Recognition mechanisms", "7. Future directions", "Approach types"]:
        assert heading in out
    assert "FD5" in out and "AP-POLICY" in out and "(no codes)" in out


def test_cli_reports_broken_codebook_in_one_line_with_exit_2(tmp_path):
    path = _write_variant(tmp_path, lambda raw: raw["codes"][3].update(id="SI1"))
    run = subprocess.run(
        [sys.executable, "-m", "matrixcoder", "codebook", "show", "--codebook", str(path)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0
    assert "duplicate code id SI1" in run.stderr
