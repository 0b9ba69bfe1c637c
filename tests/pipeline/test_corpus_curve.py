"""Recall@k as the candidate corpus grows (issue 11 §3, decision 079): seeded, nested samples of the corpus, each
query's positive ranked against the sample plus itself, exactly, checked against a float64 brute force."""

from __future__ import annotations

import numpy as np
from experiments_platform.domain import metrics
from experiments_platform.domain.metrics import CORPUS_PERCENTS
from experiments_platform.pipeline.corpus_curve import corpus_curve, sample_corpus
from experiments_platform.pipeline.evaluation import corpus_positions, final_metrics, recall_report
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY
from experiments_platform.pipeline.recall import popularity_scores, recall_at_k


def _keys(prefix: str, values: np.ndarray) -> np.ndarray:
    return np.array([f"{prefix}{v}".encode() for v in values.tolist()], dtype=object)


def _data(seed: int = 5):
    rng = np.random.default_rng(seed)
    corpus_size, dim = 600, 5
    candidates = rng.standard_normal((corpus_size, dim)).astype(np.float32)
    candidates[300:320] = candidates[40:60]  # exact ties across the corpus: corpus order decides them
    items = rng.integers(0, 610, 250)  # a few positives outside the corpus (always a miss)
    queries = candidates[np.minimum(items, corpus_size - 1)] + 1.2 * rng.standard_normal((250, dim)).astype(np.float32)
    corpus = {CANDIDATE_KEY: _keys("i", np.arange(corpus_size))}
    train = {QUERY_KEY: _keys("u", rng.integers(0, 40, 2000)), CANDIDATE_KEY: _keys("i", rng.integers(0, 600, 2000))}
    test = {QUERY_KEY: _keys("u", rng.integers(0, 40, 250)), CANDIDATE_KEY: _keys("i", items)}
    return corpus, candidates, train, test, queries


def _brute(queries: np.ndarray, candidates: np.ndarray, positives: np.ndarray, kept: np.ndarray, k: int) -> float:
    """Share of queries whose positive has fewer than k sampled candidates (other than itself) before it (float64
    scores; a tie goes to the candidate earlier in the corpus); a positive outside the corpus is a miss."""
    hits = 0
    for query, positive in zip(queries, positives.tolist(), strict=True):
        if positive < 0 or positive >= len(candidates):
            continue
        scores = candidates[kept].astype(np.float64) @ query.astype(np.float64)
        own = float(candidates[positive].astype(np.float64) @ query.astype(np.float64))
        before = np.sum(((scores > own) | ((scores == own) & (kept < positive))) & (kept != positive))
        hits += int(before < k)
    return hits / len(queries)


def test_samples_are_nested_seeded_and_sized():
    samples = {p: sample_corpus(1000, p, seed=7) for p in CORPUS_PERCENTS}
    for percent, kept in samples.items():
        assert len(kept) == round(1000 * percent / 100) and np.all(np.diff(kept) > 0)
    assert set(samples[10].tolist()) <= set(samples[25].tolist()) <= set(samples[50].tolist())
    assert np.array_equal(samples[100], np.arange(1000))
    assert np.array_equal(sample_corpus(1000, 25, seed=7), samples[25]), "same seed, same corpus"
    assert not np.array_equal(sample_corpus(1000, 25, seed=8), samples[25])
    assert len(sample_corpus(5, 10, seed=7)) == 1, "never an empty sample"


def test_the_curve_is_the_exact_ranking_against_each_sample_plus_the_positive():
    corpus, candidates, train, test, queries = _data()
    positives = corpus_positions(corpus[CANDIDATE_KEY], test[CANDIDATE_KEY])
    popularity = popularity_scores(corpus_positions(corpus[CANDIDATE_KEY], train[CANDIDATE_KEY]), len(candidates))
    points = corpus_curve(queries, candidates, positives, popularity, ks=(10, 50, 100), seed=11)
    assert [p.percent for p in points] == list(CORPUS_PERCENTS)
    ones = np.ones_like(queries[:, :1])
    for point in points:
        kept = sample_corpus(len(candidates), point.percent, seed=11)
        assert point.corpus_size == len(kept)
        for k in (10, 50, 100):
            assert point.model[str(k)] == _brute(queries, candidates, positives, kept, k), (point.percent, k)
            assert point.popularity[str(k)] == _brute(ones, popularity, positives, kept, k), (point.percent, k)
    whole = recall_at_k(queries, candidates, positives, (10, 50, 100)).recall
    assert {int(k): v for k, v in points[-1].model.items()} == whole, "100 % is the report's own recall"


def test_the_curve_falls_as_the_corpus_grows_even_when_the_positives_cover_the_corpus():
    """250 test interactions over a 120-item corpus cover nearly every item: one shared corpus keeping every
    positive would be the whole corpus at 10 %; ranking against the sample plus the own positive is not."""
    rng = np.random.default_rng(9)
    candidates = rng.standard_normal((120, 4)).astype(np.float32)
    positives = rng.integers(0, 120, 250)
    queries = candidates[positives] + 1.5 * rng.standard_normal((250, 4)).astype(np.float32)
    popularity = popularity_scores(rng.integers(0, 120, 1000), 120)
    points = corpus_curve(queries, candidates, positives, popularity, ks=(10,))
    recall = [p.model["10"] for p in points]
    assert recall[0] > recall[1] > recall[-1] and points[0].corpus_size == 12


def test_the_report_stores_the_curve_under_catalogued_names():
    corpus, candidates, train, test, queries = _data()
    section = recall_report(queries, candidates, test, train, corpus)
    assert section.corpus_curve is not None and [p.percent for p in section.corpus_curve] == list(CORPUS_PERCENTS)
    final = final_metrics(1.0, section)
    curve = {name for name in final if "_corpus_" in name}
    assert curve == {f"{who}recall_at_{k}_corpus_{p}pct" for who in ("", "popularity_") for k in metrics.RECALL_KS
                     for p in CORPUS_PERCENTS if p < 100}
    assert all(metrics.is_known(name) for name in curve)
    assert metrics.spec("recall_at_100_corpus_10pct").label == "Recall@100, 10% of the corpus"
    assert metrics.spec("recall_at_100_corpus_10pct").direction == "higher"
    assert metrics.spec("popularity_recall_at_100_corpus_10pct").direction == "none"
    assert final["recall_at_100_corpus_10pct"] == section.corpus_curve[0].model["100"]
