"""Training: folds by document, thresholds, cross-fitting, baselines, calibration, the train command."""

from __future__ import annotations

import json
import re
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest
import synthetic
from fakes import HashingEncoder
from hypothesis import given, settings
from hypothesis import strategies as st

from matrixcoder.encoding import embeddings
from matrixcoder.encoding.batch import UnitBatch
from matrixcoder.encoding.features import CHAR_PREFIX, TermCounts, TfidfFeatures
from matrixcoder.errors import InputError
from matrixcoder.labels import load_codebook
from matrixcoder.models.card import cv_scheme_text
from matrixcoder.models.info import CVInfo
from matrixcoder.training.cv import System, cross_validate, score_out_of_fold
from matrixcoder.training.data import load_training_set
from matrixcoder.training.folds import document_folds, repeats_needed, writer_folds
from matrixcoder.training.heads import LinearHeads
from matrixcoder.training.keywords import KeywordRules
from matrixcoder.training.recipe import Recipe
from matrixcoder.training.thresholds import best_gate_threshold, best_threshold
from matrixcoder.training.train import TrainConfig, train_model
from matrixcoder.training.zeroshot import ZeroShot

# Five labels with words of their own (synthetic.VOCABULARY); the other 34 never occur and fall
# back to zero-shot. Nine documents of 14 units, two sevenths of them code-free, as bare words:
# every label is in enough documents for one repeat of 3-fold cross-validation.
LABELS = ("AP-MC", "CB4", "CL1", "FD3", "SI6")
write_examples = partial(synthetic.write_examples, n_docs=9, labels=LABELS, n_empty=2, sentence=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as patch:
        synthetic.fake_environment(patch, tmp / "home")
        examples = write_examples(tmp / "examples.jsonl")
        result = train_model(examples, tmp / "model", TrainConfig(compare=True, n_splits=3, min_positives=5))
    return examples, result


def test_folds_keep_documents_whole_and_cover_every_unit():
    rng = np.random.default_rng(0)
    doc_ids = np.repeat([f"D{i}" for i in range(12)], rng.integers(3, 9, size=12))
    Y = (rng.random((len(doc_ids), 6)) < 0.2).astype(np.int8)
    folds = document_folds(doc_ids, Y, n_splits=4, n_repeats=2, random_state=1)
    assert len(folds) == 2
    for repeat in folds:
        assert sorted(np.concatenate(repeat).tolist()) == list(range(len(doc_ids)))
        for test in repeat:
            train = np.setdiff1d(np.arange(len(doc_ids)), test)
            assert not set(doc_ids[test]) & set(doc_ids[train])
    assert [t.tolist() for t in folds[0]] != [t.tolist() for t in folds[1]]


def test_too_few_documents_for_the_folds():
    with pytest.raises(ValueError, match="at least 5 documents"):
        document_folds(np.array(["a", "a", "b"]), np.ones((3, 1)), n_splits=5, n_repeats=1)


def test_repeats_only_where_labels_are_rare():
    doc_ids = np.repeat([f"D{i}" for i in range(20)], 2)
    common = np.ones((40, 1), dtype=np.int8)
    rare = np.zeros((40, 1), dtype=np.int8)
    rare[:4] = 1  # two documents only
    assert repeats_needed(doc_ids, common, n_splits=5) == 1
    assert repeats_needed(doc_ids, np.hstack([common, rare]), n_splits=5) == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.booleans()), min_size=1, max_size=30))
def test_best_threshold_matches_brute_force(pairs):
    scores = np.array([s / 4 for s, _ in pairs])
    y = np.array([label for _, label in pairs])
    t = best_threshold(scores, y)
    if not y.any():
        assert t == float("inf")
        return

    def f1(cut):
        predicted = scores >= cut
        tp = (predicted & y).sum()
        return 2 * tp / (predicted.sum() + y.sum())

    assert f1(t) == pytest.approx(max(f1(c) for c in np.unique(scores)))
    assert t not in set(scores.tolist())  # cuts fall between scores


def test_gate_threshold_drops_code_free_units_only_when_that_helps():
    Y = np.array([[1, 0], [0, 1], [0, 0], [0, 0]])
    predicted = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    gate = np.array([0.9, 0.8, 0.2, 0.1])
    cut = best_gate_threshold(gate, predicted, Y)
    assert 0.2 < cut < 0.8
    assert best_gate_threshold(gate, Y, Y) == float("-inf")


