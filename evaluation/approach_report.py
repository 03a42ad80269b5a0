"""The ``report approaches`` report: Table 2 recomputed, compared with the paper, and Figure 1 redrawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from matrixcoder.evaluation.plots import launch_year_figure
from matrixcoder.evaluation.reports import Plot, Report, Section, Table
from matrixcoder.labels.alliances import DEFAULT_ALLIANCES
from matrixcoder.labels.approaches import (
    AllianceCoding,
    ApproachTable,
    Comparison,
    approach_table,
    compare_with_paper,
    read_alliance_coding,
)
from matrixcoder.labels.codebook import Codebook

__all__ = ["approaches_report", "launch_years", "paper_row_differences"]


def launch_years(coding: AllianceCoding) -> tuple[list[int], list[int], list[int]]:
    """Figure 1's bars: launch years, alliances mentioning micro-credentials, and the others.

    An alliance mentions micro-credentials when it shows at least one label (in the paper, the
    41 alliances of Table 2 are those that mention them). Alliances without a known launch
    year are left out.
    """
    mentions = np.any(coding.marks, axis=1)
    years = sorted({year for year in coding.launch_years if year is not None})
    yes = [sum(1 for y, m in zip(coding.launch_years, mentions, strict=False) if y == year and m) for year in years]
    no = [sum(1 for y, m in zip(coding.launch_years, mentions, strict=False) if y == year and not m) for year in years]
    return years, yes, no


def paper_row_differences(table: ApproachTable, codebook: Codebook) -> list[tuple[str, str, str, str]]:
    """Alliance x type cells where ``table`` differs from the paper's rows (``labels/alliances.csv``).

    Returns:
        ``(alliance, type name, here, paper)`` with "X" or "" for each side.
    """
    paper = approach_table(read_alliance_coding(DEFAULT_ALLIANCES, codebook), codebook)
    paper_marks = dict(zip(paper.alliances, paper.marks, strict=False))
    here_marks = dict(zip(table.alliances, table.marks, strict=False))
    differences = []
    for alliance in dict.fromkeys([*paper.alliances, *table.alliances]):
        ours, theirs = here_marks.get(alliance), paper_marks.get(alliance)
        for k, name in enumerate(table.type_names):
            mark_here = "X" if ours is not None and ours[k] else ""
            mark_paper = "X" if theirs is not None and theirs[k] else ""
            if mark_here != mark_paper:
                differences.append((alliance, name, mark_here, mark_paper))
    return differences


def approaches_report(path: str | Path, codebook: Codebook) -> tuple[ApproachTable, Comparison, Report]:
    """Read alliance coding, recompute Table 2, compare with the paper, draw Figure 1.

    Raises:
        InputError: Bad alliance CSV or no alliance coded.
    """
    coding = read_alliance_coding(path, codebook)
    table = approach_table(coding, codebook)
    comparison = compare_with_paper(table)
    is_paper = Path(path).resolve() == DEFAULT_ALLIANCES.resolve()
    differences = [] if is_paper else paper_row_differences(table, codebook)
    years, yes, no = launch_years(coding)

    marks = Table(
        f"Approaches per alliance (N = {table.n_coded} coded of {table.n_listed} listed)",
        ["Alliance", *table.type_names, "Types per alliance"],
        [
            [alliance, *["X" if m else "" for m in row], str(int(row.sum()))]
            for alliance, row in zip(table.alliances, table.marks, strict=False)
        ]
        + [["No. and % of alliances per type", *[f"{c} ({p:.2f}%)" for c, p in zip(table.counts, table.percents, strict=False)], ""]],
    )
    beside = Table(
        "Recomputed from the rows vs printed in the paper (Table 2 totals row, N = 41)",
        ["type", "rows here", "% here", "paper", "% paper", "count agrees", "% agrees"],
        [
            [r["name"], str(r["count"]), r["percent"], str(r["printed_count"]), r["printed_percent"],
             "yes" if r["count_agrees"] else "NO", "yes" if r["percent_agrees"] else "NO"]
            for r in comparison.rows
        ],
    )  # fmt: skip
    multi = Table(
        "Alliances with three or more types",
        ["recomputed", "named in the paper (section 4.2)"],
        [[", ".join(comparison.multi_recomputed) or "none", ", ".join(comparison.multi_printed)]],
    )
    found = Table(
        "Discrepancies",
        ["#", "discrepancy"],
        [[str(i), text] for i, text in enumerate(comparison.discrepancies, 1)] or [["–", "none"]],
    )
    sections = [
        Section(
            "Table 2 recomputed",
            [f"Source: {path}. Percentages are out of the {table.n_coded} alliances coded, as in the paper."],
            [marks],
        ),
        Section("Beside the paper", tables=[beside, multi, found]),
    ]
    if differences:
        sections.append(
            Section(
                "Cells that differ from the paper's rows",
                [f"The paper's rows are those of {DEFAULT_ALLIANCES.name} (Table 2 as printed)."],
                [Table("Differences", ["alliance", "type", "here", "paper"], [list(d) for d in differences])],
            )
        )
    sections.append(
        Section(
            "Figure 1 redrawn",
            ["Alliances by launch year, split by whether they show at least one label (mention micro-credentials)."],
            plots=[
                Plot(
                    "Alliances by launching year and explicit mention of micro-credentials",
                    launch_year_figure(years, yes, no, f"Alliances by launch year (N = {sum(yes) + sum(no)})"),
                )
            ],
        )
    )
    data = {
        "source": str(path),
        "table": table.to_json(),
        "comparison": comparison.to_json(),
        "differences_from_paper_rows": [dict(zip(("alliance", "type", "here", "paper"), d, strict=False)) for d in differences],
        "figure_1": {"launch_years": years, "mention": yes, "no_mention": no},
    }
    metrics = {f"approaches.count.{t}": float(c) for t, c in zip(table.type_ids, table.counts, strict=False)}
    report = Report("approaches", f"Approaches on micro-credentials per alliance: {path}", data, sections, metrics, (0, 1, 2, 3))
    return table, comparison, report
