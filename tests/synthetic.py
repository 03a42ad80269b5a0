"""Synthetic coded units, and the fake environment that models are trained and used in by the tests.

Why this module: the bundle, inference, score, review, training, harvest and fuzz tests all need
a small examples file that a model learns in about a second, and somewhere for the caches and run
stores to go. Each used to carry its own copy of the vocabulary, the filler words, the writer and
the home + encoder patches; they live here once, with parameters for the ways the copies differed
(which labels, how many code-free units, words or sentences, numbered texts, another vocabulary).

- Every label in ``VOCABULARY`` has words of its own and ``FILLER`` words belong to no label, so
  the hashing encoder of ``fakes.py`` (a bag of words) separates them and a tiny model learns
  them: tests can assert that the right code comes out, not only that something does.
- ``fake_environment`` gives a training or scoring a fresh ``MATRIXCODER_HOME`` (the embedding
  cache, the MLflow store, the default model: nothing leaks between tests or into the user's),
  the hashing encoder in place of the sentence encoder, and, unless asked for, no MLflow: the
  first MLflow run in a new store costs 10-20 s, most of a tiny training's time, and only the
  MLflow tests (marked slow in ``conftest.py``) look at it.

Test modules import it as ``synthetic`` (``pythonpath = ["tests"]`` in pyproject.toml; with
``--import-mode=importlib`` they cannot import ``conftest``). The function-scoped fixtures built
on it, ``home``, ``fake_encoder`` and ``no_mlflow``, are in ``conftest.py``; module-scoped
set-ups call ``fake_environment`` inside their own ``pytest.MonkeyPatch.context()``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from fakes import HashingEncoder

from matrixcoder.encoding import embeddings
from matrixcoder.models.bundle import save_bundle
from matrixcoder.models.info import MlflowRef
from matrixcoder.training import tracking, train

__all__ = [
    "FILLER",
    "VOCABULARY",
    "coded_units",
    "fake_environment",
    "save_without_mlflow",
    "unit_text",
    "write_document",
    "write_examples",
    "write_jsonl",
]

#: Taken when the test modules are collected, before any fixture patches it.
_REAL_LOAD_ENCODER = embeddings.load_encoder

#: Words of each label the synthetic units use; a test picks its labels with ``labels=``.
VOCABULARY = {
    "CL1": "stackable credits accumulate towards degree qualification",
    "AP-MC": "course enrol learners module weeks online",
    "AP-EVENT": "webinar conference workshop speakers register event",
    "FD3": "ects credit transfer system european structured",
    "SI6": "recognised across partner universities alliance mutual",
    "CB4": "funding budget financial sustainability unclear money",
}
#: Words that belong to no label: every unit has some, a code-free unit has only these.
FILLER = "campus river library rector festival weather newsletter canteen lunch board brussels press".split()


def unit_text(
    rng: random.Random,
    code: str | None = None,
    *,
    sentence: bool = True,
    number: int | None = None,
    vocabulary: dict[str, str] = VOCABULARY,
    filler: Sequence[str] = FILLER,
) -> str:
    """Four filler words plus, for a coded unit, four words of the code's vocabulary, shuffled.

    Args:
        rng: The generator every draw comes from (the same seed gives the same text).
        code: The unit's label, or None for a code-free unit.
        sentence: Capitalised with a full stop (as in a document), or bare lower-case words.
        number: Appended as "number N", to make every text distinct (cache and resume tests count
            the texts encoded).
        vocabulary: Words of each label.
        filler: Words of no label.
    """
    words = rng.sample(list(filler), 4) + (rng.sample(vocabulary[code].split(), 4) if code else [])
    rng.shuffle(words)
    text = " ".join(words) + ("" if number is None else f" number {number}")
    return text.capitalize() + "." if sentence else text


def coded_units(
    n_docs: int = 9,
    units_per_doc: int = 12,
    *,
    labels: Sequence[str] = ("AP-EVENT", "AP-MC", "CL1", "FD3"),
    n_empty: int = 2,
    seed: int = 0,
    coder: str = "A",
    sentence: bool = True,
    numbered: bool = False,
    vocabulary: dict[str, str] = VOCABULARY,
    filler: Sequence[str] = FILLER,
) -> list[dict]:
    """Examples records ``D{d}-{u}`` of ``n_docs`` documents, each unit with one code or none.

    The default, 9 documents of 12 units, puts every label in at least 6 documents (seeds 0-7 were
    checked), so training with ``n_splits=3`` needs one repeat of the folds, not three
    (``training.folds.repeats_needed``): a third of the time.

    Args:
        labels: The codes used, drawn uniformly (in this order, which the draws depend on).
        n_empty: Weight of "no code" beside each label's weight of 1 (2 with four labels: a third
            of the units are code-free, so the relevance gate has something to learn).
        seed: Seed of the draws.
        coder: The ``coder`` of every record.
        sentence: As in ``unit_text``.
        numbered: Number the texts 0, 1, ... across documents, so that no two are equal.
        vocabulary: Words of each label (another set for the real encoder, say).
        filler: Words of no label.
    """
    rng = random.Random(seed)
    choices = [None] * n_empty + list(labels)
    records = []
    for d in range(n_docs):
        for u in range(units_per_doc):
            code = rng.choice(choices)
            number = d * units_per_doc + u if numbered else None
            text = unit_text(rng, code, sentence=sentence, number=number, vocabulary=vocabulary, filler=filler)
            records.append({"doc_id": f"D{d}", "unit_id": f"D{d}-{u}", "text": text, "codes": [code] if code else [], "coder": coder})
    return records


def write_jsonl(path: Path, records: Iterable[dict]) -> Path:
    """Write ``records`` one JSON object a line; returns ``path``."""
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def write_examples(path: Path, n_docs: int = 9, units_per_doc: int = 12, **options) -> Path:
    """Write ``coded_units(n_docs, units_per_doc, **options)`` as an examples file; returns ``path``."""
    return write_jsonl(path, coded_units(n_docs, units_per_doc, **options))


def write_document(path: Path, codes: Sequence[str | None], seed: int, *, extra: str = "", separator: str = "\n") -> Path:
    """A plain-text document: a title, then one paragraph per entry of ``codes`` (a unit with
    that code, or a code-free one for None, followed by a code-free unit) and ``extra`` last.

    Args:
        separator: Between lines: "\\n" keeps the paragraphs in one block, "\\n\\n" makes each a
            paragraph of its own.
    """
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Title of the page", ""] + [unit_text(rng, code) + " " + unit_text(rng) for code in codes] + ([extra] if extra else [])
    path.write_text(separator.join(lines) + "\n", encoding="utf-8")
    return path


def save_without_mlflow(bundle, folder: Path, params: dict, metrics: dict) -> None:
    """Stands in for ``log_training_run``: saves the bundle as it does, with a placeholder run and
    no MLflow store (whose creation is most of a tiny training's time)."""
    bundle.info = replace(bundle.info, mlflow=MlflowRef(tracking_uri="none (tests)", run_id="none"))
    save_bundle(bundle, folder)


def fake_environment(
    patch: pytest.MonkeyPatch,
    home: Path,
    *,
    encoder: Callable[[], object] | None = HashingEncoder,
    mlflow: bool = False,
) -> Path:
    """Point ``MATRIXCODER_HOME`` at ``home``, unset ``MLFLOW_TRACKING_URI`` (runs go to the
    home's store), make ``load_encoder`` build ``encoder()`` whatever it is asked for, and with
    ``mlflow=False`` save bundles through ``save_without_mlflow``; returns ``home``.

    The real encoder loader and MLflow logging are put back explicitly when not replaced, so a
    module-scoped fake environment still in force cannot leak into a test that wants them.

    Args:
        patch: The monkeypatch the changes are made with (undone with it).
        home: The MATRIXCODER_HOME to use.
        encoder: Builds the encoder; None for the real one (the real-encoder tests).
        mlflow: Log trainings to MLflow for real (the MLflow tests, and runs that must be as a
            user's are).
    """
    patch.setenv("MATRIXCODER_HOME", str(home))
    patch.delenv("MLFLOW_TRACKING_URI", raising=False)
    patch.setattr(embeddings, "load_encoder", _REAL_LOAD_ENCODER if encoder is None else (lambda spec=None: encoder()))
    patch.setattr(train, "log_training_run", tracking.log_training_run if mlflow else save_without_mlflow)
    return home
