"""Shared set-up of the review tests (no tests here): a tiny corpus, a tiny model on the fake
encoder, a review session, and a live server on a free loopback port."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fakes import HashingEncoder
from synthetic import fake_environment, write_document, write_examples

from matrixcoder.corpus import ingest_paths, load_corpus
from matrixcoder.encoding import embeddings
from matrixcoder.labels import load_codebook
from matrixcoder.labels.rulings import read_rulings
from matrixcoder.review.server import corpus_tables
from matrixcoder.review.session import ReviewSession
from matrixcoder.review.store import ReviewStore
from matrixcoder.training import train
from matrixcoder.training.train import TrainConfig

SMALL_TRAINING = {"n_splits": 3, "min_positives": 5}

#: Text that must come out escaped, never as markup.
HOSTILE = 'Registration <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2"> & more.'


class World:
    """Everything a review test needs, built once per module."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.examples = write_examples(tmp / "examples.jsonl")
        self.bundle = train.train_model(self.examples, tmp / "model", TrainConfig(**SMALL_TRAINING)).bundle
        docs = tmp / "docs"
        write_document(
            docs / "CIVIS" / "civis-page.md", ["AP-MC", "CL1", None, "AP-MC", "FD3", "CL1"], seed=1, extra=HOSTILE, separator="\n\n"
        )
        write_document(docs / "ECIU" / "eciu-event.txt", ["AP-EVENT", None, "FD3", "AP-EVENT"], seed=2, separator="\n\n")
        write_document(docs / "ECIU" / "eciu-news.txt", [None, None, "AP-MC"], seed=3, separator="\n\n")
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


_BUILT: dict[str, World] = {}


@pytest.fixture(scope="module", name="world")
def world_fixture(tmp_path_factory):
    """One world per test process, shared by the review test modules; the fake encoder and the
    MLflow stand-in are in force while a module uses it."""
    with pytest.MonkeyPatch.context() as patch:
        if "world" not in _BUILT:
            tmp = tmp_path_factory.mktemp("review")
            fake_environment(patch, tmp / "home")
            _BUILT["world"] = World(tmp)
        fake_environment(patch, _BUILT["world"].tmp / "home")
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
