"""The shipped demo corpus and hand-coded examples: they ingest cleanly and hold the promised counts."""

from collections import Counter

import pytest

from matrixcoder.corpus import ingest_paths, load_corpus
from matrixcoder.errors import InputError
from matrixcoder.labels import read_coded_units
from matrixcoder.labels.alliances import read_alliances
from matrixcoder.labels.codebook import DEFAULT_CODEBOOK
from matrixcoder.labels.counts import label_counts

DEMO = DEFAULT_CODEBOOK.parent.parent / "corpus" / "demo"
EXAMPLES = DEFAULT_CODEBOOK.parent / "examples.jsonl"


@pytest.fixture(scope="module")
def demo_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "corpus"
    result = ingest_paths([DEMO], out)
    assert result.failures == []
    return load_corpus(out)


@pytest.fixture(scope="module")
def examples(codebook):
    return read_coded_units(EXAMPLES, codebook)


def test_demo_corpus_is_varied(demo_corpus):
    """Issue 12's promises: 200+ documents, all 65 alliances, five formats, 12%+ non-English units in 6+ languages."""
    documents, units = demo_corpus.documents, demo_corpus.units
    assert len(documents) >= 200
    known = {alliance.acronym for alliance in read_alliances()}
    assert set(documents["alliance"]) == known and documents["alliance"].notna().all()
    assert set(documents["format"]) == {"txt", "md", "html", "pdf", "docx"}
    language = units["doc_id"].map(documents.set_index("doc_id")["language"])
    assert (language != "en").mean() >= 0.12 and language[language != "en"].nunique() >= 6
    # Lengths like the web: most documents are short, a minority are long reports.
    assert documents["n_units"].median() <= 40


def test_demo_offsets_round_trip(demo_corpus):
    texts = demo_corpus.documents.set_index("doc_id")["text"]
    for unit in demo_corpus.units.itertuples():
        assert texts[unit.doc_id][unit.start : unit.end] == unit.text


def test_examples_point_into_the_demo_documents(demo_corpus, examples):
    texts = demo_corpus.documents.set_index("doc_id")["text"]
    for unit in examples:
        assert texts[unit.doc_id][unit.start : unit.end] == unit.text


def test_examples_hold_the_promised_counts(codebook, examples):
    """8,000+ units by coder A in 200+ documents by 12+ writers; 45%+ with no code; 40+ positives per
    label, none taking over 40% of them from one writer; 1,000+ units coded blind by B, over every writer."""
    coder_a = [u for u in examples if u.coder == "A"]
    assert len(coder_a) >= 8000 and len({u.doc_id for u in coder_a}) >= 200
    writers = {u.writer for u in coder_a}
    assert None not in writers and len(writers) >= 12
    assert sum(not u.codes for u in coder_a) / len(coder_a) >= 0.45
    counts = label_counts(coder_a, codebook)["A"]
    assert (counts >= 40).all(), counts[counts < 40].to_dict()
    for label in codebook.label_ids:
        per_writer = Counter(u.writer for u in coder_a if label in u.codes)
        assert max(per_writer.values()) <= 0.4 * sum(per_writer.values()), (label, per_writer.most_common(2))
    a_ids = {u.unit_id for u in coder_a}
    coder_b = [u for u in examples if u.coder == "B"]
    assert len(coder_b) >= 1000 and {u.unit_id for u in coder_b} <= a_ids
    assert {u.writer for u in coder_b} == writers
    assert Counter(u.coder for u in examples).keys() == {"A", "B", "adjudicated"}


def test_unknown_code_names_the_line(tmp_path, codebook):
    lines = EXAMPLES.read_text(encoding="utf-8").splitlines()[:3]
    lines.append(lines[0].replace('"coder": "A"', '"coder": "Z"').replace('"codes": [', '"codes": ["XX9", '))
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl:4: unknown code 'XX9'"):
        read_coded_units(path, codebook)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"doc_id": "d", "unit_id": "u", "text": "t", "codes": ["SI1"]', "malformed JSON"),
        ('["not", "an", "object"]', "each line must be a JSON object"),
        ('{"doc_id": "d", "unit_id": "u", "text": "t", "codes": "SI1", "coder": "A"}', "'codes' must be a list"),
        ('{"doc_id": "d", "unit_id": "u", "text": "t", "codes": [], "coder": "A", "start": 3}', "both 'start' and 'end'"),
        ('{"doc_id": "d", "text": "t", "codes": [], "coder": "A"}', "'unit_id' must be a non-empty string"),
    ],
)
def test_malformed_coded_units_are_rejected_with_line_number(tmp_path, codebook, line, problem):
    path = tmp_path / "coded.jsonl"
    path.write_text('{"doc_id": "d", "unit_id": "u0", "text": "ok", "codes": [], "coder": "A"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_coded_units(path, codebook)
    assert caught.value.source == f"{path}:2" and problem in caught.value.problem