def test_cross_validation_never_trains_on_a_test_document():
    doc_ids = np.repeat([f"D{i}" for i in range(6)], 5)
    texts = [f"{doc} unit {i}" for i, doc in enumerate(doc_ids)]
    Y = np.zeros((30, 2), dtype=np.int8)
    Y[::3, 0] = 1
    Y[1::4, 1] = 1
    seen: list[tuple[set, set]] = []

    class Spy:
        def fit(self, X, Y):
            self.train_docs = {t.split()[0] for t in X.texts}
            return self

        def decision_function(self, X):
            seen.append((self.train_docs, {t.split()[0] for t in X.texts}))
            return np.zeros((len(X), 2))

    folds = document_folds(doc_ids, Y, n_splits=3, n_repeats=1)
    X = UnitBatch(texts, np.zeros((30, 4), dtype=np.float32))
    cross_validate(X, Y, folds, [System("spy", Spy, np.ones(2, dtype=bool))])
    assert len(seen) == 3
    assert all(not train & test for train, test in seen)


def test_cross_fitted_thresholds_are_not_tuned_on_the_test_fold():
    # Scores rank the truth perfectly, but on a different scale in each fold: a threshold tuned on
    # the other folds cannot fit this fold, so perfect figures would reveal leakage.
    doc_ids = np.repeat(["a", "b"], 10)
    y = np.tile([1, 0], 10)[:, None]
    scale = np.where(doc_ids == "a", 1.0, 10.0)
    scores = (y[:, 0] * 2.0 + 1.0) * scale
    folds = [[np.flatnonzero(doc_ids == "a"), np.flatnonzero(doc_ids == "b")]]
    from matrixcoder.training.cv import OutOfFold

    oof = OutOfFold(System("s", object, np.ones(1, dtype=bool)), scores[None, :, None], None)
    report = score_out_of_fold(oof, y, folds, ["L"])
    assert report.micro_f1 < 1.0


def test_keyword_rules_match_case_insensitively(codebook):
    rules = KeywordRules(codebook).fit(None, None)
    X = UnitBatch(["These modules are STACKABLE towards a degree.", "Lunch at noon."], np.zeros((2, 2)))
    scores = rules.decision_function(X)
    cl1 = codebook.label_ids.index("CL1")
    assert scores[0, cl1] == 1.0 and scores[1, cl1] == -1.0
    assert (scores[1] == -1.0).all()


def test_zero_shot_linear_form_equals_its_scores():
    rng = np.random.default_rng(0)
    prototypes = rng.normal(size=(3, 8))
    prototypes /= np.linalg.norm(prototypes, axis=1, keepdims=True)
    X = UnitBatch(["t"] * 40, rng.normal(size=(40, 8)))
    Y = (X.embeddings @ prototypes.T > 0.5).astype(np.int8)
    model = ZeroShot(prototypes).fit(X, Y)
    coef, intercept = model.linear_form()
    np.testing.assert_allclose(X.embeddings @ coef.T + intercept, model.log_odds(X))


def test_training_set_takes_one_coder(tmp_path, codebook):
    path = write_examples(tmp_path / "a.jsonl")
    first = json.loads(path.read_text().splitlines()[0])
    with path.open("a") as handle:
        handle.write(json.dumps(first | {"codes": ["CL2"], "coder": "B"}) + "\n")
    data = load_training_set(path, codebook, "A")
    assert data.Y[:, codebook.label_ids.index("CL2")].sum() == 0
    with pytest.raises(InputError, match="no units coded by coder 'C'.*A, B"):
        load_training_set(path, codebook, "C")


