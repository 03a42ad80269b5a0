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
