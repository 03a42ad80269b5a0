"""How fast the review app answers on a large corpus: the document page and the next queue unit.

Builds a synthetic corpus of 20,000 units (100 documents of 200 sentences drawn from the shipped
examples), opens a review session with the model (default: models/default) and serves it
in-process (Starlette's TestClient: the whole app, security layer and templates, without the
socket). The encoder is replaced by random unit vectors: the bench times the app, not the
encoder (embedding 20,000 sentences once is the encoder's cost, measured by bench/throughput.py).

Targets (issue 13, on 2 cores): a 200-unit document page in under 300 ms, the next queue unit in
under 100 ms.

    .venv/bin/python bench/review_speed.py [--units 20000] [--per-doc 200] [--repeats 20] [--model DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


class RandomEmbedder:
    """Random unit vectors of the model's dimension, one per text, the same for the same text."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def embed(self, texts, description=""):
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).normal(size=self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


def synthetic_corpus(n_units: int, per_doc: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    from matrixcoder.training.default_model import DEFAULT_EXAMPLES

    sentences = sorted({json.loads(line)["text"] for line in DEFAULT_EXAMPLES.open(encoding="utf-8")})
    rng = random.Random(seed)
    alliances = ["CIVIS", "ECIU", "EUTOPIA", "UNA EUROPA", "YUFE", "EDUC", "ARQUS", "FORTHEM"]
    documents, units = [], []
    for d in range(-(-n_units // per_doc)):
        doc_id = f"synthetic-{d:04d}"
        chosen = [rng.choice(sentences) for _ in range(min(per_doc, n_units - d * per_doc))]
        parts, offset = [], 0
        for u, text in enumerate(chosen):
            units.append({"doc_id": doc_id, "unit_id": f"{doc_id}-{u:03d}", "text": text, "start": offset, "end": offset + len(text)})
            sep = "\n\n" if u % 5 == 4 else " "
            parts.append(text + sep)
            offset += len(text) + len(sep)
        text = "".join(parts)
        documents.append(
            {
                "doc_id": doc_id,
                "name": f"{doc_id}.txt",
                "alliance": alliances[d % len(alliances)],
                "language": "en",
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "text": text,
            }
        )
    return documents, units


def timed(call, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
        "max_ms": round(times[-1], 1),
        "repeats": repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--per-doc", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("out/bench/review_speed.json"))
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from matrixcoder.labels import load_codebook
    from matrixcoder.review.app import create_app
    from matrixcoder.review.rules import load_rules
    from matrixcoder.review.session import ReviewSession
    from matrixcoder.review.store import ReviewStore
    from matrixcoder.training.default_model import resolve_model

    codebook = load_codebook()
    bundle = resolve_model(args.model, codebook)
    documents, units = synthetic_corpus(args.units, args.per_doc)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        session = ReviewSession(
            documents,
            units,
            codebook,
            bundle,
            RandomEmbedder(bundle.info.encoder.dim),
            ReviewStore(Path(tmp) / "review.db"),
            "bench",
            rules=load_rules(codebook.label_ids),
        )
        opened = time.perf_counter() - start
        csrf = "bench-csrf-token"
        client = TestClient(create_app(session, csrf=csrf), base_url="http://127.0.0.1:8765")
        doc = documents[len(documents) // 2]["doc_id"]
        assert client.get(f"/doc/{doc}").status_code == 200
        results = {
            "units": len(units),
            "documents": len(documents),
            "units_per_document": args.per_doc,
            "model": session.model.version,
            "session_open_s": round(opened, 2),
            "document_page": timed(lambda: client.get(f"/doc/{doc}"), args.repeats),
            "document_page_bytes": len(client.get(f"/doc/{doc}").content),
            "queue_next_unit": timed(session.next_in_queue, args.repeats),
            "queue_page": timed(lambda: client.get("/queue"), args.repeats),
        }
        # The queue after some reviewing: 100 decisions, each followed by a next unit.
        decide_times, next_times = [], []
        for _ in range(100):
            pick = session.next_in_queue()
            unit_id = session.units[pick.row]["unit_id"]
            t0 = time.perf_counter()
            response = client.post("/api/decide", json={"unit_id": unit_id, "action": "none"}, headers={"X-CSRF-Token": csrf})
            t1 = time.perf_counter()
            assert response.status_code == 200, response.text
            session.next_in_queue()
            t2 = time.perf_counter()
            decide_times.append((t1 - t0) * 1000)
            next_times.append((t2 - t1) * 1000)
        results["decision_post"] = {
            "median_ms": round(statistics.median(decide_times), 1),
            "max_ms": round(max(decide_times), 1),
            "repeats": 100,
        }
        results["queue_next_after_decision"] = {
            "median_ms": round(statistics.median(next_times), 1),
            "max_ms": round(max(next_times), 1),
            "repeats": 100,
        }
        results["targets"] = {
            "document_page_under_300ms": results["document_page"]["median_ms"] < 300,
            "queue_next_under_100ms": results["queue_page"]["median_ms"] < 100,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    for key, value in results.items():
        print(f"{key:28} {value}")
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
