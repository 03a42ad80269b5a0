"""Table 2 of Cartiș & Iucu (2025) recomputed from labels/alliances.csv, against the printed figures."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from matrixcoder.cli import app
from matrixcoder.errors import InputError
from matrixcoder.evaluation.approach_report import launch_years
from matrixcoder.fileio import OWNER_FILE
from matrixcoder.labels.alliances import DEFAULT_ALLIANCES
from matrixcoder.labels.approaches import approach_table, compare_with_paper, read_alliance_coding


@pytest.fixture(scope="module")
def paper_table(codebook):
    return approach_table(read_alliance_coding(DEFAULT_ALLIANCES, codebook), codebook)


def test_columns_that_agree_with_the_printed_totals(paper_table) -> None:
    # Table 2, totals row (and section 4.2): Events 3 (7.31%), Micro-credentials 16 (39.02%),
    # Mission statements 20 (48.78%), Policy inputs 7 (17.07%), out of N = 41.
    counts = dict(zip(paper_table.type_ids, paper_table.counts.tolist(), strict=False))
    assert paper_table.n_coded == 41 and paper_table.n_listed == 65
    assert {t: counts[t] for t in ("AP-EVENT", "AP-MC", "AP-MISSION", "AP-POLICY")} == {
        "AP-EVENT": 3, "AP-MC": 16, "AP-MISSION": 20, "AP-POLICY": 7
    }  # fmt: skip
    rows = {row["id"]: row for row in compare_with_paper(paper_table).rows}
    for type_id, printed in (("AP-MC", "39.02%"), ("AP-MISSION", "48.78%"), ("AP-POLICY", "17.07%")):
        assert rows[type_id]["percent"] == printed and rows[type_id]["percent_agrees"]
    # 3/41 = 7.317...: 7.32% rounded; the paper prints 7.31%.
    assert rows["AP-EVENT"]["percent"] == "7.32%" and rows["AP-EVENT"]["count_agrees"]


def test_alliances_with_three_or_more_types_are_the_six_the_paper_names(paper_table) -> None:
    # Section 4.2: "6 alliances (4EU+, CIVIS, ECIU, ENHANCE, T4EU, UNA EUROPA)".
    assert sorted(paper_table.multi) == ["4EU+", "CIVIS", "ECIU", "ENHANCE", "T4EU", "UNA EUROPA"]


def test_discrepancies_between_the_rows_and_the_printed_totals_are_flagged(paper_table) -> None:
    # The paper's rows give Projects 6 and Guidelines 14; its totals row prints 5 (12.20%) and 15 (36.59%).
    comparison = compare_with_paper(paper_table)
    rows = {row["id"]: row for row in comparison.rows}
    assert (rows["AP-PROJ"]["count"], rows["AP-PROJ"]["printed_count"]) == (6, 5)
    assert (rows["AP-GUIDE"]["count"], rows["AP-GUIDE"]["printed_count"]) == (14, 15)
    text = " ".join(comparison.discrepancies)
    assert "Projects: the rows give 6 (14.63%); the paper prints 5 (12.20%)" in text
    assert "Guidelines: the rows give 14 (34.15%); the paper prints 15 (36.59%)" in text
    assert "Events" in text and "7.31%" in text
    # N, the >=3 list and the printed "Types per alliance" column all agree with the rows.
    assert len(comparison.discrepancies) == 3


def test_figure_1_counts(codebook) -> None:
    # Section 4.1: 41 of the 65 alliances (63%) mention micro-credentials. Launch years per
    # labels/alliances_sources.md: 2019: 16, 2020: 24, 2022: 4, 2023: 7, 2024: 14.
    years, yes, no = launch_years(read_alliance_coding(DEFAULT_ALLIANCES, codebook))
    assert years == [2019, 2020, 2022, 2023, 2024]
    assert sum(yes) == 41 and sum(no) == 24
    assert [y + n for y, n in zip(yes, no, strict=False)] == [16, 24, 4, 7, 14]


def test_score_alliance_matrix_is_read_from_evidence_columns(tmp_path, codebook) -> None:
    columns = ["alliance", "documents", "units"] + [f"{label}_{k}" for label in codebook.label_ids for k in ("confidence", "evidence")]
    values = {"CIVIS": {"AP-PROJ": 2, "AP-MC": 1, "AP-EVENT": 3}, "EDUC": {"AP-MC": 4}, "ERUA": {}}
    lines = [",".join(columns)]
    for alliance, evidence in values.items():
        cells = [alliance, "1", "10"]
        for label in codebook.label_ids:
            cells += ["0.5", str(evidence.get(label, 0))]
        lines.append(",".join(cells))
    path = tmp_path / "alliance_matrix.csv"
    path.write_text("\n".join(lines) + "\n")
    table = approach_table(read_alliance_coding(path, codebook), codebook)
    assert table.n_coded == 3  # every alliance of a scored corpus counts as coded
    assert table.types_per_alliance.tolist() == [3, 1, 0]
    assert table.multi == ("CIVIS",)
    years, yes, no = launch_years(read_alliance_coding(path, codebook))
    assert years == [2019, 2020] and yes == [2, 0] and no == [0, 1]  # launch years from the shipped list


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("alliance,launch_year,AP-PROJ\nX,2019,1\n", "missing approach-type column"),
        ("alliance,launch_year,AP-PROJ,AP-EVENT,AP-GUIDE,AP-MC,AP-MISSION,AP-POLICY\nX,2019,1,0,0,2,0,0\n", "must be 0, 1 or empty"),
        ("alliance,launch_year,AP-PROJ,AP-EVENT,AP-GUIDE,AP-MC,AP-MISSION,AP-POLICY\nX,2019,1,,0,0,0,0\n", "partly coded"),
        ("alliance,launch_year,AP-PROJ,AP-EVENT,AP-GUIDE,AP-MC,AP-MISSION,AP-POLICY\nX,2019,,,,,,\n", "no alliance is coded"),
        ("name\nX\n", "no 'alliance' column"),
    ],
)
def test_bad_alliance_csv(tmp_path, codebook, body, problem) -> None:
    path = tmp_path / "a.csv"
    path.write_text(body)
    with pytest.raises(InputError, match=problem):
        approach_table(read_alliance_coding(path, codebook), codebook)


def test_report_approaches_command_prints_the_comparison(tmp_path) -> None:
    result = CliRunner().invoke(app, ["report", "approaches", "--alliances", str(DEFAULT_ALLIANCES), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Projects: the rows give 6 (14.63%); the paper prints 5 (12.20%)" in result.output
    assert "4EU+, CIVIS, ECIU, UNA EUROPA, ENHANCE, T4EU" in result.output
    assert {p.name for p in tmp_path.iterdir()} == {"approaches.md", "approaches.json", "approaches.html", OWNER_FILE}
    assert "data:image/png;base64," in (tmp_path / "approaches.html").read_text()
