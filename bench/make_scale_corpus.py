"""Make a corpus N times the size of another (default: the demo corpus), for the scale benchmarks.

Copy k of each document gets the doc_id ``<doc_id>~<k>`` (same alliance) and its text lightly
varied: the case of the first ASCII letters of every unit flipped after the bits of k. Every
unit text of every copy is then new to the embedding cache (no bench is flattered by cache hits
it would not get on a real corpus), while the encoder, which lower-cases (all-MiniLM-L6-v2
does), does the same work and gives the same vectors, so copies score like the original. Texts
keep their length, so unit offsets stay valid.

Usage: ``python bench/make_scale_corpus.py FACTOR OUT [--source CORPUS]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from matrixcoder.corpus import ingest_paths, load_corpus
from matrixcoder.corpus.store import write_corpus

__all__ = ["DEMO", "demo_corpus", "make_scale_corpus"]

DEMO = Path(__file__).resolve().parent.parent / "corpus" / "demo"
# Letters of a unit whose case encodes the copy number: 2**7 copies get distinct texts.
_BITS = 7


def demo_corpus(out: Path) -> Path:
    """Ingest the demo documents into ``out``."""
    ingest_paths([DEMO], out)
    return out


def make_scale_corpus(source: Path, out: Path, factor: int) -> Path:
    """Write ``factor`` copies of the corpus at ``source`` as one corpus at ``out`` (copy 0 is the original)."""
    if not 1 <= factor <= 2**_BITS:
        raise ValueError(f"factor must be between 1 and {2**_BITS}")
    corpus = load_corpus(source)
    spans = {doc_id: list(zip(group["start"], group["end"], strict=False)) for doc_id, group in corpus.units.groupby("doc_id", sort=False)}
    documents, units = [], []
    for k in range(factor):
        texts = {}
        for document in corpus.documents.itertuples(index=False):
            texts[document.doc_id] = _varied(document.text, spans.get(document.doc_id, []), k)
            documents.append(document._asdict() | {"doc_id": _copy_id(document.doc_id, k), "text": texts[document.doc_id]})
        copy = corpus.units.copy()
        copy["text"] = [texts[doc_id][start:end] for doc_id, start, end in zip(copy["doc_id"], copy["start"], copy["end"], strict=False)]
        copy["unit_id"] = [_copy_id(unit_id, k) for unit_id in copy["unit_id"]]
        copy["doc_id"] = [_copy_id(doc_id, k) for doc_id in copy["doc_id"]]
        units.append(copy)
    info = {key: value for key, value in corpus.info.items() if key != "format"}
    info |= {"documents": len(documents), "units": corpus.info["units"] * factor, "scaled_from": str(source), "factor": factor}
    write_corpus(out, pd.DataFrame(documents), pd.concat(units, ignore_index=True), info)
    return out


def _copy_id(identifier: str, k: int) -> str:
    return identifier if k == 0 else f"{identifier}~{k}"


def _varied(text: str, spans: list[tuple[int, int]], k: int) -> str:
    chars = list(text)
    for start, end in spans:
        letters = [i for i in range(start, end) if chars[i].isascii() and chars[i].isalpha()][:_BITS]
        for bit, i in enumerate(letters):
            if k >> bit & 1:
                chars[i] = chars[i].swapcase()
    return "".join(chars)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("factor", type=int, help="copies of the source corpus (10 and 100 for the benches)")
    parser.add_argument("out", type=Path, help="corpus folder to write")
    parser.add_argument("--source", type=Path, help="corpus folder (default: the demo corpus, ingested)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        make_scale_corpus(args.source or demo_corpus(Path(tmp) / "demo"), args.out, args.factor)
    print(f"Wrote {args.out}: {args.factor} × {args.source or 'the demo corpus'}")


if __name__ == "__main__":
    main()
