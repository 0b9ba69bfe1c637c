"""Per-buyer test hits (``test_hits.json``): what a paired bootstrap between two runs resamples (decision 065).

For each test buyer: how many of its test interactions were evaluated and how many were hits at
each k, in both protocol variants (all items; excluding the buyer's training items), from the same
exact ranking as the report's recall (``recall.rank_positives``). Summed over buyers they give the
report's recall@k exactly.
"""

from __future__ import annotations

import numpy as np

from experiments_platform.domain.metrics import EXCLUDING_TRAIN_ITEMS, RECALL_KS
from experiments_platform.domain.noise import HITS_FILE, BuyerHits, summarize_hits
from experiments_platform.pipeline.corpus_index import corpus_positions
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY
from experiments_platform.pipeline.recall import PositiveRanks, history_pairs, rank_positives

Arrays = dict[str, np.ndarray]


def buyer_hits(query_embeddings: np.ndarray, candidate_embeddings: np.ndarray, test: Arrays, train: Arrays,
               corpus: Arrays, ks: tuple[int, ...] = RECALL_KS) -> BuyerHits:
    """Each test buyer's evaluated interactions and hits@k, all items and excluding its training items."""
    positives = corpus_positions(corpus[CANDIDATE_KEY], test[CANDIDATE_KEY])
    train_positions = corpus_positions(corpus[CANDIDATE_KEY], train[CANDIDATE_KEY])
    history = history_pairs(test[QUERY_KEY], train[QUERY_KEY], train_positions, len(candidate_embeddings))
    ranks = rank_positives(query_embeddings, candidate_embeddings, positives, history, limit=max(ks))
    return hits_from_ranks(ranks, positives, test[QUERY_KEY], len(candidate_embeddings), ks)


def hits_from_ranks(ranks: PositiveRanks, positives: np.ndarray, query_keys: np.ndarray, corpus_size: int,
                    ks: tuple[int, ...] = RECALL_KS) -> BuyerHits:
    """``buyer_hits`` from the ranks the report's recall was computed from (``rank_positives`` with the buyers'
    training items excluded, limit ``max(ks)``): no second ranking."""
    assert ranks.excluding is not None
    buyers, codes = np.unique(np.asarray(query_keys), return_inverse=True)
    codes = codes.ravel()
    interactions: dict[str, list[int]] = {}
    hits: dict[str, dict[int, list[int]]] = {}
    for variant, rank in (("all_items", ranks.all_items), (EXCLUDING_TRAIN_ITEMS, ranks.excluding)):
        in_corpus = (positives >= 0) & (positives < corpus_size)
        dropped = in_corpus & (rank < 0) if variant == EXCLUDING_TRAIN_ITEMS else np.zeros(len(rank), dtype=bool)
        evaluated = ~dropped  # as recall.recall_from_ranks counts them
        interactions[variant] = np.bincount(codes, weights=evaluated, minlength=len(buyers)).astype(int).tolist()
        hits[variant] = {k: np.bincount(codes, weights=(rank >= 0) & (rank < k), minlength=len(buyers))
                         .astype(int).tolist() for k in ks}
    return summarize_hits([_text(b) for b in buyers], interactions, hits)


def _text(key: object) -> str:
    return key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)


def hits_uri(metrics_uri: str) -> str:
    """``test_hits.json`` beside the run's ``metrics.json``."""
    return f"{metrics_uri.rsplit('/', 1)[0]}/{HITS_FILE}"