def test_training_set_learns_adjudicated_codes_where_a_unit_has_them(tmp_path, codebook):
    path = write_examples(tmp_path / "a.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    first, second = lines[0], lines[1]
    with path.open("a") as handle:
        handle.write(json.dumps(first | {"codes": ["CL2"], "coder": "B"}) + "\n")
        handle.write(json.dumps(first | {"codes": ["CL2"], "coder": "adjudicated"}) + "\n")
    data = load_training_set(path, codebook, "A")
    row = data.unit_ids.index(first["unit_id"])
    assert data.Y[row].nonzero()[0].tolist() == [codebook.label_ids.index("CL2")]
    assert data.gold.tolist() == [unit_id == first["unit_id"] for unit_id in data.unit_ids]
    assert data.Y[data.unit_ids.index(second["unit_id"])].sum() == len(second["codes"])
    assert len(data.unit_ids) == len(lines)


def test_a_unit_weighted_two_is_learnt_as_if_it_were_there_twice():
    rng = np.random.default_rng(0)
    X = UnitBatch([f"unit {i}" for i in range(60)], rng.normal(size=(60, 8)))
    Y = (X.embeddings[:, :2] + rng.normal(scale=0.5, size=(60, 2)) > 0).astype(int)
    weight = np.where(np.arange(60) % 3 == 0, 2.0, 1.0)
    weighted = LinearHeads("embedding", C=1.0).fit(X, Y, sample_weight=weight)
    twice = np.concatenate([np.arange(60), np.flatnonzero(weight == 2.0)])
    duplicated = LinearHeads("embedding", C=1.0).fit(X.take(twice), Y[twice])
    plain = LinearHeads("embedding", C=1.0).fit(X, Y)
    np.testing.assert_allclose(weighted.coef_, duplicated.coef_, atol=1e-3)
    assert not np.allclose(weighted.coef_, plain.coef_, atol=1e-3)


def test_train_needs_three_documents(tmp_path, fake_encoder):
    examples = write_examples(tmp_path / "two.jsonl", n_docs=2)
    with pytest.raises(InputError, match="at least 3 documents"):
        train_model(examples, tmp_path / "model", TrainConfig())


def test_trained_bundle_has_a_threshold_per_label(trained, codebook):
    _, result = trained
    bundle = result.bundle
    assert bundle.thresholds.shape == (len(codebook.label_ids) + 1,)
    assert ((bundle.thresholds >= 0) & (bundle.thresholds <= 1)).all()
    heads = [codebook.label_ids.index(label) for label in LABELS]
    assert len(set(np.round(bundle.thresholds[heads], 6))) > 1  # tuned per label, not one global cut
    assert set(bundle.fallback_labels) == set(codebook.label_ids) - set(LABELS)
    saved = json.loads((bundle.path / "thresholds.json").read_text())
    assert list(saved) == codebook.label_ids + ["relevance"]


def test_compare_runs_model_and_baselines_on_the_same_folds(trained):
    _, result = trained
    names = set(result.systems)
    assert {"keyword rules", "tf-idf + logistic regression", "zero-shot similarity"} <= names
    assert result.selected in names and f"{result.selected} without relevance gate" in names
    for report in result.systems.values():
        for value in (report.micro_f1, report.macro_f1, report.mean_kappa):
            assert -1.0 <= value <= 1.0
    # The separable vocabulary makes the trained model clearly better than rules on these data.
    assert result.systems[result.selected].macro_f1 > result.systems["keyword rules"].macro_f1


def test_calibration_keeps_the_cross_validated_decisions(trained, codebook):
    examples, result = trained
    bundle = result.bundle
    data = load_training_set(examples, codebook)
    X = UnitBatch(data.texts, embeddings.Embedder(HashingEncoder(), None).embed(data.texts))
    probabilities = bundle.probabilities(X)
    assert probabilities.shape == (len(data.texts), len(codebook.label_ids) + 1)
    predicted = (probabilities[:, :-1] >= bundle.thresholds[:-1]) & (probabilities[:, -1:] >= bundle.thresholds[-1])
    heads = [codebook.label_ids.index(label) for label in LABELS]
    # Fitted on all units, the heads should reproduce the training codes almost everywhere.
    agreement = (predicted[:, heads] == data.Y[:, heads].astype(bool)).mean()
    assert agreement > 0.9


def test_model_card_names_fallback_labels_and_support(trained):
    _, result = trained
    card = (result.bundle.path / "MODEL.md").read_text()
    assert "## Zero-shot labels" in card and "SI1" in card.split("## Zero-shot labels")[1].split("##")[0]
    assert re.search(r"\| CL1 \| Stackable modules \| head \| \d+ \|", card)


def test_train_command_prints_the_comparison(tmp_path, fake_encoder, capsys, monkeypatch):
    from matrixcoder.cli import main

    examples = write_examples(tmp_path / "examples.jsonl", n_docs=6, units_per_doc=12, seed=3)
    monkeypatch.setattr("sys.argv", ["matrixcoder", "train", str(examples), "--out", str(tmp_path / "m"), "--compare"])
    with pytest.raises(SystemExit) as stop:
        main()
    out = capsys.readouterr().out
    assert stop.value.code == 0
    for name in ("keyword rules", "tf-idf + logistic regression", "zero-shot similarity", "◀ model"):
        assert name in out
    assert (tmp_path / "m" / "MODEL.md").is_file()


def test_train_with_the_real_encoder(tmp_path, home):
    examples = write_examples(tmp_path / "examples.jsonl", n_docs=5, units_per_doc=10, seed=5)
    result = train_model(examples, tmp_path / "model", TrainConfig(n_splits=3, min_positives=3))
    assert result.bundle.info.encoder.dim == 384
    assert result.bundle.coef_embedding.shape == (len(load_codebook().label_ids) + 1, 384)


def test_writer_folds_hold_each_writer_out_once():
    writers = np.array(["w1", "w2", "w1", "w3", "w2", "w3", "w3"])
    (folds,) = writer_folds(writers)
    assert [sorted(set(writers[test].tolist())) for test in folds] == [["w1"], ["w2"], ["w3"]]
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(writers)))
    with pytest.raises(ValueError, match="2 writers"):
        writer_folds(np.array(["w1", "w1"]))


