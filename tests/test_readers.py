import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matrixcoder.corpus import read_document, segment
from matrixcoder.corpus.readers import _join_pdf_lines, text_to_document
from matrixcoder.errors import InputError

SAMPLE = "Home | Study | News\nUna Europa offers micro-credentials worth 10 ECTS. Les étudiants peuvent les cumuler.\n"


def assert_offsets_round_trip(document):
    units = segment(document)
    assert units, "a readable document gives units"
    for unit in units:
        assert document.text[unit.start : unit.end] == unit.text
        assert unit.text == unit.text.strip() and unit.text
    return units


def test_txt_with_crlf_bom_and_emoji(tmp_path):
    path = tmp_path / "page.txt"
    path.write_bytes(("\ufeff" + SAMPLE + "Bravo 🎓 à tous!\r\n").replace("\n", "\r\n").encode("utf-8"))
    document = read_document(path)
    assert "\r" not in document.text and not document.text.startswith("\ufeff")
    texts = [u.text for u in assert_offsets_round_trip(document)]
    assert texts == [
        "Home | Study | News",
        "Una Europa offers micro-credentials worth 10 ECTS.",
        "Les étudiants peuvent les cumuler.",
        "Bravo 🎓 à tous!",
    ]


def test_markdown_markup_is_removed(tmp_path):
    path = tmp_path / "faq.md"
    path.write_text("# FAQ\n\n- **Can I stack them?** Yes, see [the rules](https://x.eu).\n", encoding="utf-8")
    document = read_document(path)
    assert document.text == "FAQ\n\nCan I stack them? Yes, see the rules."
    assert_offsets_round_trip(document)


def test_html_keeps_main_text_only(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>T</title><style>body{color:red}</style><script>var tracking = 1;</script></head><body>"
        "<nav><a href='/'>Home</a> <a href='/study'>Study</a></nav>"
        "<div id='cookie-banner'>We use cookies.</div>"
        "<main><h1>Micro-credentials at CIVIS</h1>"
        "<p>CIVIS micro-programmes are short learning experiences open to undergraduate students of all member universities.</p>"
        "<p>Each programme combines online preparation with a week of teaching on another campus in the alliance.</p></main>"
        "<footer>Contact us: info@example.eu</footer></body></html>",
        encoding="utf-8",
    )
    document = read_document(path)
    assert "CIVIS micro-programmes are short learning experiences" in document.text
    for boilerplate in ["tracking", "color:red", "Study", "info@example.eu"]:
        assert boilerplate not in document.text
    assert_offsets_round_trip(document)


def test_pdf_pages_hyphenation_and_page_numbers(tmp_path, make_pdf):
    path = make_pdf(
        tmp_path / "report.pdf",
        [
            ["Alliance report", "The partners agreed on a common recog-", "nition procedure for short courses."],
            ["Micro-", "credentials remain small in scale.", "Funding after the pilot is unclear."],
        ],
    )
    document = read_document(path)
    assert "common recognition procedure" in document.text
    assert "Micro-credentials remain small" in document.text
    units = assert_offsets_round_trip(document)
    pages = {u.text: u.page for u in units}
    assert pages["The partners agreed on a common recognition procedure for short courses."] == 1
    assert pages["Funding after the pilot is unclear."] == 2


