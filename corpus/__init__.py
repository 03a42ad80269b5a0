"""Documents into sentence units: reading, segmentation, alliance attribution, storage."""

from matrixcoder.corpus.ingest import IngestResult, ingest_paths
from matrixcoder.corpus.readers import Document, read_document
from matrixcoder.corpus.segment import Unit, segment
from matrixcoder.corpus.store import Corpus, load_corpus, write_corpus

__all__ = [
    "Corpus",
    "Document",
    "IngestResult",
    "Unit",
    "ingest_paths",
    "load_corpus",
    "read_document",
    "segment",
    "write_corpus",
]
