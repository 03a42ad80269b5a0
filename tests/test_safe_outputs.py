"""Outputs never destroy a user's files; hostile names, links, text and sizes never crash a command.

Every check runs the real command line (``matrixcoder.cli.main``) on real files in a
temporary folder and compares the folders byte for byte before and after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cli_runner import run_cli

from matrixcoder import console as console_module
from matrixcoder.corpus import ingest as ingest_module
from matrixcoder.corpus import ingest_paths, load_corpus
from matrixcoder.encoding import embeddings
from matrixcoder.errors import InputError
from matrixcoder.fileio import OWNER_FILE, exclusive_lock
from matrixcoder.training import default_model

CORPUS_FILES = {"corpus.json", "documents.parquet", "manifest.csv", "units.parquet", OWNER_FILE}
MARKUP = "[/i] [link=file:///etc/passwd]x[/link] [red]alert[/red] [bold"


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``folder``, by relative path."""
    return {str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes() for path in sorted(folder.rglob("*"))}


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def no_model(monkeypatch):
    """Fail loudly if a command loads an encoder or a model: the checks must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    monkeypatch.setattr(embeddings, "load_encoder", refuse)
    monkeypatch.setattr(default_model, "resolve_model", refuse)


@pytest.fixture
def reads(monkeypatch):
    """Count the documents ``ingest`` reads."""
    calls = []
    real = ingest_module.read_document

    def counting(path, *args, **kwargs):
        calls.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "read_document", counting)
    return calls


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "civis.txt").write_text("CIVIS opens new micro-programmes. Register now.", encoding="utf-8")
    (folder / "invest.md").write_text("# INVEST\n\nShort courses grew. Learners stack them.", encoding="utf-8")
    return folder


@pytest.fixture
def keep(tmp_path):
    """A folder of the user's own, holding a file nobody may touch."""
    folder = tmp_path / "keep"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes, not a corpus\n", encoding="utf-8")
    return folder


# --- folder outputs (--out) ---------------------------------------------------------------


def test_ingest_refuses_a_folder_it_did_not_write(monkeypatch, capsys, docs, keep, reads):
    before = snapshot(keep)
    code, _, err = run_cli(monkeypatch, capsys, "ingest", docs, "--out", keep)
    assert code == 2
    line = one_error_line(err)
    assert str(keep) in line and "--force" in line
    assert snapshot(keep) == before and reads == []


def test_ingest_with_force_writes_its_files_beside_the_users(monkeypatch, capsys, docs, keep, reads):
    code, _, _ = run_cli(monkeypatch, capsys, "ingest", docs, "--out", keep, "--force")
    assert code == 0 and len(reads) == 2  # the spy the refusals rely on does see reads
    assert (keep / "notes.txt").read_text(encoding="utf-8") == "my notes, not a corpus\n"
    assert {p.name for p in keep.iterdir()} == CORPUS_FILES | {"notes.txt"}
    owner = json.loads((keep / OWNER_FILE).read_text(encoding="utf-8"))
    assert owner["command"] == "ingest" and "notes.txt" not in owner["files"]
    assert len(load_corpus(keep).documents) == 2


@pytest.mark.parametrize("where", ["same", "inside", "holds"])
def test_ingest_into_or_around_its_input_is_refused_before_work(monkeypatch, capsys, docs, reads, where):
    out = {"same": docs, "inside": docs / "corpus", "holds": docs.parent}[where]
    before = snapshot(docs.parent)
    code, _, err = run_cli(monkeypatch, capsys, "ingest", docs, "--out", out)
    assert code == 2
    assert "input" in one_error_line(err)
    assert snapshot(docs.parent) == before and reads == []