def test_the_card_says_whether_writers_were_held_out_one_by_one_or_in_groups():
    cv = CVInfo(n_splits=10, n_repeats=1, feature_sets=("embedding",), micro_f1=0.5, macro_f1=0.5, mean_kappa=0.5, scheme="writer")
    assert cv_scheme_text(cv, 10).startswith("leave one writer out (10 writers")
    assert cv_scheme_text(cv, 49).startswith("writers held out in 10 groups (49 writers")
    assert cv_scheme_text(cv, None).startswith("leave one writer out")


def test_many_writers_are_held_out_in_groups():
    """Past the cap, whole writers still never straddle a split, and every unit is tested once."""
    writers = np.array([f"w{i % 30:02d}" for i in range(300)])
    (folds,) = writer_folds(writers, max_folds=12, random_state=3)
    assert len(folds) == 12
    groups = [set(writers[test].tolist()) for test in folds]
    assert all(2 <= len(group) <= 3 for group in groups)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(writers)))
    assert len(set().union(*groups)) == 30 and sum(map(len, groups)) == 30
    (again,) = writer_folds(writers, max_folds=12, random_state=3)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))


def test_character_ngrams_round_trip_through_the_saved_vocabulary():
    texts = ["stackable micro-credentials", "microcredentials stack", "Stackable courses", "recognised credits"]
    fitted = TfidfFeatures(char=True).fit(texts)
    assert any(term.startswith(CHAR_PREFIX) for term in fitted.vocabulary)
    loaded = TfidfFeatures(list(fitted.vocabulary), fitted.idf.copy())
    np.testing.assert_allclose(loaded.transform(texts).toarray(), fitted.transform(texts).toarray())
    # A spelling the word block has never seen still shares character grams with the training texts.
    assert fitted.transform(["stackability"])[:, fitted._n_words :].nnz > 0
    words_only = TfidfFeatures().fit(texts)
    assert words_only.transform(texts).shape[1] == len(words_only.vocabulary) and words_only._n_words == len(words_only.vocabulary)


