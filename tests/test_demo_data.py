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
    documents = demo_corpus.documents
    assert len(documents) >= 50
    assert documents["alliance"].nunique() >= 25 and documents["alliance"].notna().all()
    assert set(documents["format"]) == {"txt", "md", "html", "pdf", "docx"}
    assert (documents["language"] != "en").sum() >= 4
    known = {alliance.acronym for alliance in read_alliances()}
    assert set(documents["alliance"]) <= known


def test_demo_offsets_round_trip(demo_corpus):
    texts = demo_corpus.documents.set_index("doc_id")["text"]
    for unit in demo_corpus.units.itertuples():
        assert texts[unit.doc_id][unit.start : unit.end] == unit.text


def test_examples_point_into_the_demo_documents(demo_corpus, examples):
    texts = demo_corpus.documents.set_index("doc_id")["text"]
    for unit in examples:
        assert texts[unit.doc_id][unit.start : unit.end] == unit.text


def test_examples_hold_the_promised_counts(codebook, examples):
    coder_a = [u for u in examples if u.coder == "A"]
    assert len(coder_a) >= 900
    assert sum(not u.codes for u in coder_a) / len(coder_a) >= 0.30
    counts = label_counts(coder_a, codebook)["A"]
    assert (counts >= 15).all(), counts[counts < 15].to_dict()
    a_ids = {u.unit_id for u in coder_a}
    b_ids = {u.unit_id for u in examples if u.coder == "B"}
    assert len(b_ids) >= 250 and b_ids <= a_ids
    assert Counter(u.coder for u in examples).keys() == {"A", "B"}


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