def test_ingest_again_into_its_own_output_replaces_only_its_files(monkeypatch, capsys, docs, tmp_path):
    out = tmp_path / "corpus"
    assert run_cli(monkeypatch, capsys, "ingest", docs, "--out", out)[0] == 0
    first = snapshot(out)
    (out / "my-analysis.txt").write_text("written by the user after ingest\n", encoding="utf-8")
    (out / "figures").mkdir()
    (out / "figures" / "plot.png").write_bytes(b"\x89PNG user figure")

    assert run_cli(monkeypatch, capsys, "ingest", docs, "--out", out)[0] == 0
    again = snapshot(out)
    assert set(again) == set(first) | {"my-analysis.txt", "figures", "figures/plot.png"}
    assert again["my-analysis.txt"] == b"written by the user after ingest\n"
    assert again["figures/plot.png"] == b"\x89PNG user figure"
    assert again["documents.parquet"] is not None and len(load_corpus(out).documents) == 2

    # Fewer inputs: the corpus shrinks, the user's files stay.
    (docs / "invest.md").unlink()
    assert run_cli(monkeypatch, capsys, "ingest", docs, "--out", out)[0] == 0
    assert list(load_corpus(out).documents["doc_id"]) == ["civis"]
    assert (out / "my-analysis.txt").is_file() and (out / "figures" / "plot.png").is_file()
    assert not any(p.name.startswith(".corpus.") for p in tmp_path.iterdir())  # no scratch left behind


def test_out_that_is_an_existing_file_is_refused(monkeypatch, capsys, docs, tmp_path, reads):
    target = tmp_path / "corpus"
    target.write_text("a file, not a folder\n", encoding="utf-8")
    code, _, err = run_cli(monkeypatch, capsys, "ingest", docs, "--out", target)
    assert code == 2 and "is a file" in one_error_line(err)
    assert target.read_text(encoding="utf-8") == "a file, not a folder\n" and reads == []
    code, _, err = run_cli(monkeypatch, capsys, "report", "approaches", "--out", target)
    assert code == 2 and "is a file" in one_error_line(err)
    assert target.read_text(encoding="utf-8") == "a file, not a folder\n"


def test_read_only_out_folder_is_refused_before_work(monkeypatch, capsys, docs, tmp_path, reads):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("chmod does not stop this user from writing (running as root)")
        code, _, err = run_cli(monkeypatch, capsys, "ingest", docs, "--out", locked / "corpus")
        assert code == 2 and "no write permission" in one_error_line(err)
        assert reads == [] and list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_read_only_check_names_the_folder(tmp_path, monkeypatch):
    """The same check without chmod: whatever ``os.access`` says decides, before any work."""
    from matrixcoder import fileio

    monkeypatch.setattr(fileio.os, "access", lambda path, mode: False)
    with pytest.raises(InputError, match="no write permission"):
        fileio.check_output_folder(tmp_path / "out", "ingest")
    assert not (tmp_path / "out").exists()


