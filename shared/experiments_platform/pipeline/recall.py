"""Exact recall@k against the full candidate corpus (pure NumPy, no TensorFlow).

Protocol: every test interaction is one query with one positive candidate. All candidates of
the corpus are scored (dot product); the positive is a hit at k when fewer than k candidates
rank before it. Ties are broken by corpus order (a candidate earlier in the corpus ranks first),
exactly as a stable descending sort would. Recall@k is hits / evaluated interactions, which is
the interaction-weighted mean of per-buyer recall. A positive missing from the corpus is a miss;
so is one whose score is not a number (a diverged model).

``excluded`` (optional) lists, per query, the corpus indices removed from its ranking (the
buyer's training items). Queries whose positive is itself excluded cannot be ranked in that
variant and are dropped; their number is reported. Both variants come from one scoring pass
(``recall_variants``): the rank without the buyer's items is the rank among all items minus the
excluded items that rank before the positive.

How it scales (decision 090): scores are computed tile by tile (query rows × a block of
candidates) into scratch buffers sized by a memory budget, never as a queries × corpus matrix,
so memory stays flat from 1,000 to 1,000,000 candidates. Each tile is one float32 GEMM, one
comparison against a per-row threshold and one row count: ``>= score`` for candidate blocks
before the positive's index and ``> score`` after it, which is the corpus-order tie rule without
a second comparison; the positive's own block counts its earlier ties separately. With a
``limit`` (recall@k needs ranks only below the largest k) a query leaves the scan once ``limit``
candidates (plus its excluded ones) rank before its positive, so a tile's later blocks only score
the queries still in the running; ranks at or beyond the limit are reported as ``limit``. Tiles
are spread over one thread per core, BLAS kept to one thread meanwhile (decision 095).

Exactness: every score, the positive's own included, comes out of the same float32 GEMM (the
positive's score is the diagonal of a GEMM of the queries with their positives), so equal
candidate vectors tie exactly as they do within one matrix product; checked against a float64
brute force with ties, duplicates across blocks and tiny budgets in ``tests/pipeline/test_recall.py``.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

DEFAULT_KS = (10, 50, 100)
DEFAULT_MEMORY_BUDGET = 64 * 2**20
"""Bytes of scratch for one tile's scores and comparison flags (6 bytes per query-candidate pair)."""
_TILE_PAIRS = 2**20
"""Largest tile (query rows × candidate columns) used even when the budget allows more: its
scores (4 MiB) and flags stay in cache between the GEMM and the comparisons (measured CPU time
per 10k × 100k scan: 2**18 2.4 s, 2**19 2.0 s, 2**20 1.6 s, 2**21 1.8 s, 2**22 2.3 s)."""
_BLOCK_COLUMNS = 16 * 255
"""Candidates per block (a multiple of 8 whose flags are counted in two uint64 lane groups)."""
_MAX_SCAN_THREADS = 4
"""Threads scanning tiles at once (at most one per core this process may run on)."""


@dataclass(frozen=True)
class RecallResult:
    recall: dict[int, float]
    evaluated: int
    dropped: int

    def as_metrics(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}recall_at_{k}": value for k, value in self.recall.items()}


@dataclass(frozen=True)
class PositiveRanks:
    """0-based rank of each query's positive; -1 when it cannot be ranked (see ``positive_ranks``)."""

    all_items: np.ndarray
    excluding: np.ndarray | None


class ExcludedPairs(NamedTuple):
    """Every exclusion as (query row, corpus index): unique, in the corpus, sorted by row then index, for
    ``queries`` query rows. What ``rank_positives`` makes of a per-query list of excluded items; built once
    (``history_pairs``) it serves several rankings of the same queries."""

    rows: np.ndarray
    items: np.ndarray
    queries: int


Exclusions = Sequence[np.ndarray] | ExcludedPairs