def test_docx_paragraphs_and_tables(tmp_path, make_docx):
    path = make_docx(
        tmp_path / "guide.docx",
        ["Guidelines for micro-credentials in ENHANCE.", "Każdy kurs ma 5 punktów ECTS."],
        table=[["Course", "ECTS"], ["Green skills", "5"]],
    )
    document = read_document(path)
    assert document.text.splitlines() == [
        "Guidelines for micro-credentials in ENHANCE.",
        "Każdy kurs ma 5 punktów ECTS.",
        "Course | ECTS",
        "Green skills | 5",
    ]
    assert_offsets_round_trip(document)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n ", "empty file"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("latin1.txt", "Universität Köln".encode("latin-1"), "not UTF-8 text"),
        ("corrupt.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage", "PDF"),
        ("corrupt.docx", b"PK\x03\x04 this is not really a zip", "corrupt or unreadable DOCX"),
        ("picture.png", b"\x89PNG", "unsupported file type"),
    ],
)
def test_unreadable_files_raise_one_clear_error(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_document(path)
    assert problem in caught.value.problem
    assert caught.value.source == str(path)


def test_language_is_detected_offline(tmp_path):
    texts = {
        "de": "Die Allianz bietet kurze Lernangebote an, die mit Leistungspunkten abgeschlossen werden.",
        "fr": "L'alliance propose des formations courtes qui donnent droit à des crédits européens.",
        "en": "The alliance offers short learning opportunities that carry European credits.",
    }
    for language, text in texts.items():
        path = tmp_path / f"{language}.txt"
        path.write_text(text, encoding="utf-8")
        assert read_document(path).language == language


text_pieces = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
        st.sampled_from(["\r\n", "\n\n", "recog-\nnition", "micro-\ncredential", "🎓", "ș", " \u00a0 ", ". ", "? ", "\t"]),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(pieces=text_pieces)
def test_offsets_round_trip_for_any_text(tmp_path_factory, pieces):
    raw = "".join(pieces)
    if not any(ch.isalnum() for ch in raw):
        return
    path = tmp_path_factory.mktemp("prop") / "doc.txt"
    path.write_bytes(raw.encode("utf-8"))
    try:
        document = read_document(path)
    except InputError as exc:  # only an all-whitespace file or a NUL byte may be refused
        assert "empty" in exc.problem or "binary" in exc.problem or "no text" in exc.problem
        return
    for unit in segment(document):
        assert document.text[unit.start : unit.end] == unit.text


@settings(max_examples=100, deadline=None)
@given(pages=st.lists(text_pieces.map("".join), min_size=1, max_size=4))
def test_offsets_round_trip_through_pdf_line_repair(pages):
    joined = [_join_pdf_lines(page) for page in pages]
    if not any(ch.isalnum() for page in joined for ch in page):
        return
    document = text_to_document(joined, source="x.pdf", kind="pdf", doc_id="x", sha256="0")
    for unit in segment(document):
        assert document.text[unit.start : unit.end] == unit.text
        assert 1 <= unit.page <= len(pages)


def test_a_page_of_100000_nested_divs_keeps_its_text(tmp_path):
    """libxml2 gives up on deep nesting; the text must not vanish with it."""
    page = tmp_path / "nested.html"
    sentence = "Micro-credentials are offered to all learners of the alliance."
    page.write_text(f"<html><body>{'<div>' * 100_000}<p>{sentence}</p>{'</div>' * 100_000}</body></html>", encoding="utf-8")
    assert read_document(page).text == sentence


def test_a_docx_that_expands_to_gigabytes_is_one_bad_file(tmp_path, make_docx):
    """A few hundred kilobytes that decompress past the cap: refused before python-docx reads it."""
    import zipfile

    from matrixcoder.corpus import ingest_paths
    from matrixcoder.corpus.readers import DOCX_LIMITS

    (tmp_path / "in").mkdir()
    good = make_docx(tmp_path / "in" / "good.docx", ["Micro-credentials are stackable across the alliance."])
    bomb = tmp_path / "in" / "bomb.docx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename == "word/document.xml":
                target.writestr(item, b" " * (DOCX_LIMITS.max_entry_bytes + 1024))
            else:
                target.writestr(item, source.read(item))
    assert bomb.stat().st_size < 2_000_000
    with pytest.raises(InputError, match="corrupt or unreadable DOCX.*beyond"):
        read_document(bomb)
    result = ingest_paths([tmp_path / "in"], tmp_path / "corpus")
    assert [d.doc_id for d in result.documents] == ["good"]
    assert [source for source, _ in result.failures] == [str(bomb)]
