import json
import subprocess
import sys

import pandas as pd
import pytest

from matrixcoder.corpus import ingest_paths, load_corpus
from matrixcoder.errors import InputError

ALLIANCES = (
    "alliance,launch_year,name,aliases,website\n"
    "CIVIS,2019,CIVIS - A European Civic University,,https://civis.eu\n"
    "EU-CONEXUS,2019,European University for Smart Urban Coastal Sustainability,EU-CONNEXUS,https://eu-conexus.eu\n"
    "INVEST,2020,INVEST - Innovation for Sustainability,,https://invest-alliance.eu\n"
)


@pytest.fixture
def batch(tmp_path, make_pdf, make_docx):
    root = tmp_path / "in"
    (root / "CIVIS").mkdir(parents=True)
    (root / "CIVIS" / "civis-news.txt").write_text("CIVIS opens new micro-programmes.\nRegister now.", encoding="utf-8")
    (root / "story.md").write_text("The EU-CONNEXUS alliance offers free micro-credentials. EU-CONEXUS says so.", encoding="utf-8")
    (root / "invest-word.txt").write_text("We invest in people. Nothing else here.", encoding="utf-8")
    make_pdf(root / "report.pdf", [["INVEST report.", "Short courses grew."]])
    make_docx(root / "guide.docx", ["A guide without any alliance name."])
    (root / "empty.txt").write_bytes(b"")
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 nonsense")
    (root / "binary.html").write_bytes(b"\x00\x01\x02\x03binary")
    (root / "latin1.txt").write_bytes("Université".encode("latin-1"))
    alliances = tmp_path / "alliances.csv"
    alliances.write_text(ALLIANCES, encoding="utf-8")
    return root, alliances


def test_batch_ingests_good_files_and_reports_each_bad_one(tmp_path, batch):
    root, alliances = batch
    result = ingest_paths([root], tmp_path / "corpus", alliances=alliances)
    failed = {source.rsplit("/", 1)[-1]: problem for source, problem in result.failures}
    assert set(failed) == {"empty.txt", "broken.pdf", "binary.html", "latin1.txt"}
    assert "not UTF-8" in failed["latin1.txt"] and "binary" in failed["binary.html"]

    corpus = load_corpus(tmp_path / "corpus")
    documents = corpus.documents.set_index("doc_id")
    assert sorted(documents.index) == ["civis-news", "guide", "invest-word", "report", "story"]
    assert documents.loc["civis-news", "alliance"] == "CIVIS"  # folder name
    assert documents.loc["story", "alliance"] == "EU-CONEXUS"  # alias and acronym in the text
    assert documents.loc["report", "alliance"] == "INVEST"  # acronym, case-sensitive
    assert pd.isna(documents.loc["invest-word", "alliance"])  # the verb "invest" is not the alliance
    assert pd.isna(documents.loc["guide", "alliance"])
    assert (documents["n_units"] == corpus.units.groupby("doc_id").size()).all()
    for unit in corpus.units.itertuples():
        assert documents.loc[unit.doc_id, "text"][unit.start : unit.end] == unit.text
    assert corpus.units.set_index("unit_id").loc["report-002", "page"] == 1

    manifest = pd.read_csv(tmp_path / "corpus" / "manifest.csv")
    assert {"doc_id", "alliance", "source", "sha256", "language", "n_units", "ingested_at"} <= set(manifest.columns)
    info = json.loads((tmp_path / "corpus" / "corpus.json").read_text())
    assert info["documents"] == 5 and len(info["failures"]) == 4


def test_metadata_csv_wins_over_folder_and_text(tmp_path, batch):
    root, alliances = batch
    metadata = tmp_path / "meta.csv"
    metadata.write_text("file,alliance\nguide.docx,CIVIS\nCIVIS/civis-news.txt,INVEST\n", encoding="utf-8")
    result = ingest_paths([root], tmp_path / "corpus", metadata=metadata, alliances=alliances)
    by_id = {d.doc_id: d.alliance for d in result.documents}
    assert by_id["guide"] == "CIVIS" and by_id["civis-news"] == "INVEST"


def test_nothing_readable_writes_nothing_and_keeps_old_corpus(tmp_path, batch):
    root, alliances = batch
    out = tmp_path / "corpus"
    ingest_paths([root / "CIVIS"], out, alliances=alliances)
    result = ingest_paths([root / "empty.txt", root / "broken.pdf"], out, alliances=alliances)
    assert not result.written and len(result.failures) == 2
    assert list(load_corpus(out).documents["doc_id"]) == ["civis-news"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alliances.csv", "corpus", "in"]


def test_a_batch_where_every_file_fails_prints_each_reason(tmp_path, batch):
    root, alliances = batch
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "matrixcoder",
            "ingest",
            str(root / "empty.txt"),
            str(root / "broken.pdf"),
            "--out",
            str(tmp_path / "c"),
            "--alliances",
            str(alliances),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    lines = run.stderr.splitlines()
    assert any("empty.txt" in line for line in lines) and any("broken.pdf" in line for line in lines)
    assert "no document could be ingested" in lines[-1]
    assert not (tmp_path / "c").exists()


def test_cli_exit_code_says_something_failed(tmp_path, batch):
    root, alliances = batch
    run = subprocess.run(
        [sys.executable, "-m", "matrixcoder", "ingest", str(root), "--out", str(tmp_path / "c"), "--alliances", str(alliances)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "documents\tunits" in run.stdout
    error_lines = [line for line in run.stderr.splitlines() if line.startswith("matrixcoder: error:")]
    assert len(error_lines) == 4 and any("broken.pdf" in line and "PDF" in line for line in error_lines)
    assert load_corpus(tmp_path / "c").info["documents"] == 5


def test_not_a_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="not a corpus folder"):
        load_corpus(tmp_path)
