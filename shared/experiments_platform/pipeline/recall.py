"""Exact recall@k against the full candidate corpus (pure NumPy, no TensorFlow).

Protocol: every test interaction is one query with one positive candidate. All candidates of
the corpus are scored (dot product); the positive is a hit at k when fewer than k candidates
rank before it. Ties are broken by corpus order (a candidate earlier in the corpus ranks first),
exactly as a stable descending sort would. Recall@k is hits / evaluated interactions, which is
the interaction-weighted mean of per-buyer recall. A positive missing from the corpus is a miss.

``excluded`` (optional) lists, per query, the corpus indices removed from its ranking (the
buyer's training items). Queries whose positive is itself excluded cannot be ranked in that
variant and are dropped; their number is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_KS = (10, 50, 100)


@dataclass(frozen=True)
class RecallResult:
    recall: dict[int, float]
    evaluated: int
    dropped: int

    def as_metrics(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}recall_at_{k}": value for k, value in self.recall.items()}


def positive_ranks(
    query_embeddings: np.ndarray,
    candidate_embeddings: np.ndarray,
    positives: np.ndarray,
    excluded: Sequence[np.ndarray] | None = None,
    chunk_size: int = 2048,
) -> np.ndarray:
    """0-based rank of each query's positive among all candidates; -1 when it cannot be ranked.

    -1 marks a positive outside the corpus (index < 0) or one excluded from its own ranking.
    When every query row is the same vector (the popularity baseline), one ranking serves all.
    """
    queries = np.asarray(query_embeddings, dtype=np.float32)
    candidates = np.asarray(candidate_embeddings, dtype=np.float32)
    positives = np.asarray(positives, dtype=np.int64)
    if queries.ndim != 2 or candidates.ndim != 2 or queries.shape[1] != candidates.shape[1]:
        raise ValueError(f"embedding shapes do not match: queries {queries.shape}, candidates {candidates.shape}")
    if positives.shape != (queries.shape[0],):
        raise ValueError(f"positives must have one entry per query ({queries.shape[0]}), got {positives.shape}")
    if excluded is not None and len(excluded) != len(positives):
        raise ValueError(f"excluded must have one entry per query ({len(positives)}), got {len(excluded)}")
    corpus = candidates.shape[0]
    valid = (positives >= 0) & (positives < corpus)
    safe = np.where(valid, positives, 0)
    pairs = _excluded_pairs(excluded, corpus) if excluded is not None else None
    if len(queries) and np.all(queries == queries[0]):
        ranks = _shared_ranking_ranks(candidates @ queries[0], safe, pairs, valid)
    else:
        ranks = np.empty(len(positives), dtype=np.int64)
        for start in range(0, len(positives), chunk_size):
            stop = min(start + chunk_size, len(positives))
            scores = queries[start:stop] @ candidates.T
            chunk_pairs = None
            if pairs is not None:
                lo, hi = np.searchsorted(pairs[0], [start, stop])
                chunk_pairs = (pairs[0][lo:hi] - start, pairs[1][lo:hi])
            ranks[start:stop] = _chunk_ranks(scores, safe[start:stop], chunk_pairs, valid[start:stop])
    return np.where(valid, ranks, -1)


def _excluded_pairs(excluded: Sequence[np.ndarray], corpus: int) -> tuple[np.ndarray, np.ndarray]:
    """(query row, candidate index) of every exclusion, unique, in the corpus, sorted by row."""
    lengths = np.fromiter((len(e) for e in excluded), dtype=np.int64, count=len(excluded))
    flat = np.concatenate([np.asarray(e, dtype=np.int64) for e in excluded]) if lengths.sum() else \
        np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.arange(len(excluded), dtype=np.int64), lengths)
    keep = (flat >= 0) & (flat < corpus)
    keys = np.unique(rows[keep] * corpus + flat[keep])
    return keys // corpus, keys % corpus


def _drop_excluded_positives(pairs: tuple[np.ndarray, np.ndarray], safe: np.ndarray, valid: np.ndarray) -> None:
    rows, items = pairs
    valid[rows[items == safe[rows]]] = False


def _shared_ranking_ranks(scores: np.ndarray, safe: np.ndarray, pairs: tuple[np.ndarray, np.ndarray] | None,
                          valid: np.ndarray) -> np.ndarray:
    """Ranks when every query scores the corpus the same way: one stable descending sort."""
    position = np.empty(len(scores), dtype=np.int64)
    position[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    ranks = position[safe]
    if pairs is not None:
        rows, items = pairs
        _drop_excluded_positives(pairs, safe, valid)
        before = position[items] < ranks[rows]
        ranks = ranks - np.bincount(rows[before], minlength=len(safe))
    return ranks


def _chunk_ranks(scores: np.ndarray, safe: np.ndarray, pairs: tuple[np.ndarray, np.ndarray] | None,
                 valid: np.ndarray) -> np.ndarray:
    """Ranks of one chunk's positives: candidates scoring higher, plus equal ones earlier in the corpus."""
    index = np.arange(len(safe))
    positive_scores = scores[index, safe]
    ranks = np.count_nonzero(scores > positive_scores[:, None], axis=1).astype(np.int64)
    equal = scores == positive_scores[:, None]
    tied = np.flatnonzero(np.count_nonzero(equal, axis=1) > 1)
    if tied.size:
        ranks[tied] += np.count_nonzero(equal[tied] & (np.arange(scores.shape[1]) < safe[tied, None]), axis=1)
    if pairs is not None:
        rows, items = pairs
        _drop_excluded_positives(pairs, safe, valid)
        item_scores = scores[rows, items]
        before = (item_scores > positive_scores[rows]) | ((item_scores == positive_scores[rows]) & (items < safe[rows]))
        ranks -= np.bincount(rows[before], minlength=len(safe))
    return ranks


def recall_at_k(
    query_embeddings: np.ndarray,
    candidate_embeddings: np.ndarray,
    positives: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
    excluded: Sequence[np.ndarray] | None = None,
) -> RecallResult:
    """Recall@k for each k (see the module docstring for the protocol)."""
    ranks = positive_ranks(query_embeddings, candidate_embeddings, positives, excluded)
    dropped = 0
    if excluded is not None:
        positives = np.asarray(positives)
        in_corpus = (positives >= 0) & (positives < len(candidate_embeddings))
        dropped = int(np.sum(in_corpus & (ranks < 0)))
    evaluated = len(ranks) - dropped
    recall = {}
    for k in ks:
        hits = int(np.sum((ranks >= 0) & (ranks < k)))
        recall[int(k)] = hits / evaluated if evaluated else 0.0
    return RecallResult(recall=recall, evaluated=evaluated, dropped=dropped)


def popularity_scores(train_positives: np.ndarray, corpus_size: int) -> np.ndarray:
    """Training interaction count of every corpus candidate, as a [corpus, 1] score matrix."""
    counts = np.bincount(np.asarray(train_positives)[np.asarray(train_positives) >= 0], minlength=corpus_size)
    return counts[:corpus_size].astype(np.float32)[:, None]


def history_by_query(query_keys: np.ndarray, train_keys: np.ndarray, train_positives: np.ndarray) -> list[np.ndarray]:
    """Per query row: the corpus indices its buyer interacted with in training."""
    history: dict[object, set[int]] = {}
    for key, item in zip(train_keys.tolist(), np.asarray(train_positives).tolist(), strict=True):
        if item >= 0:
            history.setdefault(key, set()).add(item)
    empty = np.zeros(0, dtype=np.int64)
    return [np.fromiter(sorted(history[k]), dtype=np.int64) if k in history else empty for k in query_keys.tolist()]
