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
    order = np.arange(corpus)
    ranks = np.full(len(positives), -1, dtype=np.int64)
    for start in range(0, len(positives), chunk_size):
        stop = min(start + chunk_size, len(positives))
        rows = np.arange(start, stop)
        pos = positives[rows]
        valid = (pos >= 0) & (pos < corpus)
        scores = queries[rows] @ candidates.T
        if excluded is not None:
            for i, row in enumerate(rows):
                drop = np.asarray(excluded[int(row)], dtype=np.int64)
                if drop.size:
                    if valid[i] and np.any(drop == pos[i]):
                        valid[i] = False
                    scores[i, drop] = -np.inf
        safe_pos = np.where(valid, pos, 0)
        positive_scores = scores[np.arange(len(rows)), safe_pos][:, None]
        before = (scores > positive_scores) | ((scores == positive_scores) & (order[None, :] < safe_pos[:, None]))
        chunk_ranks = before.sum(axis=1)
        ranks[rows] = np.where(valid, chunk_ranks, -1)
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
