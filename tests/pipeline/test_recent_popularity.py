"""The recent-popularity baseline (issue 11 §8) against an independent computation on tiny data."""

from __future__ import annotations

import numpy as np
import pytest
from experiments_platform.domain import baselines, metrics
from experiments_platform.domain.metrics_report import MetricsReport
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY
from experiments_platform.pipeline.recent_popularity import (
    DAYS_AGO,
    RECENT_DAYS,
    recent_popularity_metrics,
    recent_popularity_scores,
)


def reference(train: list[tuple[str, str, int]], test: list[tuple[str, str]], corpus: list[str], window: int,
              k: int, excluding: bool) -> float:
    """Recall@k by brute force: sort the corpus by (recent count, overall count, corpus order) for each query."""
    newest = min(days for _, _, days in train)
    recent = {c: sum(1 for _, item, d in train if item == c and d < newest + window) for c in corpus}
    overall = {c: sum(1 for _, item, _ in train if item == c) for c in corpus}
    hits = evaluated = 0
    for buyer, item in test:
        had = {i for b, i, _ in train if b == buyer}
        if excluding and item in had:
            continue
        ranked = sorted(corpus, key=lambda c: (-recent[c], -overall[c], corpus.index(c)))
        if excluding:
            ranked = [c for c in ranked if c not in had]
        evaluated += 1
        hits += item in ranked[:k]
    return hits / evaluated


def arrays(rows: list[tuple], with_days: bool = True) -> dict[str, np.ndarray]:
    out = {QUERY_KEY: np.array([r[0].encode() for r in rows]), CANDIDATE_KEY: np.array([r[1].encode() for r in rows])}
    if with_days:
        out[DAYS_AGO] = np.array([r[2] for r in rows], dtype=np.int64)
    return out


@pytest.fixture()
def tiny() -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]], list[str]]:
    rng = np.random.default_rng(5)
    corpus = [f"p{i:03d}" for i in range(150)]
    # old favourites early in the training period, other items late in it: recent and overall rankings differ
    train = [(f"b{rng.integers(30)}", corpus[int(rng.integers(40))], int(rng.integers(40, 120))) for _ in range(600)]
    train += [(f"b{rng.integers(30)}", corpus[int(rng.integers(30, 140))], int(rng.integers(10, 30)))
              for _ in range(300)]
    test = [(f"b{rng.integers(40)}", corpus[int(rng.integers(20, 150))], int(rng.integers(0, 10))) for _ in range(200)]
    return train, test, corpus


def test_recall_matches_brute_force_for_every_k_and_both_definitions(tiny):
    train, test, corpus = tiny
    splits = {"train": arrays(train), "test": arrays(test)}
    got = recent_popularity_metrics(splits, {CANDIDATE_KEY: np.array([c.encode() for c in corpus])})
    for k in metrics.RECALL_KS:
        for suffix, excluding in (("", False), (f"_{metrics.EXCLUDING_TRAIN_ITEMS}", True)):
            expected = reference(train, [(b, i) for b, i, _ in test], corpus, RECENT_DAYS, k, excluding)
            assert got[f"recent_popularity_recall_at_{k}{suffix}"] == pytest.approx(expected, abs=1e-12), (k, suffix)
            assert metrics.is_known(f"recent_popularity_recall_at_{k}{suffix}")
    popularity_at_10 = reference(train, [(b, i) for b, i, _ in test], corpus, 10_000, 10, False)
    assert got["recent_popularity_recall_at_10"] != popularity_at_10, "the window must change the ranking here"


def test_window_counts_from_the_newest_training_day_not_from_the_table_end():
    # newest training day is 30 days before the table's end; a 14-day window keeps days 30..43
    positions = np.array([0, 0, 0, 1, 1, 2])
    days = np.array([60, 61, 62, 30, 43, 44])
    scores = recent_popularity_scores(positions, days, 4, 14)[:, 0]
    assert list(np.argsort(-scores, kind="stable")) == [1, 0, 2, 3]  # 1: two recent; 0 and 2 none, 0 more overall
    assert sorted(scores.tolist()) == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="window_days"):
        recent_popularity_scores(positions, days, 4, 0)


def test_random_splits_have_no_recent_popularity(tiny):
    train, test, corpus = tiny
    splits = {"train": arrays(train, with_days=False), "test": arrays(test, with_days=False)}
    assert recent_popularity_metrics(splits, {CANDIDATE_KEY: np.array([c.encode() for c in corpus])}) == {}


def test_the_verdict_holds_a_run_against_recent_popularity_when_it_is_the_best_baseline():
    report = MetricsReport(final={"recall_at_100": 0.30, "popularity_recall_at_100": 0.20,
                                  "recent_popularity_recall_at_100": 0.29, "test_loss": 1.0},
                           protocol={"test_interactions": 4000})
    verdict = baselines.baseline_verdict(report)
    assert verdict is not None
    assert verdict["baseline"] == "recent_popularity_recall_at_100" and verdict["outcome"] == "within_noise"
    assert "Recent popularity Recall@100" in verdict["summary"]


def test_the_trainers_report_of_a_time_split_carries_it_under_catalogue_names(tmp_path, tiny):
    from experiments_platform.pipeline.evaluation import evaluation_report, recall_report

    from .factories import make_spec

    train, test, corpus = tiny
    splits = {"train": arrays(train), "eval": arrays(train[:60]), "test": arrays(test)}
    items = {CANDIDATE_KEY: np.array([c.encode() for c in corpus])}
    rng = np.random.default_rng(1)
    queries, candidates = (rng.normal(size=(n, 4)).astype(np.float32) for n in (len(test), len(corpus)))
    section = recall_report(queries, candidates, splits["test"], splits["train"], items, val=splits["eval"])
    report = evaluation_report(make_spec(tmp_path), mlflow_run_id=None, mlflow_experiment_id=None, test_loss=1.0,
                               history=[{"epoch": 1, "loss": 1.0}], recall=section, vocabularies={}, splits=splits,
                               corpus=items, timings={})
    expected = recent_popularity_metrics(splits, items)
    assert expected and {k: report.final[k] for k in expected} == expected
    report.check_complete()  # every final metric is in the catalogue
    assert baselines.baseline_verdict(report)["baselines"]["recent_popularity_recall_at_100"] == expected[
        "recent_popularity_recall_at_100"]
