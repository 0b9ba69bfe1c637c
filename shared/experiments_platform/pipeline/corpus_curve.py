"""Recall@k as the candidate corpus grows (issue 11 §3, decision 079).

A recall@100 of 40 % means little without the corpus it was ranked against: the same model ranks a
positive into the top 100 of 1,000 candidates far more often than of 100,000. The curve ranks the test
queries again against subsampled corpora (``CORPUS_PERCENTS`` of the candidates) that keep every test
positive, so each point is the report's recall on a smaller catalogue: how fast the model's (and the
popularity baseline's) recall falls as the corpus grows says how it would do on a larger catalogue.

Corpora: the candidates that are a test positive, plus a seeded random share of the others; the same
permutation serves every percent, so the corpora are nested (10 % ⊂ 25 % ⊂ 50 % ⊂ 100 %), and a corpus
keeps its candidates in corpus order (the tie rule of ``recall``). A percent whose share is smaller
than the positives keeps the positives only. Ranking: ``recall.recall_at_k`` on the kept rows, the
same exact scan as the report; 100 % is the report's own all-items recall.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from experiments_platform.domain.metrics import CORPUS_PERCENTS
from experiments_platform.domain.metrics_report import CorpusPoint
from experiments_platform.pipeline.recall import recall_at_k

CORPUS_CURVE_SEED = 20261204
"""The subsample's seed: every run ranks against the same corpora for the same data."""


def subsample_corpus(corpus_size: int, positives: np.ndarray, percent: int, seed: int = CORPUS_CURVE_SEED
                     ) -> np.ndarray:
    """Sorted corpus indices of the ``percent`` % corpus: every in-corpus positive, then a seeded share of
    the other candidates (a prefix of one permutation, so smaller percents are subsets of larger ones)."""
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    positives = np.asarray(positives, dtype=np.int64)
    kept = np.unique(positives[(positives >= 0) & (positives < corpus_size)])
    others = np.setdiff1d(np.arange(corpus_size, dtype=np.int64), kept, assume_unique=True)
    others = others[np.random.default_rng(seed).permutation(len(others))]
    target = max(len(kept), round(corpus_size * percent / 100))
    return np.sort(np.concatenate([kept, others[:target - len(kept)]]))


def corpus_curve(query_embeddings: np.ndarray, candidate_embeddings: np.ndarray, positives: np.ndarray,
                 popularity: np.ndarray, ks: Sequence[int], percents: Sequence[int] = CORPUS_PERCENTS,
                 seed: int = CORPUS_CURVE_SEED) -> list[CorpusPoint]:
    """Model and popularity recall@k (all items, per interaction) on each subsampled corpus.
    ``popularity`` is the [corpus, 1] score matrix of ``recall.popularity_scores``."""
    positives = np.asarray(positives, dtype=np.int64)
    corpus_size = len(candidate_embeddings)
    ones = np.ones((len(positives), 1), dtype=np.float32)
    points = []
    for percent in percents:
        kept = subsample_corpus(corpus_size, positives, percent, seed)
        position = np.full(corpus_size, -1, dtype=np.int64)
        position[kept] = np.arange(len(kept))
        inside = (positives >= 0) & (positives < corpus_size)
        remapped = np.where(inside, position[np.where(inside, positives, 0)], -1)
        model = recall_at_k(query_embeddings, candidate_embeddings[kept], remapped, tuple(ks))
        baseline = recall_at_k(ones, popularity[kept], remapped, tuple(ks))
        points.append(CorpusPoint(percent=percent, corpus_size=len(kept),
                                  model={str(k): v for k, v in model.recall.items()},
                                  popularity={str(k): v for k, v in baseline.recall.items()}))
    return points
