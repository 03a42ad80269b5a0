"""Render the demo corpus's PDF and DOCX files from their Markdown sources.

Each ``NAME.pdf.md`` or ``NAME.docx.md`` under ``corpus/demo_sources/`` becomes
``corpus/demo/<same folder>/NAME.pdf`` or ``.docx``. The sources are kept so the
binaries can be reviewed and rebuilt. Markdown subset: ``#``/``##`` headings,
``- `` bullets, paragraphs separated by blank lines, and a line ``---page---``
for a page break (PDF only).

Run: ``.venv/bin/python corpus/demo_sources/render.py``
"""

from __future__ import annotations

from pathlib import Path

import docx
import matplotlib
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import ListFlowable, ListItem, PageBreak, Paragraph, SimpleDocTemplate

SOURCES = Path(__file__).resolve().parent
DEMO = SOURCES.parent / "demo"
# matplotlib ships DejaVu, which covers every EU alphabet; reportlab's core fonts do not.
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _blocks(markdown: str) -> list[tuple[str, str]]:
    blocks: list[tuple[str, str]] = []
    for chunk in markdown.replace("\r\n", "\n").split("\n\n"):
        chunk = chunk.strip()
        if not chunk:
            continue
        if chunk == "---page---":
            blocks.append(("page", ""))
        elif chunk.startswith("## "):
            blocks.append(("h2", chunk[3:]))
        elif chunk.startswith("# "):
            blocks.append(("h1", chunk[2:]))
        elif chunk.startswith("- "):
            for item in chunk.split("\n"):
                blocks.append(("bullet", item.removeprefix("- ").strip()))
        else:
            blocks.append(("p", " ".join(chunk.split("\n"))))
    return blocks


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_pdf(markdown: str, target: Path) -> None:
    pdfmetrics.registerFont(TTFont("DejaVu", str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("DejaVu-Bold", str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    styles = {
        "h1": ParagraphStyle("h1", fontName="DejaVu-Bold", fontSize=16, leading=20, spaceAfter=10),
        "h2": ParagraphStyle("h2", fontName="DejaVu-Bold", fontSize=12, leading=16, spaceBefore=8, spaceAfter=6),
        "p": ParagraphStyle("p", fontName="DejaVu", fontSize=10, leading=14, spaceAfter=6),
    }
    story = []
    for kind, text in _blocks(markdown):
        if kind == "page":
            story.append(PageBreak())
        elif kind == "bullet":
            story.append(ListFlowable([ListItem(Paragraph(_escape(text), styles["p"]))], bulletType="bullet"))
        else:
            story.append(Paragraph(_escape(text), styles[kind]))

    def footer(canvas, doc):  # page numbers are realistic noise for the extractor
        canvas.setFont("DejaVu", 8)
        canvas.drawString(72, 30, f"Page {doc.page}")

    SimpleDocTemplate(str(target), pagesize=A4).build(story, onFirstPage=footer, onLaterPages=footer)


def render_docx(markdown: str, target: Path) -> None:
    document = docx.Document()
    for kind, text in _blocks(markdown):
        if kind == "h1":
            document.add_heading(text, level=1)
        elif kind == "h2":
            document.add_heading(text, level=2)
        elif kind == "bullet":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "p":
            document.add_paragraph(text)
    document.save(str(target))


def main() -> None:
    for source in sorted(SOURCES.rglob("*.md")):
        name = source.name.removesuffix(".md")
        target = DEMO / source.parent.relative_to(SOURCES) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        markdown = source.read_text(encoding="utf-8")
        if name.endswith(".pdf"):
            render_pdf(markdown, target)
        elif name.endswith(".docx"):
            render_docx(markdown, target)
        else:
            continue
        print(target.relative_to(DEMO.parent.parent))


if __name__ == "__main__":
    main()