def positive_ranks(
    query_embeddings: np.ndarray,
    candidate_embeddings: np.ndarray,
    positives: np.ndarray,
    excluded: Exclusions | None = None,
    *,
    limit: int | None = None,
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET,
) -> np.ndarray:
    """0-based rank of each query's positive among all candidates (without ``excluded``); -1 when it
    cannot be ranked: a positive outside the corpus (index < 0) or one excluded from its own ranking.

    With ``limit``, ranks at or beyond it are reported as ``limit``. When every query row is the
    same vector (the popularity baseline), one ranking serves all.
    """
    ranks = rank_positives(query_embeddings, candidate_embeddings, positives, excluded, limit=limit,
                           memory_budget_bytes=memory_budget_bytes)
    return ranks.all_items if ranks.excluding is None else ranks.excluding


def rank_positives(
    query_embeddings: np.ndarray,
    candidate_embeddings: np.ndarray,
    positives: np.ndarray,
    excluded: Exclusions | None = None,
    *,
    limit: int | None = None,
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET,
) -> PositiveRanks:
    """Ranks among all items and, when ``excluded`` is given (a list per query, or ``ExcludedPairs``), without
    each query's excluded items, from one scoring pass."""
    queries = np.ascontiguousarray(query_embeddings, dtype=np.float32)
    candidates = np.ascontiguousarray(candidate_embeddings, dtype=np.float32)
    positives = np.asarray(positives, dtype=np.int64)
    if queries.ndim != 2 or candidates.ndim != 2 or queries.shape[1] != candidates.shape[1]:
        raise ValueError(f"embedding shapes do not match: queries {queries.shape}, candidates {candidates.shape}")
    if positives.shape != (queries.shape[0],):
        raise ValueError(f"positives must have one entry per query ({queries.shape[0]}), got {positives.shape}")
    if excluded is not None:
        entries = excluded.queries if isinstance(excluded, ExcludedPairs) else len(excluded)
        if entries != len(positives):
            raise ValueError(f"excluded must have one entry per query ({len(positives)}), got {entries}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    corpus = candidates.shape[0]
    valid = (positives >= 0) & (positives < corpus)
    safe = np.where(valid, positives, 0)
    pairs = (None if excluded is None else (excluded.rows, excluded.items) if isinstance(excluded, ExcludedPairs)
             else _excluded_pairs(excluded, corpus))
    if len(queries) and corpus and np.all(queries == queries[0]):
        ranks, before = _shared_ranking(exact_scores(queries[0], candidates), safe, pairs)
    else:
        scan = _Scan(queries, candidates, safe, valid, pairs, limit, memory_budget_bytes)
        ranks, before = scan.run()
    cap = corpus if limit is None else limit
    all_items = np.where(valid, np.minimum(ranks, cap), -1)
    if pairs is None:
        return PositiveRanks(all_items=all_items, excluding=None)
    rows, items = pairs
    rankable = valid.copy()
    rankable[rows[items == safe[rows]]] = False
    return PositiveRanks(all_items=all_items, excluding=np.where(rankable, np.minimum(ranks - before, cap), -1))


def _excluded_pairs(excluded: Sequence[np.ndarray], corpus: int) -> tuple[np.ndarray, np.ndarray]:
    """(query row, candidate index) of every exclusion, unique, in the corpus, sorted by row then index."""
    lengths = np.fromiter((len(e) for e in excluded), dtype=np.int64, count=len(excluded))
    flat = np.concatenate([np.asarray(e, dtype=np.int64) for e in excluded]) if lengths.sum() else \
        np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.arange(len(excluded), dtype=np.int64), lengths)
    keep = (flat >= 0) & (flat < corpus)
    keys = np.unique(rows[keep] * corpus + flat[keep])
    return keys // corpus, keys % corpus


