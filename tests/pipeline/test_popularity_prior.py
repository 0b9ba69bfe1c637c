"""The popularity prior of the quick test's scores (decision 060, amendment 2), against brute force on tiny data."""

from __future__ import annotations

import numpy as np
from experiments_platform.pipeline.evaluation import PRIOR_WEIGHTS, log_popularity, prior_weight, with_prior


def brute_recall(scores: np.ndarray, positives: np.ndarray, k: int) -> float:
    """Hit when fewer than k candidates score above the positive, or tie with it earlier in the corpus."""
    hits = 0
    for row, positive in zip(scores, positives, strict=True):
        before = np.sum(row > row[positive]) + np.sum(row[:positive] == row[positive])
        hits += int(before < k)
    return hits / len(positives)


def test_the_prior_is_one_more_dimension_and_weight_zero_leaves_the_model_alone():
    rng = np.random.default_rng(5)
    queries, candidates = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(6, 3)).astype(np.float32)
    prior = log_popularity(np.array([4, 4, 4, 0, 2, -1, 4]), 6)
    np.testing.assert_allclose(prior, np.log1p([1, 0, 1, 0, 4, 0]), rtol=1e-6)
    q, c = with_prior(queries, candidates, prior, 2.0)
    assert q.shape == (4, 4) and c.shape == (6, 4)
    np.testing.assert_allclose(q @ c.T, queries @ candidates.T + 2.0 * prior[None, :], rtol=1e-5, atol=1e-5)
    same_q, same_c = with_prior(queries, candidates, prior, 0.0)
    assert same_q is queries and same_c is candidates
    per_query = np.array([0.0, 1.0, 4.0, 0.5], dtype=np.float32)  # known buyers one weight, cold-start another
    q, c = with_prior(queries, candidates, prior, per_query)
    np.testing.assert_allclose(q @ c.T, queries @ candidates.T + per_query[:, None] * prior[None, :],
                               rtol=1e-5, atol=1e-5)


def test_the_weight_is_the_one_with_the_best_validation_recall_the_smallest_on_a_tie():
    """Buyers who buy the popular items: a model that knows nothing (random vectors) gains from the prior and the
    chosen weight is the best of the grid by brute force; a model that already ranks every positive first keeps
    weight 0 (every weight ties at recall 1 or loses)."""
    rng = np.random.default_rng(7)
    corpus, k = 300, 10
    popularity = rng.zipf(1.6, corpus).clip(max=500).astype(float)
    train = rng.choice(corpus, 5000, p=popularity / popularity.sum())
    val = rng.choice(corpus, 400, p=popularity / popularity.sum())
    prior = log_popularity(train, corpus)
    queries, candidates = rng.normal(size=(400, 8)).astype(np.float32), rng.normal(size=(corpus, 8)).astype(np.float32)
    weight, tried = prior_weight(queries, candidates, val, prior, k=k)
    expected = {w: brute_recall(queries @ candidates.T + w * prior[None, :], val, k) for w in PRIOR_WEIGHTS}
    assert tried == expected
    assert weight == min(w for w, r in expected.items() if r == max(expected.values())) and weight > 0
    assert tried[weight] > tried[0.0] + 0.2

    perfect_candidates = np.eye(corpus, dtype=np.float32) * 100
    perfect_queries = perfect_candidates[val]
    weight, tried = prior_weight(perfect_queries, perfect_candidates, val, prior, k=k)
    assert weight == 0.0 and tried[0.0] == 1.0
