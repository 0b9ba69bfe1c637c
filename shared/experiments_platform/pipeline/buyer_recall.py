"""Recall as papers report it, and who the test buyers are (issue 11 §3, decision 063).

``recall_at_k`` of the report is per test interaction with only the buyer's training items
removable. Papers and RecBole report recall per buyer with the buyer's training and validation
items masked: for each test buyer, the share of its test items ranked in the top k among the items
it has not interacted with in training or validation, then the mean over buyers. A test
interaction whose item the buyer already had in training or validation cannot be ranked once
masked and is dropped (as in the report's excluding variant); a test item outside the corpus is a
miss. The ranks come from the same exact scoring as the report (``recall.rank_positives``), so one
buyer's positives compete with each other as in one top-k list.

Cold start: the share of test interactions whose buyer, or whose item, never occurs in the
training split, and the report's per-interaction recall split by known and cold-start buyers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY
from experiments_platform.pipeline.recall import history_pairs, popularity_scores, rank_positives

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class BuyerRecall:
    model: dict[int, float]
    popularity: dict[int, float]
    buyers: int
    evaluated: int
    dropped: int
    known_buyers: dict[int, float]
    cold_buyers: dict[int, float] | None
    cold_buyer_rate: float
    cold_item_rate: float


def member(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """``np.isin(values, pool)`` for key arrays: the keys are ``bytes`` objects, for which numpy's ``isin``
    compares every value with every pool entry (10k test x 80k train keys: 56 s; hours at 1M rows)."""
    seen = set(np.asarray(pool).tolist())
    return np.fromiter((value in seen for value in np.asarray(values).tolist()), dtype=bool, count=len(values))


def per_buyer(ranks: np.ndarray, evaluated: np.ndarray, codes: np.ndarray, buyers: int, k: int) -> float:
    """Mean over buyers with an evaluated interaction of (its hits at k / its evaluated interactions)."""
    counts = np.bincount(codes, weights=evaluated, minlength=buyers)
    hits = np.bincount(codes, weights=evaluated & (ranks >= 0) & (ranks < k), minlength=buyers)
    seen = counts > 0
    return float(np.mean(hits[seen] / counts[seen])) if seen.any() else 0.0


def _interaction_recall(ranks: np.ndarray, ks: tuple[int, ...]) -> dict[int, float]:
    return {k: float(np.mean((ranks >= 0) & (ranks < k))) for k in ks}


def buyer_recall(query_embeddings: np.ndarray, candidate_embeddings: np.ndarray, positives: np.ndarray,
                 test: Arrays, train: Arrays, train_positions: np.ndarray, val: Arrays | None,
                 val_positions: np.ndarray | None, ks: tuple[int, ...]) -> BuyerRecall:
    """Per-buyer recall@k with training and validation items masked (model and popularity), the
    cold-start shares of the test split and the per-interaction recall of known and cold-start buyers.
    ``*_positions`` are the corpus indices of each split's items (-1 outside the corpus)."""
    corpus_size = len(candidate_embeddings)
    seen_keys, seen_positions = np.asarray(train[QUERY_KEY]), np.asarray(train_positions)
    if val is not None and val_positions is not None and len(val[QUERY_KEY]):
        seen_keys = np.concatenate([seen_keys, np.asarray(val[QUERY_KEY])])
        seen_positions = np.concatenate([seen_positions, np.asarray(val_positions)])
    masked = history_pairs(test[QUERY_KEY], seen_keys, seen_positions, corpus_size)  # once for both rankings
    limit = max(ks)
    model = rank_positives(query_embeddings, candidate_embeddings, positives, masked, limit=limit)
    ones = np.ones((len(positives), 1), dtype=np.float32)
    baseline = rank_positives(ones, popularity_scores(train_positions, corpus_size), positives, masked, limit=limit)
    assert model.excluding is not None and baseline.excluding is not None
    in_corpus = (positives >= 0) & (positives < corpus_size)
    evaluated = ~(in_corpus & (model.excluding < 0))
    keys, codes = np.unique(np.asarray(test[QUERY_KEY]), return_inverse=True)
    codes = codes.ravel()
    known = member(test[QUERY_KEY], train[QUERY_KEY])
    cold_item = ~member(test[CANDIDATE_KEY], train[CANDIDATE_KEY])
    return BuyerRecall(
        model={k: per_buyer(model.excluding, evaluated, codes, len(keys), k) for k in ks},
        popularity={k: per_buyer(baseline.excluding, evaluated, codes, len(keys), k) for k in ks},
        buyers=int(np.count_nonzero(np.bincount(codes, weights=evaluated, minlength=len(keys)))),
        evaluated=int(evaluated.sum()),
        dropped=int((~evaluated).sum()),
        known_buyers=_interaction_recall(model.all_items[known], ks) if known.any() else {k: 0.0 for k in ks},
        cold_buyers=_interaction_recall(model.all_items[~known], ks) if (~known).any() else None,
        cold_buyer_rate=float(np.mean(~known)) if len(known) else 0.0,
        cold_item_rate=float(np.mean(cold_item)) if len(cold_item) else 0.0,
    )
