"""Shared set-up of the review tests (no tests here): a tiny corpus, a tiny model on the fake
encoder, a review session, and a live server on a free loopback port."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import pytest
from fakes import HashingEncoder

from matrixcoder.corpus import ingest_paths, load_corpus
from matrixcoder.encoding import embeddings
from matrixcoder.labels import load_codebook
from matrixcoder.labels.rulings import read_rulings
from matrixcoder.models.bundle import save_bundle
from matrixcoder.review.server import corpus_tables
from matrixcoder.review.session import ReviewSession
from matrixcoder.review.store import ReviewStore
from matrixcoder.training import train
from matrixcoder.training.train import TrainConfig

VOCABULARY = {
    "CL1": "stackable credits accumulate towards degree qualification",
    "AP-MC": "course enrol learners module weeks online",
    "AP-EVENT": "webinar conference workshop speakers register event",
    "FD3": "ects credit transfer system european structured",
}
FILLER = "campus river library rector festival weather newsletter canteen lunch board brussels press".split()
SMALL_TRAINING = {"n_splits": 3, "min_positives": 5}


def sentence(rng: random.Random, code: str | None = None) -> str:
    words = rng.sample(FILLER, 4) + (rng.sample(VOCABULARY[code].split(), 4) if code else [])
    rng.shuffle(words)
    return " ".join(words).capitalize() + "."


def write_examples(path: Path, n_docs: int = 6, units_per_doc: int = 14, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w") as handle:
        for d in range(n_docs):
            for u in range(units_per_doc):
                code = rng.choice([None, None, *sorted(VOCABULARY)])
                record = {
                    "doc_id": f"D{d}",
                    "unit_id": f"D{d}-{u}",
                    "text": sentence(rng, code),
                    "codes": [code] if code else [],
                    "coder": "A",
                }
                handle.write(json.dumps(record) + "\n")
    return path


def write_document(path: Path, codes: list, seed: int, extra: str = "") -> Path:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Title of the page", ""] + [sentence(rng, code) + " " + sentence(rng) for code in codes] + ([extra] if extra else [])
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return path


#: Text that must come out escaped, never as markup.
HOSTILE = 'Registration <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2"> & more.'


class World:
    """Everything a review test needs, built once per module."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.examples = write_examples(tmp / "examples.jsonl")
        self.bundle = train.train_model(self.examples, tmp / "model", TrainConfig(**SMALL_TRAINING)).bundle
        docs = tmp / "docs"
        write_document(docs / "CIVIS" / "civis-page.md", ["AP-MC", "CL1", None, "AP-MC", "FD3", "CL1"], seed=1, extra=HOSTILE)
        write_document(docs / "ECIU" / "eciu-event.txt", ["AP-EVENT", None, "FD3", "AP-EVENT"], seed=2)
        write_document(docs / "ECIU" / "eciu-news.txt", [None, None, "AP-MC"], seed=3)
        ingest_paths([docs], tmp / "corpus")
        self.corpus = load_corpus(tmp / "corpus")
        self.codebook = load_codebook()

    def session(self, db: Path, coder: str = "ana") -> ReviewSession:
        documents, units = corpus_tables(self.corpus)
        return ReviewSession(
            documents,
            units,
            self.codebook,
            self.bundle,
            embeddings.Embedder(HashingEncoder(), None),
            ReviewStore(db),
            coder,
            rules=read_rulings(),
            examples=self.examples,
            models_dir=db.with_name(db.name + ".models"),
            train_config=SMALL_TRAINING,
        )


def _log_without_mlflow(bundle, folder, params, metrics) -> None:
    """Stands in for the MLflow logging of training (most of a tiny training's time)."""
    bundle.info["mlflow"] = {"tracking_uri": "none (review tests)", "run_id": "none"}
    save_bundle(bundle, folder)


_BUILT: dict[str, World] = {}


@pytest.fixture(scope="module", name="world")
def world_fixture(tmp_path_factory):
    """One world per test process, shared by the review test modules; the fake encoder and the
    MLflow stand-in are in force while a module uses it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embeddings, "load_encoder", lambda spec=None: HashingEncoder())
        patch.setattr(train, "log_training_run", _log_without_mlflow)
        if "world" not in _BUILT:
            tmp = tmp_path_factory.mktemp("review")
            patch.setenv("MATRIXCODER_HOME", str(tmp / "home"))
            _BUILT["world"] = World(tmp)
        patch.setenv("MATRIXCODER_HOME", str(_BUILT["world"].tmp / "home"))
        yield _BUILT["world"]


class LiveServer:
    """uvicorn serving an app on a free loopback port, in a thread."""

    def __init__(self, app) -> None:
        import socket

        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def run_cli(monkeypatch, capsys, *args):
    """Run ``matrixcoder ARGS``; returns (exit code, stdout, stderr)."""
    from matrixcoder.cli import main

    monkeypatch.setattr("sys.argv", ["matrixcoder", *map(str, args)])
    with pytest.raises(SystemExit) as stop:
        main()
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err
