"""The recent-popularity baseline of time splits (issue 11 §8, decision 064 amendment).

Rank every candidate by its training interactions in the last ``window_days`` days of the training
period, ties (most candidates have none) broken by its training interactions overall, then by corpus
order; the same exact ranking and protocol as the popularity baseline (``pipeline.recall``).

The interaction time reaches the trainer as ``DAYS_AGO``: days between the interaction's day and the
latest day of the whole interactions table, a column the split queries of time splits add
(``sql.render``) and Transform passes through (``pipeline.preprocessing``). The training period ends
on the newest day of the training split (``min(DAYS_AGO)`` over it), so the window is
``DAYS_AGO < newest + window_days``. Random splits have no such column: no recent popularity.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from experiments_platform.domain.metrics import EXCLUDING_TRAIN_ITEMS, RECALL_KS, RECENT_POPULARITY_DAYS
from experiments_platform.pipeline.corpus_index import corpus_positions
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY
from experiments_platform.pipeline.recall import history_by_query, recall_variants
from experiments_platform.sql.render import DAYS_AGO

RECENT_DAYS = RECENT_POPULARITY_DAYS
"""The default window (the metric catalogue describes it): the last two weeks of the training period."""

Arrays = Mapping[str, np.ndarray]


def recent_popularity_scores(train_positions: np.ndarray, train_days_ago: np.ndarray, corpus_size: int,
                             window_days: int = RECENT_DAYS) -> np.ndarray:
    """A [corpus, 1] score matrix: rank by recent training count, then overall training count, then corpus order.

    Scores are ranks (``corpus_size`` for the first, 1 for the last) so they stay exact in float32.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    positions = np.asarray(train_positions, dtype=np.int64)
    days = np.asarray(train_days_ago)
    known = positions >= 0
    newest = int(days[known].min()) if known.any() else 0
    recent = known & (days < newest + window_days)
    overall = np.bincount(positions[known], minlength=corpus_size)[:corpus_size]
    windowed = np.bincount(positions[recent], minlength=corpus_size)[:corpus_size]
    order = np.lexsort((np.arange(corpus_size), -overall, -windowed))  # last key sorts first
    scores = np.empty(corpus_size, dtype=np.float32)
    scores[order] = np.arange(corpus_size, 0, -1, dtype=np.float32)
    return scores[:, None]


def recent_popularity_metrics(splits: Mapping[str, Arrays], corpus: Arrays,
                              window_days: int = RECENT_DAYS) -> dict[str, float]:
    """``recent_popularity_recall_at_{k}`` (all items and excluding training items) under their catalogue
    names; empty when the splits carry no interaction time (random splits)."""
    train, test = splits["train"], splits["test"]
    if DAYS_AGO not in train or DAYS_AGO not in test:
        return {}
    train_positions = corpus_positions(corpus[CANDIDATE_KEY], train[CANDIDATE_KEY])
    positives = corpus_positions(corpus[CANDIDATE_KEY], test[CANDIDATE_KEY])
    scores = recent_popularity_scores(train_positions, train[DAYS_AGO], len(corpus[CANDIDATE_KEY]), window_days)
    history = history_by_query(test[QUERY_KEY], train[QUERY_KEY], train_positions)
    ones = np.ones((len(positives), 1), dtype=np.float32)
    out: dict[str, float] = {}
    for suffix, variant in zip(("", f"_{EXCLUDING_TRAIN_ITEMS}"),
                               recall_variants(ones, scores, positives, history, RECALL_KS), strict=True):
        for k, value in variant.recall.items():
            out[f"recent_popularity_recall_at_{k}{suffix}"] = float(value)
    return out
