"""recall@k checked against an independent brute force: a full stable sort per query."""

from __future__ import annotations

import numpy as np
import pytest
from experiments_platform.pipeline.recall import (
    history_by_query,
    popularity_scores,
    positive_ranks,
    rank_positives,
    recall_at_k,
    recall_variants,
)


def brute_force_recall(queries, candidates, positives, ks, excluded=None):
    hits = {k: 0 for k in ks}
    evaluated = 0
    for row, positive in enumerate(positives):
        scores = [float(np.dot(queries[row], c)) for c in candidates]
        banned = set() if excluded is None else set(int(x) for x in excluded[row])
        if positive in banned:
            continue
        evaluated += 1
        ranking = [i for i in sorted(range(len(candidates)), key=lambda i: -scores[i]) if i not in banned]
        for k in ks:
            if positive >= 0 and positive in ranking[:k]:
                hits[k] += 1
    return {k: hits[k] / evaluated for k in ks}, evaluated


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force_with_ties_and_several_positives(seed):
    rng = np.random.default_rng(seed)
    corpus, dim = 40, 3
    candidates = rng.integers(-2, 3, size=(corpus, dim)).astype(np.float32)
    candidates[5] = candidates[7] = candidates[30]
    users = rng.integers(-2, 3, size=(6, dim)).astype(np.float32)
    user_of_row = np.repeat(np.arange(6), 5)
    queries = users[user_of_row]
    positives = rng.integers(0, corpus, size=len(queries))
    positives[:3] = [7, 30, 5]
    positives[-1] = -1
    ks = (1, 5, 10, 39)
    expected, evaluated = brute_force_recall(queries, candidates, positives, ks)
    result = recall_at_k(queries, candidates, positives, ks)
    assert result.evaluated == evaluated == len(positives)
    assert result.recall == pytest.approx(expected)
    assert result.recall[39] < 1.0


def test_exclusion_variant_matches_brute_force():
    rng = np.random.default_rng(7)
    corpus = 25
    candidates = rng.normal(size=(corpus, 4)).astype(np.float32)
    candidates[3] = candidates[4]
    query_keys = np.array(["a", "a", "b", "c", "c", "c"])
    queries = rng.normal(size=(3, 4)).astype(np.float32)[[0, 0, 1, 2, 2, 2]]
    positives = np.array([4, 9, 3, 1, 2, 11])
    train_keys = np.array(["a", "a", "b", "c", "c"])
    train_items = np.array([3, 10, 20, 11, 0])
    excluded = history_by_query(query_keys, train_keys, train_items)
    ks = (1, 3, 5)
    expected, evaluated = brute_force_recall(queries, candidates, positives, ks, excluded)
    result = recall_at_k(queries, candidates, positives, ks, excluded=excluded)
    assert evaluated == 5 and result.evaluated == 5 and result.dropped == 1
    assert result.recall == pytest.approx(expected)


def test_tie_breaks_by_corpus_order():
    candidates = np.ones((5, 1), dtype=np.float32)
    ranks = positive_ranks(np.ones((2, 1)), candidates, np.array([0, 4]))
    assert ranks.tolist() == [0, 4]


def test_popularity_ranks_by_training_count():
    scores = popularity_scores(np.array([2, 2, 2, 0, 1, 1]), corpus_size=4)
    assert scores[:, 0].tolist() == [1, 2, 3, 0]
    result = recall_at_k(np.ones((3, 1)), scores, np.array([2, 1, 3]), ks=(1, 2))
    assert result.recall == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3)}


def test_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match="positives must have one entry per query"):
        recall_at_k(np.ones((2, 3)), np.ones((4, 3)), np.array([1]))
    with pytest.raises(ValueError, match="embedding shapes do not match"):
        recall_at_k(np.ones((2, 3)), np.ones((4, 2)), np.array([1, 2]))


def test_one_shared_ranking_with_exclusions_matches_brute_force():
    """Identical query rows (the popularity baseline) take the one-sort path; ties and exclusions included."""
    rng = np.random.default_rng(11)
    corpus = 30
    popularity = popularity_scores(rng.integers(0, corpus, size=60), corpus_size=corpus)
    positives = rng.integers(0, corpus, size=12)
    positives[0] = -1
    excluded = [rng.choice(corpus, size=rng.integers(0, 6), replace=True) for _ in positives]
    excluded[1] = np.array([positives[1], positives[1]])
    queries = np.ones((len(positives), 1), dtype=np.float32)
    ks = (1, 3, 10)
    for variant in (None, excluded):
        expected, evaluated = brute_force_recall(queries, popularity, positives, ks, variant)
        result = recall_at_k(queries, popularity, positives, ks, excluded=variant)
        assert result.evaluated == evaluated
        assert result.recall == pytest.approx(expected)
        distinct_rows = np.hstack([queries, np.arange(len(positives), dtype=np.float32)[:, None]])
        same_scores = np.hstack([popularity, np.zeros_like(popularity)])
        general = positive_ranks(distinct_rows, same_scores, positives, variant)
        assert general.tolist() == positive_ranks(queries, popularity, positives, variant).tolist()


def dot(query, candidate):
    """The protocol's score: float64 products of the float32 values, added in feature order."""
    total = 0.0
    pairs = zip(np.asarray(query, dtype=np.float32).tolist(), np.asarray(candidate, dtype=np.float32).tolist(),
                strict=True)
    for a, b in pairs:
        total += a * b
    return total


