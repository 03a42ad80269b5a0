"""Reports in Markdown, JSON and one self-contained HTML file, all rendered from one :class:`Report`.

A command builds a ``Report`` once: ``data`` (the JSON) and the ``sections`` (tables, text,
plots) are made from the same result object, so the three files cannot disagree. Plots are
base64 PNG embedded in the HTML; the Markdown lists the same tables and points to the HTML for
the plots.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matrixcoder.console import console, print_table
from matrixcoder.fileio import output_folder

__all__ = ["Plot", "Report", "Section", "Table", "log_report", "print_report", "write_report"]


@dataclass(frozen=True)
class Table:
    """A table of already formatted cells."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class Plot:
    """A figure as base64 PNG, with a caption."""

    caption: str
    png_base64: str


@dataclass(frozen=True)
class Section:
    """A heading with paragraphs, tables and plots, in that order."""

    heading: str
    paragraphs: Sequence[str] = ()
    tables: Sequence[Table] = ()
    plots: Sequence[Plot] = ()


@dataclass(frozen=True)
class Report:
    """Everything a report file shows.

    Attributes:
        name: File stem: ``<name>.md``, ``<name>.json``, ``<name>.html``.
        title: First heading.
        data: The JSON content (finite numbers or null, never NaN).
        sections: What the Markdown and HTML show.
        metrics: Headline figures for MLflow (defined values only).
        console_tables: Indices into the sections' tables (flattened) printed on the terminal.
    """

    name: str
    title: str
    data: dict
    sections: Sequence[Section]
    metrics: dict[str, float] = field(default_factory=dict)
    console_tables: Sequence[int] = (0,)

    @property
    def tables(self) -> list[Table]:
        return [table for section in self.sections for table in section.tables]


def _markdown_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    """The report as Markdown (plots are named and live in the HTML file)."""
    lines = [f"# {report.title}", ""]
    for section in report.sections:
        lines += [f"## {section.heading}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        for table in section.tables:
            lines += [f"**{table.title}**", ""]
            lines.append("| " + " | ".join(_markdown_cell(c) for c in table.columns) + " |")
            lines.append("|" + "|".join("---" for _ in table.columns) + "|")
            lines += ["| " + " | ".join(_markdown_cell(c) for c in row) + " |" for row in table.rows]
            lines.append("")
        for plot in section.plots:
            lines += [f"*Plot in {report.name}.html: {plot.caption}*", ""]
    return "\n".join(lines)


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
figure { margin: 1em 0 2em; }
figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; }
"""


def render_html(report: Report) -> str:
    """One self-contained HTML page: inline CSS, plots as data URIs, no external resources."""
    escape = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(report.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
    ]
    for section in report.sections:
        parts.append(f"<h2>{escape(section.heading)}</h2>")
        parts += [f"<p>{escape(paragraph)}</p>" for paragraph in section.paragraphs]
        for table in section.tables:
            parts.append(f"<table><caption>{escape(table.title)}</caption><thead><tr>")
            parts += [f"<th>{escape(str(c))}</th>" for c in table.columns]
            parts.append("</tr></thead><tbody>")
            for row in table.rows:
                parts.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
            parts.append("</tbody></table>")
        for plot in section.plots:
            parts.append(
                f'<figure><img alt="{escape(plot.caption)}" src="data:image/png;base64,{plot.png_base64}">'
                f"<figcaption>{escape(plot.caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: Report, out: str | Path, *, force: bool = False) -> list[Path]:
    """Write ``<name>.json``, ``<name>.md`` and ``<name>.html`` into ``out``.

    Everything is rendered before the first file is written, so a rendering error leaves no
    file behind. ``out`` follows :func:`~matrixcoder.fileio.output_folder` with the report's
    name as the command: other files in it are never touched.
    """
    out = Path(out)
    contents = {
        f"{report.name}.json": json.dumps(report.data, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
        f"{report.name}.md": render_markdown(report),
        f"{report.name}.html": render_html(report),
    }
    with output_folder(out, report.name, force=force) as folder:
        for filename, text in contents.items():
            (folder / filename).write_text(text, encoding="utf-8")
    return [out / filename for filename in contents]


def print_report(report: Report) -> None:
    """Print the report's console tables."""
    tables = report.tables
    for index in report.console_tables:
        table = tables[index]
        print_table(table.title, table.columns, table.rows)


def log_report(report: Report, files: Sequence[Path] = ()) -> bool:
    """Log metrics and files to the active MLflow run, if there is one.

    Returns:
        Whether a run was active.
    """
    import mlflow

    run = mlflow.active_run()
    if run is None:
        return False
    metrics = {key: value for key, value in report.metrics.items() if math.isfinite(value)}
    if metrics:
        mlflow.log_metrics(metrics)
    if files:
        for path in files:
            mlflow.log_artifact(str(path), artifact_path=report.name)
    else:
        mlflow.log_dict(report.data, f"{report.name}/{report.name}.json")
    console.print(f"Logged to MLflow run {run.info.run_id}")
    return True
