"""Per-buyer test hits sum to the report's recall in both protocol variants (decision 065)."""

from __future__ import annotations

import numpy as np
import pytest
from experiments_platform.domain.metrics import EXCLUDING_TRAIN_ITEMS
from experiments_platform.domain.noise import BuyerHits
from experiments_platform.pipeline.buyer_hits import buyer_hits, hits_uri
from experiments_platform.pipeline.evaluation import recall_report
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY


def _keys(prefix: str, values: np.ndarray) -> np.ndarray:
    return np.array([f"{prefix}{v}".encode() for v in values.tolist()], dtype=object)


def test_summed_buyer_hits_equal_the_reports_recall_in_both_variants():
    rng = np.random.default_rng(5)
    corpus_size, dim = 300, 8
    corpus = {CANDIDATE_KEY: _keys("i", np.arange(corpus_size))}
    candidates = rng.standard_normal((corpus_size, dim)).astype(np.float32)
    train = {QUERY_KEY: _keys("u", rng.integers(0, 40, 2000)), CANDIDATE_KEY: _keys("i", rng.integers(0, 300, 2000))}
    test_items = rng.integers(0, 320, 500)  # some positives outside the corpus
    test = {QUERY_KEY: _keys("u", rng.integers(0, 45, 500)), CANDIDATE_KEY: _keys("i", test_items)}
    queries = candidates[np.minimum(test_items, corpus_size - 1)] + rng.standard_normal((500, dim)).astype(np.float32)
    ks = (10, 50, 100)
    report = recall_report(queries, candidates, test, train, corpus, ks)
    hits = BuyerHits.model_validate_json(buyer_hits(queries, candidates, test, train, corpus, ks).model_dump_json())
    assert len(hits.buyers) == len(set(test[QUERY_KEY].tolist()))
    for variant, section in (("all_items", report.all_items), (EXCLUDING_TRAIN_ITEMS, report.excluding_train_items)):
        assert section is not None
        assert sum(hits.variants[variant].interactions) == section.evaluated_interactions
        for k in ks:
            assert hits.recall(variant, k) == pytest.approx(section.model[str(k)])
    assert report.excluding_train_items is not None and report.excluding_train_items.dropped_interactions > 0


def test_hits_sit_beside_metrics():
    assert hits_uri("gs://b/experiments/e1/metrics.json") == "gs://b/experiments/e1/test_hits.json"
