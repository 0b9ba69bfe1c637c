"""Recall@k as the candidate corpus grows (issue 11 §3, decision 079).

A recall@100 of 40 % means little without the corpus it was ranked against: the same model ranks a
positive into the top 100 of 1,000 candidates far more often than of 100,000. The curve ranks every test
query's positive again against subsampled corpora (``CORPUS_PERCENTS`` of the candidates, seeded) that
keep the positive: each query competes with the sample plus its own item, so how fast the model's (and
the popularity baseline's) recall falls as the sample grows says how it would do on a larger catalogue.
(Keeping every test positive in one shared corpus instead would, on a small catalogue such as MovieLens'
1,682 films, keep nearly the whole corpus at every percent and draw a flat line.)

Corpora: prefixes of one seeded permutation of the candidates, so the samples are nested (10 % ⊂ 25 % ⊂
50 % ⊂ 100 %), each kept in corpus order (the tie rule of ``recall``). Ranking, exact, with the report's
scan (``recall.rank_positives``): a query whose positive is in the sample is ranked against the sample; one
whose positive is not is ranked against the sample plus the positives outside it (T), and the positives
outside it that rank before its own (ranked among themselves, same scores, same order) are subtracted:
rank in sample ∪ {positive} = rank in T − rank among the outside positives. 100 % is the report's recall.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from experiments_platform.domain.metrics import CORPUS_PERCENTS
from experiments_platform.domain.metrics_report import CorpusPoint
from experiments_platform.pipeline.recall import rank_positives

CORPUS_CURVE_SEED = 20261204
"""The subsample's seed: every run ranks against the same corpora for the same data."""


def sample_corpus(corpus_size: int, percent: int, seed: int = CORPUS_CURVE_SEED) -> np.ndarray:
    """Sorted corpus indices of the ``percent`` % sample (at least one): a prefix of one seeded permutation,
    so smaller percents are subsets of larger ones; 100 % is the whole corpus."""
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    order = np.random.default_rng(seed).permutation(corpus_size)
    return np.sort(order[:max(1, round(corpus_size * percent / 100))]).astype(np.int64)


def sampled_ranks(query_embeddings: np.ndarray, candidate_embeddings: np.ndarray, positives: np.ndarray,
                  kept: np.ndarray, limit: int) -> np.ndarray:
    """0-based rank of each query's positive among the ``kept`` candidates plus itself (ranks at or beyond
    ``limit`` reported as at least ``limit``); -1 for a positive outside the corpus."""
    positives = np.asarray(positives, dtype=np.int64)
    corpus_size = len(candidate_embeddings)
    ranks = np.full(len(positives), -1, dtype=np.int64)
    valid = (positives >= 0) & (positives < corpus_size)
    position = np.full(corpus_size, -1, dtype=np.int64)
    position[kept] = np.arange(len(kept))
    inside = valid & (position[np.where(valid, positives, 0)] >= 0)
    if inside.any():
        ranks[inside] = rank_positives(query_embeddings[inside], candidate_embeddings[kept],
                                       position[positives[inside]], limit=limit).all_items
    outside = valid & ~inside
    if outside.any():
        extra = np.unique(positives[outside])
        union = np.sort(np.concatenate([kept, extra]))
        in_union = np.searchsorted(union, positives[outside])
        in_extra = np.searchsorted(extra, positives[outside])
        queries = query_embeddings[outside]
        with_others = rank_positives(queries, candidate_embeddings[union], in_union).all_items
        others = rank_positives(queries, candidate_embeddings[extra], in_extra).all_items
        ranks[outside] = with_others - others
    return ranks


def corpus_curve(query_embeddings: np.ndarray, candidate_embeddings: np.ndarray, positives: np.ndarray,
                 popularity: np.ndarray, ks: Sequence[int], percents: Sequence[int] = CORPUS_PERCENTS,
                 seed: int = CORPUS_CURVE_SEED) -> list[CorpusPoint]:
    """Model and popularity recall@k (all items, per interaction) against each sampled corpus plus the
    query's own positive. ``popularity`` is the [corpus, 1] score matrix of ``recall.popularity_scores``."""
    ones = np.ones((len(positives), 1), dtype=np.float32)
    points = []
    for percent in percents:
        kept = sample_corpus(len(candidate_embeddings), percent, seed)
        model = sampled_ranks(query_embeddings, candidate_embeddings, positives, kept, max(ks))
        baseline = sampled_ranks(ones, popularity, positives, kept, max(ks))
        points.append(CorpusPoint(percent=percent, corpus_size=len(kept),
                                  model={str(k): _recall(model, k) for k in ks},
                                  popularity={str(k): _recall(baseline, k) for k in ks}))
    return points


def _recall(ranks: np.ndarray, k: int) -> float:
    return float(np.mean((ranks >= 0) & (ranks < k))) if len(ranks) else 0.0
