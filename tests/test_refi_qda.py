"""REFI-QDA: codebook and project export (schema-valid, stable), import of human coding, hostile files."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
from cli_runner import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from matrixcoder.corpus.segment import sentence_spans
from matrixcoder.errors import InputError
from matrixcoder.inference.suggest import CodeSuggestion, DocumentSuggestion, Evidence, export_suggestions
from matrixcoder.interop.qdpx_export import ExportDocument, export_qdpx
from matrixcoder.interop.qdpx_import import CrlfCount, ImportConfig, OverlapRule, import_qdpx
from matrixcoder.interop.refi_qda import ReadLimits, code_guid, write_qdc
from matrixcoder.labels.coded_units import read_coded_units

SCHEMAS = Path(__file__).resolve().parents[1].parent / "shared" / "refi-qda"
NS = "urn:QDA-XML:project:1.0"
# Accents, emoji outside the BMP (one code point, two UTF-16 units) and CRLF line ends.
TEXT = (
    "Les étudiants 🎓 peuvent cumuler des micro-crédits.\r\n"
    "The alliance offers stackable modules 🚀 across campuses.\r\n\r\n"
    "Nothing to code here.\r\n"
    "Mobility is recognised via ECTS across the alliance."
)
ANA = "11111111-1111-1111-1111-111111111111"
BEN = "22222222-2222-2222-2222-222222222222"
SOURCE = "33333333-3333-3333-3333-333333333333"


def schema(name: str) -> etree.XMLSchema:
    path = SCHEMAS / name
    if not path.is_file():
        pytest.skip(f"REFI-QDA schema {path} not found (the schemas live in ../shared/refi-qda/ beside the repository)")
    return etree.XMLSchema(etree.parse(str(path)))


def write_zip(path: Path, entries: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def project_xml(sources: str, codes: str = "", origin: str = "test", base_path: str = "") -> str:
    codes = codes or f'<Code guid="{code_guid("SI6")}" name="SI6 – Cross-institutional recognition" isCodable="true"/>'
    base = f' basePath="{base_path}"' if base_path else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{NS}" name="t" origin="{origin}"{base}>'
        f'<Users><User guid="{ANA}" name="Ana"/><User guid="{BEN}" name="Ben"/></Users>'
        f"<CodeBook><Codes>{codes}</Codes></CodeBook><Sources>{sources}</Sources></Project>"
    )


def selection(start: int, end: int, code: str, user: str = ANA, guid_tail: int = 1) -> str:
    return (
        f'<PlainTextSelection guid="44444444-4444-4444-4444-{guid_tail:012d}" startPosition="{start}" endPosition="{end}" creatingUser="{user}">'
        f'<Coding guid="55555555-5555-5555-5555-{guid_tail:012d}" creatingUser="{user}"><CodeRef targetGUID="{code}"/></Coding>'
        "</PlainTextSelection>"
    )


def text_source(selections: str, path: str = f"internal://{SOURCE}.txt", name: str = "H01.txt") -> str:
    return f'<TextSource guid="{SOURCE}" name="{name}" plainTextPath="{path}">{selections}</TextSource>'


# --- export ----------------------------------------------------------------------------------


def test_codebook_qdc_validates_nests_codes_and_is_stable(tmp_path, codebook):
    first, second = tmp_path / "a.qdc", tmp_path / "b.qdc"
    write_qdc(codebook, first)
    write_qdc(codebook, second)
    assert first.read_bytes() == second.read_bytes(), "uuid5 GUIDs: re-exports match"
    tree = etree.parse(str(first))
    assert schema("Codebook.xsd").validate(tree), schema("Codebook.xsd").error_log
    ns = {"c": "urn:QDA-XML:codebook:1.0"}
    parents = tree.findall("c:Codes/c:Code", ns)
    assert all(p.get("isCodable") == "false" for p in parents)
    assert [p.get("name") for p in parents][-1] == "Approach types"
    nested = {c.get("name").split(" – ")[0] for c in tree.findall("c:Codes/c:Code/c:Code", ns)}
    assert nested == set(codebook.label_ids)
    assert tree.find(f"c:Codes/c:Code/c:Code[@guid='{code_guid('SI1')}']", ns).get("name") == "SI1 – Fully integrated"


def test_codebook_export_command(tmp_path, monkeypatch, capsys):
    out = tmp_path / "codebook.qdc"
    code, _, _ = run_cli(monkeypatch, capsys, "codebook", "export", "--format", "qdc", "-o", out)
    assert code == 0 and etree.parse(str(out)).getroot().tag == "{urn:QDA-XML:codebook:1.0}CodeBook"


def spans_and_suggestions() -> tuple[list[tuple[int, int]], list[tuple[str, int, int, float]]]:
    spans = sentence_spans(TEXT)
    assert len(spans) == 4
    return spans, [("CL1", *spans[0], 0.91), ("SI6", *spans[1], 0.72), ("CL6", *spans[1], 0.61), ("CL6", *spans[3], 0.55)]


def test_project_export_validates_and_carries_user_confidence_and_text(tmp_path, codebook):
    _, suggestions = spans_and_suggestions()
    out = tmp_path / "s.qdpx"
    export_qdpx([ExportDocument("h01", "H01.txt", TEXT, suggestions)], "default", codebook, out)
    with zipfile.ZipFile(out) as archive:
        qde = etree.fromstring(archive.read("project.qde"))
        source = qde.find(f"{{{NS}}}Sources/{{{NS}}}TextSource")
        stored = archive.read("sources/" + source.get("plainTextPath").removeprefix("internal://"))
    assert schema("Project.xsd").validate(qde.getroottree()), schema("Project.xsd").error_log
    assert stored.decode("utf-8") == TEXT, "the text is stored byte for byte, CRLF included"
    user = qde.find(f"{{{NS}}}Users/{{{NS}}}User")
    assert user.get("name") == "matrixcoder default"
    selections = source.findall(f"{{{NS}}}PlainTextSelection")
    assert [(s.get("startPosition"), s.get("endPosition")) for s in selections] == [(str(a), str(b)) for _, a, b, _ in suggestions]
    assert all(s.get("creatingUser") == user.get("guid") for s in selections)
    assert "0.9100" in selections[0].findtext(f"{{{NS}}}Description")
    assert selections[0].find(f".//{{{NS}}}CodeRef").get("targetGUID") == code_guid("CL1")
    again = tmp_path / "again.qdpx"
    export_qdpx([ExportDocument("h01", "H01.txt", TEXT, suggestions)], "default", codebook, again)
    assert again.read_bytes() == out.read_bytes()


def test_export_refuses_codes_outside_the_codebook(tmp_path, codebook):
    with pytest.raises(ValueError, match="XX9"):
        export_qdpx([ExportDocument("h01", "H01.txt", "Some text.", [("XX9", 0, 4, 0.5)])], "m", codebook, tmp_path / "x.qdpx")
    assert not (tmp_path / "x.qdpx").exists()


def test_suggestions_export_reads_the_documents_text(tmp_path, codebook):
    path = tmp_path / "H02 Report.txt"
    path.write_text("Intro line.\nMicro-credentials are stackable towards degrees.\n", encoding="utf-8")
    start = path.read_text().index("Micro")
    sentence = "Micro-credentials are stackable towards degrees."
    evidence = Evidence("h02-report-002", sentence, start, start + len(sentence), 0.8)
    suggestion = DocumentSuggestion("h02-report", str(path), 2, [CodeSuggestion("CL1", "Stackable modules", "CL", 0.8, 1, [evidence])])
    out = tmp_path / "s.qdpx"
    export_suggestions([suggestion], "default", codebook, out)
    units = import_qdpx(out, codebook).units
    assert [(u.unit_id, u.codes, u.start) for u in units] == [("h02-report-001", (), 0), ("h02-report-002", ("CL1",), start)]
    path.write_text("Changed entirely, nothing matches.\n", encoding="utf-8")
    with pytest.raises(InputError, match="changed"):
        export_suggestions([suggestion], "default", codebook, out)


# --- import ----------------------------------------------------------------------------------


def test_round_trip_keeps_codings_and_offsets(tmp_path, codebook, monkeypatch, capsys):
    spans, suggestions = spans_and_suggestions()
    project = tmp_path / "s.qdpx"
    export_qdpx([ExportDocument("h01", "H01.txt", TEXT, suggestions)], "default", codebook, project)
    out = tmp_path / "coded.jsonl"
    code, stdout, _ = run_cli(monkeypatch, capsys, "import", "qdpx", project, "-o", out)
    assert code == 0 and "matrixcoder default" in stdout
    units = read_coded_units(out, codebook)
    expected = {span: tuple(c for c, a, b, _ in suggestions if (a, b) == span) for span in spans}
    assert {(u.start, u.end): u.codes for u in units} == expected
    assert all(TEXT[u.start : u.end] == u.text for u in units)
    assert {u.coder for u in units} == {"matrixcoder default"} and units[0].unit_id == "h01-001"


WORDS = st.sampled_from(["étudiants", "crédits", "🎓", "𝔘𝔫𝔦", "Zürich", "ECTS", "modules", "ŁÓDŹ", "año"])
# A sentence needs a letter: the segmenter drops units made only of symbols such as "🎓.".
SENTENCES = st.tuples(st.sampled_from(["crédits", "Zürich", "año"]), st.lists(WORDS, max_size=5)).map(
    lambda words: " ".join([words[0], *words[1]]).capitalize() + "."
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sentences=st.lists(SENTENCES, min_size=1, max_size=6),
    breaks=st.lists(st.sampled_from([" ", "\r\n", "\n", "\r\n\r\n"]), min_size=6, max_size=6),
    picks=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["SI1", "CL6", "AP-MC"])), max_size=8),
)
def test_round_trip_property(tmp_path, codebook, sentences, breaks, picks):
    text = "".join(sentence + brk for sentence, brk in zip(sentences, breaks, strict=False)).rstrip()
    spans = sentence_spans(text)
    suggestions = sorted({(code, *spans[i % len(spans)], 0.5) for i, code in picks})
    project = tmp_path / "p.qdpx"
    export_qdpx([ExportDocument("d1", "D1.txt", text, suggestions)], "m", codebook, project)
    units = import_qdpx(project, codebook, ImportConfig(overlap=OverlapRule.inside)).units
    got = {(u.start, u.end, code) for u in units for code in u.codes}
    assert got == {(a, b, code) for code, a, b, _ in suggestions}
    assert all(text[u.start : u.end] == u.text for u in units) and len(units) == (len(spans) if suggestions else 0)


def build_atlas_project(tmp_path: Path, origin: str, users: tuple[str, str] = (ANA, ANA)) -> tuple[Path, list[tuple[int, int]]]:
    """Positions as ATLAS.ti counts them: each \\r\\n is one character."""
    spans = sentence_spans(TEXT)
    collapsed = TEXT.replace("\r\n", "\n")
    tool = [(collapsed.index(TEXT[a:b]), collapsed.index(TEXT[a:b]) + (b - a)) for a, b in spans]
    sels = selection(*tool[1], code_guid("SI6"), users[0], 1) + selection(*tool[3], code_guid("SI6"), users[1], 2)
    files = {"project.qde": project_xml(text_source(sels), origin=origin), f"sources/{SOURCE}.txt": TEXT}
    return write_zip(tmp_path / f"{origin}.qdpx", files), spans


def test_atlas_crlf_positions_are_detected_and_converted(tmp_path, codebook):
    # "inside" makes a selection off by even one character visible.
    def coded(path: Path, crlf: CrlfCount) -> list[tuple[int, int]]:
        config = ImportConfig(overlap=OverlapRule.inside, crlf=crlf)
        return [(u.start, u.end) for u in import_qdpx(path, codebook, config).units if u.codes]

    atlas, spans = build_atlas_project(tmp_path, origin="ATLAS.ti Windows 23.2")
    assert coded(atlas, CrlfCount.auto) == [spans[1], spans[3]]
    assert coded(atlas, CrlfCount.two) != [spans[1], spans[3]], "read as code points, they land elsewhere"
    other, _ = build_atlas_project(tmp_path, origin="Another tool")
    assert coded(other, CrlfCount.auto) != [spans[1], spans[3]]
    assert coded(other, CrlfCount.one) == [spans[1], spans[3]]


def test_bom_relative_absolute_and_inline_sources(tmp_path, codebook):
    text = "First sentence here. Second sentence about ECTS."
    start = text.index("Second")
    sels = selection(start, len(text), code_guid("SI6"))
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "h01.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    cases = {
        "relative": (text_source(sels, "relative://texts/h01.txt"), {}),
        "absolute": (text_source(sels, f"absolute://{tmp_path / 'texts' / 'h01.txt'}"), {}),
        "internal-bom": (text_source(sels), {f"sources/{SOURCE}.txt": b"\xef\xbb\xbf" + text.encode()}),
        "inline": (f'<TextSource guid="{SOURCE}" name="H01.txt"><PlainTextContent>{text}</PlainTextContent>{sels}</TextSource>', {}),
    }
    for name, (source, files) in cases.items():
        path = write_zip(tmp_path / f"{name}.qdpx", {"project.qde": project_xml(source)} | files)
        units = import_qdpx(path, codebook, ImportConfig(sources=tmp_path)).units
        assert [(u.text, u.codes) for u in units] == [("First sentence here.", ()), ("Second sentence about ECTS.", ("SI6",))], name
        assert units[1].start == start, name


def test_sources_outside_the_archive_need_a_named_folder_and_stay_inside_it(tmp_path, codebook):
    """A project cannot make the import read /etc/passwd or climb out of --sources."""
    text = "First sentence here. Second sentence about ECTS."
    sels = selection(0, 5, code_guid("SI6"))
    inside = tmp_path / "sources"
    inside.mkdir()
    (inside / "h01.txt").write_text(text, encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret line one. Secret line two.", encoding="utf-8")
    (inside / "link.txt").symlink_to(secret)
    refused = {
        "absolute:///etc/passwd": ImportConfig(),
        "relative://h01.txt": ImportConfig(),
        "absolute:///etc/passwd ": ImportConfig(sources=inside),
        "relative://../secret.txt": ImportConfig(sources=inside),
        "relative://link.txt": ImportConfig(sources=inside),
    }
    for reference, config in refused.items():
        path = write_zip(tmp_path / "p.qdpx", {"project.qde": project_xml(text_source(sels, reference.strip()))})
        with pytest.raises(InputError, match="H01.txt"):
            import_qdpx(path, codebook, config)
    path = write_zip(tmp_path / "p.qdpx", {"project.qde": project_xml(text_source(sels, "relative://h01.txt"))})
    assert len(import_qdpx(path, codebook, ImportConfig(sources=inside)).units) == 2


def test_phrase_selections_code_their_sentence_and_spill_does_not_code_the_neighbour(tmp_path, codebook):
    """Coders highlight phrases: under the default rule each coding reaches the sentence it was meant for."""
    sentences = [
        "The certificate is recognised by all member universities of the alliance and listed in the catalogue.",
        "Learners can stack three units into a larger award.",
        "Courses run online with one week on campus.",
    ]
    text = " ".join(sentences)
    phrase = "recognised by all member universities"
    second = text.index(sentences[1])
    third = text.index(sentences[2])
    sels = (
        selection(text.index(phrase), text.index(phrase) + len(phrase), code_guid("SI6"), guid_tail=1)  # a phrase
        + selection(second, third + 3, code_guid("CL1"), guid_tail=2)  # the sentence plus 3 characters of the next
        + selection(second, text.index("one week"), code_guid("CL3"), guid_tail=3)  # spans two
    )
    codes = "".join(f'<Code guid="{code_guid(c)}" name="{c}" isCodable="true"/>' for c in ("SI6", "CL1", "CL3"))
    project = project_xml(text_source(sels), codes=codes)
    path = write_zip(tmp_path / "p.qdpx", {"project.qde": project, f"sources/{SOURCE}.txt": text})
    result = import_qdpx(path, codebook)
    assert [u.codes for u in result.units] == [("SI6",), ("CL1", "CL3"), ("CL3",)]
    assert not any("reach no sentence" in note for note in result.notes)


def test_selections_that_reach_no_unit_are_reported_per_coder(tmp_path, codebook):
    text = "A first sentence that is rather long indeed. And a second one that is long too."
    sels = selection(text.index("indeed."), text.index("And") + 3, code_guid("SI6"))
    path = write_zip(tmp_path / "p.qdpx", {"project.qde": project_xml(text_source(sels)), f"sources/{SOURCE}.txt": text})
    result = import_qdpx(path, codebook, ImportConfig(overlap=OverlapRule.inside))
    assert [u.codes for u in result.units] == [(), ()]
    assert any("1 coding(s) reach no sentence unit" in note for note in result.notes)


def test_overlap_rules(tmp_path, codebook):
    text = "Alpha beta gamma delta. Epsilon zeta eta theta."
    # Selects the last three words of the first sentence and the first word of the second.
    sels = selection(text.index("beta"), text.index("zeta"), code_guid("SI6"))
    path = write_zip(tmp_path / "p.qdpx", {"project.qde": project_xml(text_source(sels)), f"sources/{SOURCE}.txt": text})
    coded = {rule: [u.codes for u in import_qdpx(path, codebook, ImportConfig(overlap=rule)).units] for rule in OverlapRule}
    assert coded[OverlapRule.any] == [("SI6",), ("SI6",)]
    # Three quarters of the selection lies in the first sentence, a quarter in the second.
    assert coded[OverlapRule.half] == [("SI6",), ()]
    assert coded[OverlapRule.inside] == [(), ()]


def test_users_become_coders_and_codes_map_by_prefix_name_parent_and_mapping(tmp_path, codebook, monkeypatch, capsys):
    text = "One about recognition. Two about stacking. Three about mobility. Four is memo material."
    s = [
        (text.index(w), text.index(w) + len(w))
        for w in ("One about recognition.", "Two about stacking.", "Three about mobility.", "Four is memo material.")
    ]
    codes = (
        '<Code guid="aaaaaaaa-0000-0000-0000-000000000001" name="Curriculum" isCodable="false">'
        '<Code guid="aaaaaaaa-0000-0000-0000-000000000002" name="cl1: stackable" isCodable="true"/>'
        '<Code guid="aaaaaaaa-0000-0000-0000-000000000003" name="Student mobility integration" isCodable="true">'
        '<Code guid="aaaaaaaa-0000-0000-0000-000000000004" name="Erasmus+ only" isCodable="true"/></Code></Code>'
        '<Code guid="aaaaaaaa-0000-0000-0000-000000000005" name="Recognised across partners" isCodable="true"/>'
        '<Code guid="aaaaaaaa-0000-0000-0000-000000000006" name="Quote for the paper" isCodable="true"/>'
    )
    sels = (
        selection(*s[0], "aaaaaaaa-0000-0000-0000-000000000005", ANA, 1)
        + selection(*s[1], "{AAAAAAAA-0000-0000-0000-000000000002}", ANA, 2)
        + selection(*s[2], "aaaaaaaa-0000-0000-0000-000000000004", BEN, 3)
        + selection(*s[3], "aaaaaaaa-0000-0000-0000-000000000006", BEN, 4)
    )
    path = write_zip(tmp_path / "p.qdpx", {"project.qde": project_xml(text_source(sels), codes=codes), f"sources/{SOURCE}.txt": text})
    out = tmp_path / "coded.jsonl"
    code, _, err = run_cli(monkeypatch, capsys, "import", "qdpx", path, "-o", out)
    assert code == 2 and "Recognised across partners' (1 codings)" in err and "Quote for the paper" in err
    assert not out.exists(), "nothing half-written"
    draft = tmp_path / "map.csv"
    assert run_cli(monkeypatch, capsys, "import", "qdc", path, "-o", draft)[0] == 0
    assert "Erasmus+ only,Curriculum / Student mobility integration / Erasmus+ only,CL6,parent" in draft.read_text()
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("name,code\nRecognised across partners,SI6\nQuote for the paper,-\n", encoding="utf-8")
    code, _, _ = run_cli(monkeypatch, capsys, "import", "qdpx", path, "-o", out, "--mapping", mapping)
    assert code == 0
    units = read_coded_units(out, codebook)
    by_coder = {coder: [u.codes for u in units if u.coder == coder] for coder in ("Ana", "Ben")}
    assert by_coder == {"Ana": [("SI6",), ("CL1",), (), ()], "Ben": [(), (), ("CL6",), ()]}
    mapping.write_text("name,code\nRecognised across partners,ZZ1\n", encoding="utf-8")
    code, _, err = run_cli(monkeypatch, capsys, "import", "qdpx", path, "-o", out, "--mapping", mapping, "--force")
    assert code == 2 and "ZZ1" in err


def test_selection_outside_the_text_is_an_error_with_a_hint(tmp_path, codebook):
    path = write_zip(
        tmp_path / "p.qdpx",
        {"project.qde": project_xml(text_source(selection(0, 500, code_guid("SI6")))), f"sources/{SOURCE}.txt": "Short text."},
    )
    with pytest.raises(InputError, match="outside the text"):
        import_qdpx(path, codebook)


# --- hostile and broken files ---------------------------------------------------------------

XXE = f'<?xml version="1.0"?><!DOCTYPE Project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Project xmlns="{NS}" name="&xxe;"/>'
LAUGHS = (
    f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Project xmlns="{NS}" name="&lol2;"/>'
)


def patched_declared_size(path: Path, size: int) -> Path:
    """Rewrite the uncompressed size in every central-directory header (a lying archive)."""
    data = bytearray(path.read_bytes())
    position = data.find(b"PK\x01\x02")
    while position != -1:
        struct.pack_into("<I", data, position + 24, size)
        position = data.find(b"PK\x01\x02", position + 4)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "entries, problem",
    [
        ({"project.qde": project_xml(""), "../evil.txt": "x"}, "unsafe entry name"),
        ({"project.qde": project_xml(""), "/etc/evil.txt": "x"}, "unsafe entry name"),
        ({"project.qde": XXE}, "DOCTYPE"),
        ({"project.qde": LAUGHS}, "DOCTYPE"),
        ({"project.qde": "this is not xml"}, "not well-formed XML"),
        ({"notes.txt": "no project here"}, "no project.qde"),
        ({"project.qde": project_xml(text_source("", "internal://../../etc/passwd"))}, "unsafe internal path"),
        ({"project.qde": '<?xml version="1.0"?><Other/>'}, "not a REFI-QDA project"),
    ],
)
def test_hostile_or_broken_archives_exit_2(tmp_path, monkeypatch, capsys, entries, problem):
    path = tmp_path / "bad.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            # ZipFile.writestr would normalise a leading "/", so build the entry by hand.
            archive.writestr(zipfile.ZipInfo(name), data)
    code, _, err = run_cli(monkeypatch, capsys, "import", "qdpx", path, "-o", tmp_path / "out.jsonl")
    assert code == 2 and problem in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.jsonl").exists()


def test_not_a_zip_and_size_limits(tmp_path, monkeypatch, capsys, codebook):
    text_file = tmp_path / "fake.qdpx"
    text_file.write_text("just text", encoding="utf-8")
    code, _, err = run_cli(monkeypatch, capsys, "import", "qdpx", text_file, "-o", tmp_path / "o.jsonl")
    assert code == 2 and "not a zip archive" in err
    # A declared size of 2 GiB is refused before anything is decompressed.
    liar = patched_declared_size(write_zip(tmp_path / "liar.qdpx", {"project.qde": project_xml("")}), 2**31 - 1)
    code, _, err = run_cli(monkeypatch, capsys, "import", "qdpx", liar, "-o", tmp_path / "o.jsonl")
    assert code == 2 and "expands beyond" in err
    # A real bomb: 8 MiB of spaces compress to a few KiB; a small limit stops it.
    bomb = write_zip(tmp_path / "bomb.qdpx", {"project.qde": project_xml("") + " " * 8 * 2**20})
    with pytest.raises(InputError, match="expands beyond"):
        import_qdpx(bomb, codebook, ImportConfig(limits=ReadLimits(max_entry_bytes=2**20, max_total_bytes=2**21)))
    # Declared smaller than the data: reading stops at the declared size and the CRC fails.
    short = patched_declared_size(write_zip(tmp_path / "short.qdpx", {"project.qde": project_xml("")}), 10)
    with pytest.raises(InputError):
        import_qdpx(short, codebook)


def test_import_output_is_ready_for_agreement(tmp_path, codebook):
    """Two coders over the same units: the same unit ids and texts, as agreement needs."""
    path, _ = build_atlas_project(tmp_path, origin="ATLAS.ti", users=(ANA, BEN))
    units = import_qdpx(path, codebook).units
    by_coder = {c: [(u.unit_id, u.codes) for u in units if u.coder == c] for c in ("Ana", "Ben")}
    assert [u for u, _ in by_coder["Ana"]] == [u for u, _ in by_coder["Ben"]] and len(by_coder["Ana"]) == 4
    assert [c for _, c in by_coder["Ana"]] == [(), ("SI6",), (), ()] and [c for _, c in by_coder["Ben"]] == [(), (), (), ("SI6",)]
    out = tmp_path / "coded.jsonl"
    out.write_text("".join(json.dumps(u.to_json(), ensure_ascii=False) + "\n" for u in units), encoding="utf-8")
    assert len(read_coded_units(out, codebook)) == 8