@pytest.mark.parametrize("char_cap", [30_000, 40])
def test_features_fitted_from_counts_equal_scikit_learns_tfidf(monkeypatch, char_cap):
    """TF-IDF fitted from term counts (a fold's rows of counts made once for all units) learns what
    scikit-learn's TfidfVectorizer learns from the fold's texts: the same vocabulary (the character
    cap with its ties included) and idf, and the same rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from matrixcoder.encoding import features

    monkeypatch.setattr(features, "_CHAR_MAX_FEATURES", char_cap)
    rng = np.random.default_rng(0)
    words = "stackable micro credentials ECTS recognised courses learners digital badge employers Modul Kurs".split()
    texts = [" ".join(rng.choice(words, size=rng.integers(2, 9))) + rng.choice([".", "!", " 2025."]) for _ in range(120)]
    counts = TermCounts.of(texts)
    rows = np.sort(rng.choice(len(texts), size=90, replace=False))
    fold_texts = [texts[i] for i in rows]
    word_block = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(fold_texts)
    char_block = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_features=char_cap, sublinear_tf=True).fit(fold_texts)
    expected_vocabulary = list(word_block.get_feature_names_out()) + [CHAR_PREFIX + gram for gram in char_block.get_feature_names_out()]
    expected_idf = np.concatenate([word_block.idf_, char_block.idf_]).astype(np.float32)
    for fitted in (TfidfFeatures(char=True).fit(fold_texts), TfidfFeatures(char=True).fit(fold_texts, counts.take(rows))):
        assert fitted.vocabulary == expected_vocabulary
        np.testing.assert_array_equal(fitted.idf, expected_idf)
        expected_rows = np.hstack([word_block.transform(texts).toarray(), char_block.transform(texts).toarray()])
        np.testing.assert_allclose(fitted.transform(texts, counts).toarray(), expected_rows, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(fitted.transform(texts, counts).toarray(), fitted.transform(texts).toarray())
    assert char_cap > 1000 or len(char_block.get_feature_names_out()) == char_cap
    batch = UnitBatch.counted(texts, np.zeros((len(texts), 2))).take(rows)
    assert batch.counts is not None and batch.counts.words.shape[0] == len(rows) == len(batch)


ADJUDICATED_EVERY = 5


@pytest.fixture(scope="module")
def trained_by_writer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("by_writer")
    examples = write_examples(tmp / "plain.jsonl", n_docs=8)
    lines = [json.loads(line) for line in examples.read_text().splitlines()]
    with (tmp / "examples.jsonl").open("w") as handle:
        for record in lines:
            handle.write(json.dumps(record | {"writer": f"w{int(record['doc_id'][1:]) % 4}"}) + "\n")
        for record in lines[::ADJUDICATED_EVERY]:  # a second coder and an adjudicator settled every fifth unit
            handle.write(json.dumps(record | {"writer": f"w{int(record['doc_id'][1:]) % 4}", "coder": "adjudicated"}) + "\n")
    with pytest.MonkeyPatch.context() as patch:
        synthetic.fake_environment(patch, tmp / "home")
        result = train_model(tmp / "examples.jsonl", tmp / "model", TrainConfig(compare=True, n_splits=3, min_positives=5))
    return result


def test_examples_with_writers_are_validated_on_unseen_writers(trained_by_writer):
    """The headline holds whole writers out; the document-grouped figure sits beside it as within-writer."""
    bundle = trained_by_writer.bundle
    assert bundle.info.cv.scheme == "writer" and bundle.info.cv.n_splits == 4
    assert bundle.info.training_data.writers == 4
    metrics = bundle.metrics
    assert set(metrics["within_writer"]) >= {trained_by_writer.selected, "tf-idf + logistic regression"}
    assert list(metrics["learning_curve"]) == ["25%", "50%", "100%"]
    assert metrics["learning_curve"]["100%"]["mean_kappa"] == pytest.approx(
        trained_by_writer.systems[trained_by_writer.selected].mean_kappa
    )
    card = bundle.card
    assert "unseen writers" in card and "leave one writer out (4 writers" in card
    n_gold = -(-8 * 12 // ADJUDICATED_EVERY)
    adjudicated = {name for name in metrics["systems"] if name.endswith(f"adjudicated units only ({n_gold})")}
    assert adjudicated == {
        f"{trained_by_writer.selected}, adjudicated units only ({n_gold})",
        f"tf-idf + logistic regression, adjudicated units only ({n_gold})",
    }
    assert "an adjudicator settled" in card
    assert "by document, 2 folds" in card and "writers out in 2 groups" in card
    assert "## Within-writer figures" in card and "## Learning curve over writers" in card


def test_examples_without_writers_keep_document_folds(trained):
    _, result = trained
    assert result.bundle.info.cv.scheme == "document" and not result.bundle.metrics["within_writer"]
    assert "within-writer figure" in result.bundle.card


def test_train_learns_from_reviewed_units_beside_the_examples(tmp_path, fake_encoder, no_mlflow):
    """`train --reviewed` merges an analyst's decisions in: they replace their examples and count N times."""
    from typer.testing import CliRunner

    from matrixcoder.cli import app

    examples = write_examples(tmp_path / "examples.jsonl", n_docs=3)  # the fewest a training takes
    first = json.loads(examples.read_text().splitlines()[0])
    reviewed = tmp_path / "reviewed.jsonl"
    reviewed.write_text(json.dumps(first | {"codes": ["CB4"], "coder": "ana"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["train", str(examples), "--out", str(tmp_path / "model"), "--reviewed", str(reviewed), "--reviewed-weight", "2"]
    )
    assert result.exit_code == 0, result.output
    merged = [json.loads(line) for line in (tmp_path / "model-examples.jsonl").read_text().splitlines()]
    copies = [u for u in merged if u["text"] == first["text"] and u["doc_id"] == first["doc_id"]]
    assert [u["codes"] for u in copies] == [["CB4"], ["CB4"]] and {u["coder"] for u in copies} == {"A"}
    assert len(merged) == len(examples.read_text().splitlines()) + 1


def test_sample_weights_keep_the_gold_ratio_and_average_one():
    """Adjudicated units weigh gold_weight times the others, and the weights average 1 whatever the gold share."""
    recipe = Recipe("embedding", 1.0, np.zeros(3, dtype=bool), True, 5, 0, gold_weight=2.0)
    for gold in ([True, False, False, False], [True, True, True, False], [True] * 4):
        weight = recipe.sample_weight(SimpleNamespace(gold=np.array(gold)))
        assert weight.mean() == pytest.approx(1.0)
        if not all(gold):
            assert weight[0] / weight[-1] == pytest.approx(2.0)
