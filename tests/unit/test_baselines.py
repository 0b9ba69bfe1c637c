"""A run against its best baseline: beats, within noise, worse (decision 064), with known numbers."""

from __future__ import annotations

import math

import pytest
from experiments_platform.domain.baselines import baseline_verdict, noise_bound
from experiments_platform.domain.metrics_report import MetricsReport


def report(model: float, popularity: float, interactions: int, random: float = 0.06) -> MetricsReport:
    return MetricsReport.model_validate({
        "final": {"recall_at_100": model, "popularity_recall_at_100": popularity},
        "recall": {"all_items": {"model": {"100": model}, "popularity": {"100": popularity},
                                 "evaluated_interactions": interactions}, "random_recall_at_100": random},
    })


def test_the_noise_bound_is_the_95_percent_interval_of_two_binomial_rates():
    assert noise_bound(0.4, 0.3, 1000) == pytest.approx(1.96 * math.sqrt((0.24 + 0.21) / 1000))
    assert noise_bound(0.4, 0.3, 0) == math.inf


def test_beats_within_noise_and_worse():
    beats = baseline_verdict(report(0.401, 0.295, 1000))  # bound ±4.15 pp, margin 10.6 pp
    assert beats is not None and beats["outcome"] == "beats" and beats["baseline"] == "popularity_recall_at_100"
    assert beats["summary"] == "beats the best baseline (Popularity Recall@100 29.5%) by 10.6 pp (noise ±4.1 pp)"

    close = baseline_verdict(report(0.31, 0.295, 1000))
    assert close is not None and close["outcome"] == "within_noise"
    assert close["summary"] == ("does not beat the best baseline beyond noise: Popularity Recall@100 29.5%, "
                                "+1.5 pp within ±4.0 pp")
    assert baseline_verdict(report(0.31, 0.295, 100_000))["outcome"] == "beats", "more test data, less noise"

    worse = baseline_verdict(report(0.20, 0.295, 1000))
    assert worse is not None and worse["outcome"] == "worse" and worse["delta_points"] == pytest.approx(-9.5)


def test_the_best_baseline_is_the_highest_one_the_report_has():
    tiny_corpus = baseline_verdict(report(0.5, 0.3, 1000, random=0.8))
    assert tiny_corpus is not None and tiny_corpus["baseline"] == "random_recall_at_100"
    assert tiny_corpus["outcome"] == "worse" and tiny_corpus["baselines"] == {
        "popularity_recall_at_100": 0.3, "random_recall_at_100": 0.8}
    assert baseline_verdict(MetricsReport.model_validate({"final": {"recall_at_100": 0.3}})) is None
