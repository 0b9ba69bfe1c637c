"""recall@k checked against an independent brute force: a full stable sort per query."""

from __future__ import annotations

import numpy as np
import pytest
from experiments_platform.pipeline.recall import history_by_query, popularity_scores, positive_ranks, recall_at_k


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