def _training_examples(path: Path) -> Path:
    path.write_text(
        "".join(
            json.dumps({"doc_id": f"D{d}", "unit_id": f"D{d}-{u}", "text": f"sentence {u}", "codes": [], "coder": "A"}) + "\n"
            for d in range(3)
            for u in range(2)
        ),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("command", ["train", "score", "agreement", "evaluate", "codebook diagnose", "report approaches", "harvest"])
def test_every_folder_output_refuses_the_users_folder(monkeypatch, capsys, tmp_path, docs, keep, no_model, command):
    examples = _training_examples(tmp_path / "examples.jsonl")
    seeds = tmp_path / "seeds.csv"
    seeds.write_text("alliance,url\nCIVIS,https://civis.invalid/\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    if command == "score":
        ingest_paths([docs], corpus)
    arguments = {
        "train": ["train", examples],
        "score": ["score", corpus, "--model", tmp_path / "model"],
        "agreement": ["agreement", examples],
        "evaluate": ["evaluate", examples, "--model", tmp_path / "model"],
        "codebook diagnose": ["codebook", "diagnose", examples],
        "report approaches": ["report", "approaches"],
        "harvest": ["harvest", seeds, "--contact", "test@example.org"],
    }[command]
    before = snapshot(tmp_path)
    code, _, err = run_cli(monkeypatch, capsys, *arguments, "--out", keep)
    assert code == 2, err
    error = [line for line in err.splitlines() if line.startswith("matrixcoder: error:")]
    assert len(error) == 1 and str(keep) in error[0] and "--force" in error[0], err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before


# --- file outputs (-o) --------------------------------------------------------------------


def _qdpx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", '<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0" name="p"/>')
    return path


def _units(path: Path) -> Path:
    path.write_text(json.dumps({"doc_id": "d", "unit_id": "d-1", "text": "Credits stack."}) + "\n", encoding="utf-8")
    return path


def _file_commands(tmp_path: Path, docs: Path) -> dict[str, list]:
    units = _units(tmp_path / "units.jsonl")
    return {
        "codebook export": ["codebook", "export"],
        "import qdpx": ["import", "qdpx", _qdpx(tmp_path / "project.qdpx")],
        "import qdc": ["import", "qdc", _qdpx(tmp_path / "codes.qdpx")],
        "import labelstudio": ["import", "labelstudio", units],
        "import prodigy": ["import", "prodigy", units],
        "import doccano": ["import", "doccano", units],
        "export labelstudio": ["export", "labelstudio", units],
        "export prodigy": ["export", "prodigy", units],
        "export doccano": ["export", "doccano", units],
        "suggest --format qdpx": ["suggest", docs / "civis.txt", "--format", "qdpx", "--model", tmp_path / "model"],
    }


FILE_COMMANDS = [
    "codebook export",
    "import qdpx",
    "import qdc",
    "import labelstudio",
    "import prodigy",
    "import doccano",
    "export labelstudio",
    "export prodigy",
    "export doccano",
    "suggest --format qdpx",
]


@pytest.mark.parametrize("command", FILE_COMMANDS)
@pytest.mark.parametrize("force", [False, True])
def test_file_output_that_is_a_folder_is_refused_even_with_force(monkeypatch, capsys, tmp_path, docs, keep, no_model, command, force):
    arguments = _file_commands(tmp_path, docs)[command]
    before = snapshot(tmp_path)
    code, _, err = run_cli(monkeypatch, capsys, *arguments, "-o", keep, *(["--force"] if force else []))
    assert code == 2
    line = one_error_line(err)
    assert str(keep) in line and "is a folder" in line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_existing_file_output_needs_force(monkeypatch, capsys, tmp_path, docs, no_model, command):
    arguments = _file_commands(tmp_path, docs)[command]
    target = tmp_path / "existing.out"
    target.write_text("the user's file\n", encoding="utf-8")
    before = snapshot(tmp_path)
    code, _, err = run_cli(monkeypatch, capsys, *arguments, "-o", target)
    assert code == 2
    line = one_error_line(err)
    assert str(target) in line and "--force" in line
    assert snapshot(tmp_path) == before


def test_force_replaces_an_existing_file_output(monkeypatch, capsys, tmp_path):
    target = tmp_path / "codebook.qdc"
    target.write_text("old\n", encoding="utf-8")
    code, _, _ = run_cli(monkeypatch, capsys, "codebook", "export", "-o", target, "--force")
    assert code == 0 and target.read_text(encoding="utf-8").startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codebook.qdc"]  # no scratch left behind


@pytest.mark.parametrize("command", ["import labelstudio", "import prodigy", "import doccano", "export doccano"])
def test_output_that_is_the_input_is_refused_even_with_force(monkeypatch, capsys, tmp_path, docs, command):
    arguments = _file_commands(tmp_path, docs)[command]
    source = arguments[-1]
    before = source.read_bytes()
    code, _, err = run_cli(monkeypatch, capsys, *arguments, "-o", source, "--force")
    assert code == 2 and "input" in one_error_line(err)
    assert source.read_bytes() == before


def test_a_failed_import_leaves_no_output_and_no_scratch(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "tasks.json"
    bad.write_text(json.dumps([{"data": {"doc_id": "d", "unit_id": "u", "text": "t"}, "annotations": [{"result": 5}]}]), encoding="utf-8")
    code, _, err = run_cli(monkeypatch, capsys, "import", "labelstudio", bad, "-o", tmp_path / "coded.jsonl")
    assert code == 2 and "task 0" in one_error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tasks.json"]


# --- two runs on one output: the lock ----------------------------------------------------


def test_lock_held_by_a_running_process_is_refused(tmp_path):
    lock = tmp_path / "scores.lock"
    holder = subprocess.Popen(["sleep", "60"])
    try:
        lock.write_text(f"{holder.pid}\n", encoding="utf-8")
        with pytest.raises(InputError, match=f"another run \\(pid {holder.pid}\\)"):
            with exclusive_lock(lock, str(tmp_path / "scores")):
                pytest.fail("the lock of a running process was taken")
        assert lock.read_text(encoding="utf-8") == f"{holder.pid}\n"  # still the holder's
    finally:
        holder.kill()
        holder.wait()


def test_lock_left_by_a_finished_process_is_taken_over(tmp_path):
    lock = tmp_path / "scores.lock"
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    lock.write_text(f"{finished.pid}\n", encoding="utf-8")
    with exclusive_lock(lock, "scores"):
        assert lock.read_text(encoding="utf-8") == f"{os.getpid()}\n"
    assert not lock.exists()


@pytest.mark.parametrize("content", ["", "not a pid\n", "-5\n"])
def test_unreadable_lock_is_taken_over(tmp_path, content):
    lock = tmp_path / "scores.lock"
    lock.write_text(content, encoding="utf-8")
    with exclusive_lock(lock, "scores"):
        assert lock.read_text(encoding="utf-8") == f"{os.getpid()}\n"
    assert not lock.exists()


def test_lock_is_released_when_the_block_fails(tmp_path):
    lock = tmp_path / "scores.lock"
    with pytest.raises(RuntimeError):
        with exclusive_lock(lock, "scores"):
            raise RuntimeError("interrupted")
    assert not lock.exists()
    with exclusive_lock(lock, "scores"):  # and can be taken again
        assert lock.exists()


def test_second_lock_in_another_process_is_refused(tmp_path):
    """Two real processes: the second run refuses while the first holds the lock."""
    lock = tmp_path / "scores.lock"
    script = (
        "import sys, time\n"
        "from matrixcoder.fileio import exclusive_lock\n"
        "with exclusive_lock(sys.argv[1], 'scores'):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    first = subprocess.Popen([sys.executable, "-c", script, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match="another run"):
            with exclusive_lock(lock, "scores"):
                pytest.fail("two runs held one lock")
    finally:
        first.kill()
        first.wait()
    with exclusive_lock(lock, "scores"):  # the killed run's lock is taken over
        assert lock.read_text(encoding="utf-8") == f"{os.getpid()}\n"


# --- hostile text, links and sizes --------------------------------------------------------


def test_markup_in_text_is_printed_literally_in_a_terminal(monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich's switch: behave as a terminal
    monkeypatch.setenv("COLUMNS", "200")
    shipped = console_module.console
    assert shipped.is_terminal
    with shipped.capture() as captured:
        console_module.print_table(f"Title {MARKUP}", ["text", MARKUP], [[MARKUP, "[/]"], ["[b]bold?[/b]", None]])
    shown = captured.get()
    assert "┃" in shown or "│" in shown  # the boxed terminal table, not the tab-separated one
    for literal in (MARKUP, "[/]", "[b]bold?[/b]", f"Title {MARKUP}"):
        assert literal in shown
    assert "\x1b]8;" not in shown  # no hyperlink escape was emitted


def test_markup_in_coder_names_reaches_a_terminal_literally(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", "250")
    tasks = tmp_path / "tasks.json"
    annotation = {"completed_by": {"email": MARKUP}, "result": [{"type": "choices", "value": {"choices": ["CL1"]}}]}
    tasks.write_text(
        json.dumps([{"data": {"doc_id": "d", "unit_id": "d-1", "text": MARKUP}, "annotations": [annotation]}]), encoding="utf-8"
    )
    code, out, err = run_cli(monkeypatch, capsys, "import", "labelstudio", tasks, "-o", tmp_path / "coded.jsonl")
    assert code == 0 and "Traceback" not in err
    assert MARKUP in out and "┃" in out


def test_long_notes_stay_one_line_when_piped(monkeypatch, capsys, tmp_path):
    """rich wraps at 80 columns when output is not a terminal; a note or path must not be split."""
    folder = tmp_path / ("a-folder-with-a-long-name-" * 4)
    folder.mkdir()
    export = folder / "ana.jsonl"
    line = json.dumps({"doc_id": "d", "unit_id": "d-1", "text": "Credits stack.", "label": ["CL1"]}) + "\n"
    export.write_text(line + line, encoding="utf-8")
    code, _, err = run_cli(monkeypatch, capsys, "import", "doccano", export, "-o", folder / "coded.jsonl")
    assert code == 0
    notes = err.strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith("note: ") and notes[0].endswith("the later annotation is kept")
    with console_module.console.capture() as captured:
        console_module.console.print(f"Wrote 3 tasks to {folder / 'tasks.json'} and the labelling config to {folder / 'tasks-config.xml'}")
    assert len(captured.get().splitlines()) == 1


def test_symlink_to_a_file_outside_is_skipped_with_a_note(monkeypatch, capsys, tmp_path, docs):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret text from outside the folder.", encoding="utf-8")
    (docs / "link.txt").symlink_to(outside / "secret.txt")

    code, _, err = run_cli(monkeypatch, capsys, "ingest", docs, "--out", tmp_path / "c1")
    assert code == 0 and "Traceback" not in err
    notes = [line for line in err.splitlines() if "symbolic link" in line]
    assert len(notes) == 1 and "link.txt" in notes[0] and "--follow-symlinks" in notes[0]
    documents = load_corpus(tmp_path / "c1").documents
    assert sorted(documents["doc_id"]) == ["civis", "invest"]
    assert not documents["text"].str.contains("Secret").any()

    code, _, err = run_cli(monkeypatch, capsys, "ingest", docs, "--out", tmp_path / "c2", "--follow-symlinks")
    assert code == 0 and "symbolic link" not in err
    documents = load_corpus(tmp_path / "c2").documents.set_index("doc_id")
    assert sorted(documents.index) == ["civis", "invest", "link"]
    assert documents.loc["link", "text"] == "Secret text from outside the folder."


def test_symlink_to_a_folder_outside_is_noted_and_read_with_follow(monkeypatch, capsys, tmp_path, docs):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret text from outside the folder.", encoding="utf-8")
    (docs / "linked-folder").symlink_to(outside, target_is_directory=True)
    code, _, err = run_cli(monkeypatch, capsys, "ingest", docs, "--out", tmp_path / "c1")
    assert code == 0 and "linked-folder" in err and "symbolic link" in err
    code, _, err = run_cli(monkeypatch, capsys, "ingest", docs, "--out", tmp_path / "c2", "--follow-symlinks")
    assert code == 0 and load_corpus(tmp_path / "c2").documents["text"].str.contains("Secret").any()


def test_a_million_character_line_ingests(monkeypatch, capsys, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    words = ("stackable credits " * 70_000).strip()  # 1.26 million characters, no line break, no full stop
    (docs / "one-line.txt").write_text(words, encoding="utf-8")
    (docs / "no-spaces.txt").write_text("x" * 1_050_000, encoding="utf-8")
    (docs / "small.txt").write_text("A normal document. It has two sentences.", encoding="utf-8")
    code, _, err = run_cli(monkeypatch, capsys, "ingest", docs, "--out", tmp_path / "corpus")
    assert code == 0, err
    corpus = load_corpus(tmp_path / "corpus")
    texts = corpus.documents.set_index("doc_id")["text"]
    assert sorted(texts.index) == ["no-spaces", "one-line", "small"]
    assert len(texts["one-line"]) > 1_000_000
    for unit in corpus.units.itertuples():
        assert texts[unit.doc_id][unit.start : unit.end] == unit.text
    covered = corpus.units[corpus.units.doc_id == "no-spaces"]
    assert covered["end"].max() == 1_050_000 and covered["start"].min() == 0


def test_file_name_that_is_not_utf8_does_not_cost_the_batch(monkeypatch, capsys, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("A readable document. With a name in UTF-8.", encoding="utf-8")
    (docs / os.fsdecode(b"bad-\xff-name.txt")).write_text("Another readable document.", encoding="utf-8")
    code, _, err = run_cli(monkeypatch, capsys, "ingest", docs, "--out", tmp_path / "corpus")
    assert code in (0, 2) and "Traceback" not in err
    assert "good" in set(load_corpus(tmp_path / "corpus").documents["doc_id"])
