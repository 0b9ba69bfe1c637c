"""Issue 14: the test split is ranked once for the recall report and the per-buyer hits, and the buyers'
exclusions are built once as pairs; the numbers equal those of the separate computations they replace."""

from __future__ import annotations

import numpy as np
from experiments_platform.pipeline.buyer_hits import buyer_hits
from experiments_platform.pipeline.evaluation import corpus_positions, evaluate_test_split, recall_report
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY
from experiments_platform.pipeline.recall import (
    _excluded_pairs,
    history_by_query,
    history_pairs,
    positive_ranks,
    rank_positives,
    recall_variants,
)


def test_history_pairs_are_the_pairs_of_the_history_lists():
    rng = np.random.default_rng(14)
    for trial in range(300):
        buyers, corpus = int(rng.integers(1, 30)), int(rng.integers(1, 50))
        keys = np.array([f"buyer-{i}".encode() for i in range(buyers + 5)], dtype=object)
        train_keys = keys[rng.integers(0, buyers, rng.integers(0, 300))]
        train_items = rng.integers(-1, corpus, len(train_keys))
        query_keys = keys[rng.integers(0, buyers + 5, rng.integers(1, 100))]  # some never in training
        rows, items = _excluded_pairs(history_by_query(query_keys, train_keys, train_items), corpus)
        pairs = history_pairs(query_keys, train_keys, train_items, corpus)
        assert pairs.queries == len(query_keys)
        np.testing.assert_array_equal(pairs.rows, rows, err_msg=str(trial))
        np.testing.assert_array_equal(pairs.items, items, err_msg=str(trial))
    numeric = history_pairs(np.array([7, 8]), np.array([8, 8, 7]), np.array([0, 0, 5]), 6)
    assert numeric.rows.tolist() == [0, 1] and numeric.items.tolist() == [5, 0]


def test_pairs_rank_as_the_lists_do():
    rng = np.random.default_rng(15)
    queries = rng.normal(size=(300, 4)).astype(np.float32)
    candidates = np.repeat(rng.normal(size=(40, 4)).astype(np.float32), 2, axis=0)  # exact ties
    keys = np.array([f"b{i}" for i in range(30)], dtype=object)
    query_keys, train_keys = keys[rng.integers(0, 30, 300)], keys[rng.integers(0, 30, 2000)]
    train_items, positives = rng.integers(0, 80, 2000), rng.integers(-1, 80, 300)
    lists = history_by_query(query_keys, train_keys, train_items)
    pairs = history_pairs(query_keys, train_keys, train_items, 80)
    for limit in (None, 5):
        a = rank_positives(queries, candidates, positives, lists, limit=limit, memory_budget_bytes=2000)
        b = rank_positives(queries, candidates, positives, pairs, limit=limit, memory_budget_bytes=2000)
        np.testing.assert_array_equal(a.all_items, b.all_items)
        assert a.excluding is not None and b.excluding is not None
        np.testing.assert_array_equal(a.excluding, b.excluding)
        np.testing.assert_array_equal(positive_ranks(queries, candidates, positives, pairs, limit=limit), b.excluding)


def test_one_ranking_gives_the_report_and_the_hits_of_separate_rankings():
    rng = np.random.default_rng(16)
    corpus_size = 120
    items = np.array([f"item-{i}".encode() for i in range(corpus_size)], dtype=object)
    buyers = np.array([f"buyer-{i}".encode() for i in range(60)], dtype=object)
    corpus = {CANDIDATE_KEY: items}

    def split(rows: int, cold: int) -> dict[str, np.ndarray]:
        return {QUERY_KEY: buyers[rng.integers(0, 60 - cold if not cold else 60, rows)],
                CANDIDATE_KEY: items[rng.integers(0, corpus_size, rows)]}

    train, val, test = split(3000, 0), split(400, 10), split(500, 10)
    test[CANDIDATE_KEY][:5] = b"not-in-corpus"
    candidates = rng.normal(size=(corpus_size, 8)).astype(np.float32)
    candidates[60:70] = candidates[50:60]  # exact ties across the corpus
    positives = corpus_positions(items, test[CANDIDATE_KEY])
    queries = (candidates[np.maximum(positives, 0)] + rng.normal(scale=1.5, size=(500, 8))).astype(np.float32)
    ks = (1, 10, 50)
    section, hits = evaluate_test_split(queries, candidates, test, train, corpus, ks, val=val)
    assert section == recall_report(queries, candidates, test, train, corpus, ks, val=val)
    # as the report was computed before: the history as lists, ranked by recall_variants
    history = history_by_query(test[QUERY_KEY], train[QUERY_KEY], corpus_positions(items, train[CANDIDATE_KEY]))
    every, excluding = recall_variants(queries, candidates, positives, history, ks)
    assert section.all_items is not None and section.excluding_train_items is not None
    assert section.all_items.model == {str(k): v for k, v in every.recall.items()}
    assert section.excluding_train_items.model == {str(k): v for k, v in excluding.recall.items()}
    assert (section.excluding_train_items.evaluated_interactions, section.excluding_train_items.dropped_interactions
            ) == (excluding.evaluated, excluding.dropped) and excluding.dropped > 0
    assert hits == buyer_hits(queries, candidates, test, train, corpus, ks)
    assert hits.model_dump_json() == buyer_hits(queries, candidates, test, train, corpus, ks).model_dump_json()
