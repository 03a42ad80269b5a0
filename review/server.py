"""Open a review session on a corpus and serve it with uvicorn."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from matrixcoder.corpus import ingest_paths, load_corpus
from matrixcoder.errors import InputError
from matrixcoder.labels.codebook import Codebook
from matrixcoder.labels.rulings import read_rulings
from matrixcoder.models.bundle import load_bundle
from matrixcoder.models.predictor import Predictor
from matrixcoder.review.app import LOOPBACK, create_app
from matrixcoder.review.session import ReviewSession
from matrixcoder.review.store import ReviewStore
from matrixcoder.training import default_model

__all__ = ["corpus_tables", "is_loopback", "load_review_corpus", "make_server", "open_session", "serve"]


def corpus_tables(corpus) -> tuple[list[dict], list[dict]]:
    """Documents and units of a loaded :class:`~matrixcoder.corpus.Corpus` as plain dicts."""
    documents = [
        {
            "doc_id": row.doc_id,
            "name": Path(str(row.source)).name or row.doc_id,
            "alliance": _text(row, "alliance"),
            "language": _text(row, "language"),
            "sha256": row.sha256,
            "text": row.text,
        }
        for row in corpus.documents.itertuples(index=False)
    ]
    units = [
        {"doc_id": row.doc_id, "unit_id": row.unit_id, "text": row.text, "start": int(row.start), "end": int(row.end)}
        for row in corpus.units.itertuples(index=False)
    ]
    return documents, units


def _text(row, key: str) -> str:
    value = getattr(row, key, None)
    return "" if value is None or value != value else str(value)


def load_review_corpus(path: Path, work: Path):
    """A corpus folder as it is, or files and folders ingested on the fly into ``work``.

    Raises:
        InputError: Nothing could be read.
    """
    path = Path(path)
    if (path / "corpus.json").is_file():
        return load_corpus(path)
    if not path.exists():
        raise InputError(path, "not found; give a corpus folder (matrixcoder ingest) or documents to ingest")
    print(f"Ingesting {path} into {work} …", file=sys.stderr)
    result = ingest_paths([path], work)
    for source, problem in result.failures:
        print(f"matrixcoder: warning: {source}: {problem}", file=sys.stderr)
    if not result.written:
        raise InputError(path, "no document could be ingested")
    return load_corpus(work)


def open_session(
    corpus: Path,
    *,
    db: Path,
    coder: str,
    codebook: Codebook,
    model: Path | None = None,
    examples: Path | None = None,
) -> ReviewSession:
    """Load the corpus, the model (``--model``, else the latest retrained in ``db``, else the
    default) and the decisions, and score every unit.

    Raises:
        InputError: Bad corpus, database, model or encoder.
    """
    loaded = load_review_corpus(corpus, db.with_name(db.name + ".corpus"))
    store = ReviewStore(db)
    models_dir = db.with_name(db.name + ".models")
    bundle = None
    if model is None:
        for entry in reversed(store.models()):
            if Path(entry["path"]).is_dir():
                try:
                    bundle = load_bundle(entry["path"], codebook)
                except InputError:
                    continue
                print(f"Using the model retrained in this review database: {entry['path']} (--model chooses another)", file=sys.stderr)
                break
    if bundle is None:
        bundle = default_model.resolve_model(model, codebook)
    predictor = Predictor.from_bundle(bundle)
    documents, units = corpus_tables(loaded)
    known = {d["doc_id"]: d["sha256"] for d in documents}
    changed = [doc_id for doc_id, info in store.documents().items() if doc_id in known and known[doc_id] != info["sha256"]]
    if changed:
        raise InputError(
            db, f"document {changed[0]} changed since it was reviewed in this database ({len(changed)} in all); use a new --db"
        )
    return ReviewSession(
        documents,
        units,
        codebook,
        bundle,
        predictor.embedder,
        store,
        coder,
        rules=read_rulings(),
        examples=examples or default_model.DEFAULT_EXAMPLES,
        models_dir=models_dir,
    )


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(session: ReviewSession, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None):
    """Bind and build the server; returns ``(uvicorn.Server, socket, url)``. Not started yet.

    Anything but a loopback address needs a token: the given one or a fresh random one.

    Raises:
        InputError: The address cannot be bound.
    """
    import uvicorn

    loopback = is_loopback(host)
    if not loopback and not token:
        token = secrets.token_urlsafe(18)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"{host}:{port}", f"cannot listen there ({exc.strerror or exc})") from None
    sock.listen(128)
    port = sock.getsockname()[1]
    hosts = {*LOOPBACK, host} if loopback else None
    app = create_app(session, hosts=hosts, token=token)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False, date_header=False)
    return uvicorn.Server(config), sock, url


def serve(
    session: ReviewSession,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Bind, print the URL on a line of its own, and serve until interrupted.

    Raises:
        InputError: The address cannot be bound.
    """
    server, sock, url = make_server(session, host=host, port=port, token=token)
    if not is_loopback(host):
        print(f"Listening on {host}: every request needs the access token (in the URL below, then kept in a cookie).", file=sys.stderr)
    announce(url)
    sys.stdout.flush()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