def _shared_ranking(scores: np.ndarray, safe: np.ndarray,
                    pairs: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Ranks when every query scores the corpus the same way: one stable descending sort.
    Returns the ranks among all items and, per query, how many excluded items rank before it."""
    position = np.empty(len(scores), dtype=np.int64)
    position[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    ranks = position[safe]
    before = np.zeros(len(safe), dtype=np.int64)
    if pairs is not None:
        rows, items = pairs
        ahead = position[items] < ranks[rows]
        before = np.bincount(rows[ahead], minlength=len(safe))
    return ranks, before


def exact_scores(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Row-wise dot products, the scores every comparison is decided by: float64 sums of the
    (exact) float64 products of the float32 embeddings, added in feature order. Equal vectors give
    equal scores wherever they sit, which a float32 matrix product does not guarantee."""
    queries = np.asarray(queries, dtype=np.float32)
    candidates = np.asarray(candidates, dtype=np.float32)
    total = np.zeros(np.broadcast_shapes(queries.shape, candidates.shape)[:-1], dtype=np.float64)
    for k in range(queries.shape[-1]):
        total += queries[..., k].astype(np.float64) * candidates[..., k]
    return total


_UNIT_ROUNDOFF = 2.0**-24
_BAND = 2.0
"""Half-width of the band of uncertain scores after each query row is scaled (see ``_Scan``)."""
_LANE_WORDS = 255
"""Flag words summed at once: each byte lane of a uint64 sum then stays below 256."""


def _scan_threads() -> int:
    """Threads for one scan: the cores this process may run on, at most ``_MAX_SCAN_THREADS``."""
    return max(1, min(_MAX_SCAN_THREADS, len(os.sched_getaffinity(0))))


def _row_counts(flags: np.ndarray) -> np.ndarray:
    """True flags per row of a C-contiguous bool matrix whose width is a multiple of 8 and at most
    ``2 * 8 * _LANE_WORDS``: eight flags per uint64 word, words summed per byte lane, lanes added."""
    words = flags.view(np.uint64)
    rows, width = words.shape
    groups = 1 if width <= _LANE_WORDS else 2
    sums = words.reshape(rows, groups, width // groups).sum(axis=2, dtype=np.uint64)
    return sums.view(np.uint8).reshape(rows, groups * 8).sum(axis=1, dtype=np.int64)


class _Scan:
    """Tile-by-tile exact ranking.

    Each query row ``q`` with positive score ``s`` (``exact_scores``) becomes ``2**e * [q, -s]`` and
    each candidate ``[c, 1]``, so one float32 GEMM gives ``2**e * (q·c - s)`` for a whole tile and
    every comparison is against a constant: above ``_BAND`` the candidate certainly ranks before the
    positive, below ``-_BAND`` certainly not (``e`` is chosen so that the GEMM's rounding error,
    at most ``(d + 2) * 2**-24 * (|q| max|c| + |s|)``, stays under half the band). The few scores
    inside the band (the positive itself, copies of it, near-ties) are decided by ``exact_scores``
    and the corpus-order tie rule. Comparing with a constant is several times cheaper than with a
    per-row threshold, and the flags are counted eight at a time as uint64 words.
    """

    def __init__(self, queries: np.ndarray, candidates: np.ndarray, safe: np.ndarray, valid: np.ndarray,
                 pairs: tuple[np.ndarray, np.ndarray] | None, limit: int | None, memory_budget_bytes: int) -> None:
        self.queries, self.candidates, self.safe = queries, candidates, safe
        self.todo = np.flatnonzero(valid)
        self.pairs = pairs if pairs is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64))
        corpus, dim = candidates.shape
        self.counts = np.zeros(len(queries), dtype=np.int64)
        self.before = np.zeros(len(queries), dtype=np.int64)
        self.cap = np.full(len(queries), np.iinfo(np.int64).max, dtype=np.int64)
        if limit is not None:
            self.cap[:] = limit + np.bincount(self.pairs[0], minlength=len(queries))
        self.augmented = np.ones((corpus, dim + 1), dtype=np.float32)
        self.augmented[:, :dim] = candidates
        norms = np.sqrt(exact_scores(candidates, candidates)) if corpus else np.zeros(0)
        self.largest_norm = float(norms.max(initial=0.0))
        # scratch per tile pair and thread: a float32 score and two flags; widths are multiples of 8 for the counting
        self.threads = _scan_threads()
        pairs_per_tile = max(16, min(memory_budget_bytes // 6 // self.threads, _TILE_PAIRS))
        width = min(_BLOCK_COLUMNS, -(-corpus // 8) * 8, max(8, pairs_per_tile // 2 // 8 * 8))
        if width > 8 * _LANE_WORDS:
            width = 16 * _LANE_WORDS
        self.width = width
        self.tile_rows = max(1, pairs_per_tile // width)
        self.bounds = list(range(0, corpus, width)) + [corpus]
        self.scratch = threading.local()

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        """Tiles spread over ``threads`` threads (NumPy's GEMM and comparisons release the GIL), each
        with its own scratch; BLAS itself kept to one thread meanwhile: its threads spin-wait between
        the many small GEMMs, which costs CPU time and, on a loaded machine, wall time (decision 095)."""
        if len(self.candidates) == 0:
            return self.counts, self.before
        tiles = [self.todo[start:start + self.tile_rows] for start in range(0, len(self.todo), self.tile_rows)]
        with threadpool_limits(limits=1, user_api="blas"):
            if self.threads == 1 or len(tiles) == 1:
                for rows in tiles:
                    self._tile(rows)
            else:
                with ThreadPoolExecutor(max_workers=min(self.threads, len(tiles))) as pool:
                    for _ in pool.map(self._tile, tiles):
                        pass
        return self.counts, self.before

    def _buffers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This thread's scratch: scores and the two flag matrices of one tile."""
        buffers = getattr(self.scratch, "buffers", None)
        if buffers is None:
            shape = (self.tile_rows, self.width)
            buffers = (np.empty(shape, dtype=np.float32), np.empty(shape, dtype=bool), np.empty(shape, dtype=bool))
            self.scratch.buffers = buffers
        return buffers

    def _scaled_rows(self, queries: np.ndarray, score: np.ndarray) -> np.ndarray:
        """``2**e * [q, -s]`` per row, ``e`` putting the GEMM's error bound under half the band."""
        dim = queries.shape[1]
        norms = np.sqrt(exact_scores(queries, queries))
        error = 2 * (dim + 2) * _UNIT_ROUNDOFF * (norms * self.largest_norm + np.abs(score))
        with np.errstate(divide="ignore"):
            exponent = np.where(error > 0, np.floor(np.log2(_BAND / 2 / np.where(error > 0, error, 1))), 0)
        scale = np.ldexp(np.float32(1), np.clip(exponent, -120, 120).astype(np.int32))
        rows = np.empty((len(queries), dim + 1), dtype=np.float32)
        rows[:, :dim] = queries * scale[:, None]
        rows[:, dim] = -score.astype(np.float32) * scale
        return rows

    def _tile(self, rows: np.ndarray) -> None:
        queries, positives = self.queries[rows], self.safe[rows]
        score = exact_scores(queries, self.candidates[positives])
        counts = np.zeros(len(rows), dtype=np.int64)
        before = np.zeros(len(rows), dtype=np.int64)
        cap = self.cap[rows]
        unscorable = np.isnan(score)
        counts[unscorable] = len(self.candidates)
        scaled = self._scaled_rows(queries, np.where(unscorable, 0, score))
        pair_rows, pair_items, pair_blocks = self._tile_pairs(rows)
        active = np.flatnonzero(~unscorable)
        scores, above_flags, reach_flags = self._buffers()
        for index, (lo, hi) in enumerate(zip(self.bounds, self.bounds[1:], strict=False)):
            if not len(active):
                break
            product = scores[:len(active)]
            np.matmul(scaled[active], self.augmented[lo:hi].T, out=product[:, :hi - lo])
            product[:, hi - lo:] = -np.inf
            above, reach = above_flags[:len(active)], reach_flags[:len(active)]
            np.greater(product, np.float32(_BAND), out=above)
            np.greater_equal(product, np.float32(-_BAND), out=reach)
            certain, possible = _row_counts(above), _row_counts(reach)
            counts[active] += certain
            # a positive never ranks before itself: a row whose only score in the band is its own positive's
            # needs no exact scores (without this, every row of the positive's block went through them)
            own = np.flatnonzero((positives[active] >= lo) & (positives[active] < hi))
            own_column = positives[active[own]] - lo
            possible[own] -= reach[own, own_column] & ~above[own, own_column]
            uncertain = np.flatnonzero(possible > certain)
            if uncertain.size:
                band_rows, band_columns = np.nonzero(reach[uncertain] & ~above[uncertain])
                tile_rows = active[uncertain[band_rows]]
                items = lo + band_columns
                # a positive never ranks before itself: only its copies and near-ties need exact scores
                others = items != positives[tile_rows]
                tile_rows, items = tile_rows[others], items[others]
                if items.size:
                    ahead = self._ranks_before(queries[tile_rows], items, score[tile_rows], positives[tile_rows])
                    counts += np.bincount(tile_rows[ahead], minlength=len(rows))
            if len(pair_rows):
                self._excluded_before(product, active, index, lo, pair_rows, pair_items, pair_blocks,
                                      queries, score, positives, before)
            active = active[counts[active] < cap[active]]
        self.counts[rows] = counts
        self.before[rows] = before

    def _ranks_before(self, queries: np.ndarray, items: np.ndarray, score: np.ndarray,
                      positives: np.ndarray) -> np.ndarray:
        """Whether each candidate ranks before its query's positive, decided on exact scores."""
        value = exact_scores(queries, self.candidates[items])
        return (value > score) | ((value == score) & (items < positives))

    def _tile_pairs(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The tile's exclusions as (tile row, candidate index, block), ordered by block."""
        all_rows, all_items = self.pairs
        lo, hi = np.searchsorted(all_rows, [rows[0], rows[-1] + 1])
        local = np.full(rows[-1] - rows[0] + 1, -1, dtype=np.int64)
        local[rows - rows[0]] = np.arange(len(rows))
        pair_rows = local[all_rows[lo:hi] - rows[0]]
        items = all_items[lo:hi][pair_rows >= 0]
        pair_rows = pair_rows[pair_rows >= 0]
        blocks = np.searchsorted(self.bounds, items, side="right") - 1
        order = np.argsort(blocks, kind="stable")
        return pair_rows[order], items[order], blocks[order]

    def _excluded_before(self, product: np.ndarray, active: np.ndarray, index: int, lo: int,
                         pair_rows: np.ndarray, pair_items: np.ndarray, pair_blocks: np.ndarray,
                         queries: np.ndarray, score: np.ndarray, positives: np.ndarray, before: np.ndarray) -> None:
        """Count the excluded items of this block that rank before their query's positive."""
        first, last = np.searchsorted(pair_blocks, [index, index + 1])
        if first == last:
            return
        position = np.full(len(score), -1, dtype=np.int64)
        position[active] = np.arange(len(active))
        rows, items = pair_rows[first:last], pair_items[first:last]
        where = position[rows]
        rows, items, where = rows[where >= 0], items[where >= 0], where[where >= 0]
        value = product[where, items - lo]
        ahead = value > _BAND
        band = np.flatnonzero((value >= -_BAND) & ~ahead)
        ahead[band] = self._ranks_before(queries[rows[band]], items[band], score[rows[band]], positives[rows[band]])
        before += np.bincount(rows[ahead], minlength=len(before))


def recall_from_ranks(ranks: np.ndarray, positives: np.ndarray, corpus_size: int, ks: Sequence[int],
                      excluding: bool) -> RecallResult:
    """Recall@k from positive ranks (-1: cannot be ranked); in the excluding variant, in-corpus
    positives that cannot be ranked were excluded and are dropped."""
    positives = np.asarray(positives)
    dropped = int(np.sum((positives >= 0) & (positives < corpus_size) & (ranks < 0))) if excluding else 0
    evaluated = len(ranks) - dropped
    recall = {}
    for k in ks:
        hits = int(np.sum((ranks >= 0) & (ranks < k)))
        recall[int(k)] = hits / evaluated if evaluated else 0.0
    return RecallResult(recall=recall, evaluated=evaluated, dropped=dropped)


def recall_at_k(
    query_embeddings: np.ndarray,
    candidate_embeddings: np.ndarray,
    positives: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
    excluded: Exclusions | None = None,
    *,
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET,
) -> RecallResult:
    """Recall@k for each k (see the module docstring for the protocol)."""
    ranks = positive_ranks(query_embeddings, candidate_embeddings, positives, excluded, limit=max(ks),
                           memory_budget_bytes=memory_budget_bytes)
    return recall_from_ranks(ranks, positives, len(candidate_embeddings), ks, excluding=excluded is not None)


def recall_variants(
    query_embeddings: np.ndarray,
    candidate_embeddings: np.ndarray,
    positives: np.ndarray,
    excluded: Exclusions,
    ks: Sequence[int] = DEFAULT_KS,
    *,
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET,
) -> tuple[RecallResult, RecallResult]:
    """Recall@k among all items and without each query's ``excluded`` items, from one scoring pass."""
    ranks = rank_positives(query_embeddings, candidate_embeddings, positives, excluded, limit=max(ks),
                           memory_budget_bytes=memory_budget_bytes)
    assert ranks.excluding is not None
    corpus = len(candidate_embeddings)
    return (recall_from_ranks(ranks.all_items, positives, corpus, ks, excluding=False),
            recall_from_ranks(ranks.excluding, positives, corpus, ks, excluding=True))


def popularity_scores(train_positives: np.ndarray, corpus_size: int) -> np.ndarray:
    """Training interaction count of every corpus candidate, as a [corpus, 1] score matrix."""
    counts = np.bincount(np.asarray(train_positives)[np.asarray(train_positives) >= 0], minlength=corpus_size)
    return counts[:corpus_size].astype(np.float32)[:, None]


def history_by_query(query_keys: np.ndarray, train_keys: np.ndarray, train_positives: np.ndarray) -> list[np.ndarray]:
    """Per query row: the corpus indices its buyer interacted with in training (sorted, unique)."""
    train_positives = np.asarray(train_positives, dtype=np.int64)
    known = train_positives >= 0
    keys, codes = np.unique(np.concatenate([np.asarray(train_keys)[known], np.asarray(query_keys)]),
                            return_inverse=True)
    train_codes, query_codes = codes[:int(known.sum())], codes[int(known.sum()):]
    pairs = np.unique(train_codes * (int(train_positives.max(initial=0)) + 1) + train_positives[known])
    width = int(train_positives.max(initial=0)) + 1
    owners, items = pairs // width, pairs % width
    starts = np.searchsorted(owners, np.arange(len(keys) + 1))
    per_key = [items[starts[i]:starts[i + 1]] for i in range(len(keys))]
    return [per_key[code] for code in query_codes.tolist()]


def _key_codes(*arrays: np.ndarray) -> tuple[list[np.ndarray], int]:
    """One integer code per distinct key across ``arrays`` (in order of first appearance), by hashing: keys are
    ``bytes`` objects, which ``np.unique`` sorts by Python comparisons (0.6 s per 1M keys)."""
    lists = [np.asarray(values).tolist() for values in arrays]
    index = dict(zip(dict.fromkeys(itertools.chain.from_iterable(lists)), itertools.count()))
    return [np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=len(keys)) for keys in lists], len(index)


def history_pairs(query_keys: np.ndarray, train_keys: np.ndarray, train_positives: np.ndarray,
                  corpus_size: int) -> ExcludedPairs:
    """``history_by_query`` as ``ExcludedPairs`` (its items in ``[0, corpus_size)``), built without a list per
    query: the same exclusions, for every ranking of these queries at once."""
    train_positives = np.asarray(train_positives, dtype=np.int64)
    known = (train_positives >= 0) & (train_positives < corpus_size)
    (train_codes, query_codes), keys = _key_codes(np.asarray(train_keys)[known], np.asarray(query_keys))
    width = max(corpus_size, 1)
    pairs = np.unique(train_codes * width + train_positives[known])
    owners, items = pairs // width, pairs % width
    starts = np.searchsorted(owners, np.arange(keys + 1))
    lengths = (starts[1:] - starts[:-1])[query_codes]
    rows = np.repeat(np.arange(len(query_codes), dtype=np.int64), lengths)
    offsets = np.arange(len(rows), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return ExcludedPairs(rows=rows, items=items[np.repeat(starts[:-1][query_codes], lengths) + offsets],
                         queries=len(query_codes))