def brute_force_ranks(queries, candidates, positives, excluded=None):
    """Rank of each positive by its definition: higher scores, then equal scores earlier in the corpus."""
    scores = np.array([[dot(q, c) for c in candidates] for q in queries])
    ranks = []
    for row, positive in enumerate(positives):
        banned = set() if excluded is None else {int(x) for x in excluded[row]}
        if positive < 0 or positive >= len(candidates) or positive in banned:
            ranks.append(-1)
            continue
        row_scores, mine = scores[row], scores[row, positive]
        ranks.append(sum(1 for j, value in enumerate(row_scores) if j not in banned
                         and (value > mine or (value == mine and j < positive))))
    return np.array(ranks)


@pytest.mark.parametrize("budget", [30, 400, 5000, 10**8])
@pytest.mark.parametrize("dim", [1, 5, 33])
def test_tiled_scan_matches_brute_force_with_duplicates_across_blocks(budget, dim):
    """Float vectors, copies of candidates far apart in the corpus (other blocks, other tiles), tiny
    budgets (blocks of 3 candidates, tiles of 2 queries, a query left alone in its tile): every rank
    exact, ties by corpus order, in both variants from one pass."""
    rng = np.random.default_rng(budget + dim)
    corpus = 61
    candidates = rng.normal(size=(corpus, dim)).astype(np.float32)
    for copy, original in ((40, 2), (41, 2), (59, 17), (3, 50), (60, 0)):
        candidates[copy] = candidates[original]
    queries = rng.normal(size=(23, dim)).astype(np.float32)
    queries[5] = queries[6]
    positives = rng.integers(0, corpus, size=len(queries))
    positives[:6] = [2, 40, 41, 59, 3, 60]
    positives[7] = -1
    positives[8] = corpus
    excluded = [rng.choice(corpus, size=rng.integers(0, 8), replace=True) for _ in positives]
    excluded[0] = np.array([40, 41, 2])
    excluded[1] = np.array([2, 2, 59])
    ranks = rank_positives(queries, candidates, positives, excluded, memory_budget_bytes=budget)
    assert ranks.all_items.tolist() == brute_force_ranks(queries, candidates, positives).tolist()
    assert ranks.excluding is not None
    assert ranks.excluding.tolist() == brute_force_ranks(queries, candidates, positives, excluded).tolist()


@pytest.mark.parametrize("limit", [1, 4, 30])
def test_limit_caps_ranks_and_keeps_the_ones_below_it_exact(limit):
    rng = np.random.default_rng(limit)
    candidates = rng.integers(-2, 3, size=(50, 3)).astype(np.float32)
    queries = rng.integers(-2, 3, size=(40, 3)).astype(np.float32)
    positives = rng.integers(0, 50, size=40)
    excluded = [rng.choice(50, size=rng.integers(0, 10)) for _ in positives]
    for variant in (None, excluded):
        expected = brute_force_ranks(queries, candidates, positives, variant)
        capped = positive_ranks(queries, candidates, positives, variant, limit=limit, memory_budget_bytes=200)
        assert capped.tolist() == np.where(expected >= 0, np.minimum(expected, limit), -1).tolist()


def test_recall_variants_equal_two_separate_passes():
    rng = np.random.default_rng(3)
    candidates = rng.normal(size=(300, 8)).astype(np.float32)
    queries = rng.normal(size=(120, 8)).astype(np.float32)
    positives = rng.integers(-1, 300, size=120)
    excluded = [rng.choice(300, size=rng.integers(0, 30)) for _ in positives]
    everything, without = recall_variants(queries, candidates, positives, excluded, ks=(1, 10, 100),
                                          memory_budget_bytes=4000)
    assert everything == recall_at_k(queries, candidates, positives, (1, 10, 100))
    assert without == recall_at_k(queries, candidates, positives, (1, 10, 100), excluded=excluded)
    expected, evaluated = brute_force_recall(queries, candidates, positives, (1, 10, 100), excluded)
    assert without.evaluated == evaluated and without.recall == pytest.approx(expected)


def test_a_positive_scored_not_a_number_is_a_miss():
    candidates = np.eye(4, dtype=np.float32)
    queries = np.array([[1, 0, 0, 0], [np.nan, 0, 0, 0]], dtype=np.float32)
    assert recall_at_k(queries, candidates, np.array([0, 0]), ks=(1, 4)).recall == {1: 0.5, 4: 0.5}


def test_history_by_query_lists_each_buyers_training_items_once_sorted():
    history = history_by_query(np.array(["b", "a", "z", "b"]), np.array(["a", "b", "b", "a", "b"]),
                               np.array([3, 9, 1, -1, 9]))
    assert [h.tolist() for h in history] == [[1, 9], [3], [], [1, 9]]
    numeric = history_by_query(np.array([7, 8]), np.array([8, 8, 7]), np.array([0, 0, 5]))
    assert [h.tolist() for h in numeric] == [[5], [0]]


def test_a_collapsed_model_ties_everything_in_corpus_order():
    """Every candidate the same vector (or a zero query): all scores tie, so each positive's rank is its index."""
    candidates = np.tile(np.array([[0.3, -1.7, 2.2]], dtype=np.float32), (5000, 1))
    queries = np.array([[0.1, 0.2, 0.3], [0.0, 0.0, 0.0], [1e-3, 5.0, -2.0]], dtype=np.float32)
    positives = np.array([4321, 7, 99])
    excluded = [np.array([0, 1, 4999]), np.array([7]), np.array([])]
    ranks = rank_positives(queries, candidates, positives, excluded, memory_budget_bytes=20_000)
    assert ranks.all_items.tolist() == [4321, 7, 99]
    assert ranks.excluding is not None and ranks.excluding.tolist() == [4319, -1, 99]
    assert positive_ranks(queries, candidates, positives, limit=100).tolist() == [100, 7, 99]
