"""The noise-band and attribution maths against known answers (decisions 065, 068)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from experiments_platform.domain.attribution import attribute
from experiments_platform.domain.noise import (
    BuyerHits,
    HitsVariant,
    interval_from_spreads,
    paired_bootstrap,
    paired_interval,
    recall_metric_parts,
    spread,
    verdict,
)


def test_spread_is_the_sample_mean_and_std_with_the_t_interval_of_the_mean():
    s = spread([0.30, 0.32, 0.34, 0.36, 0.38])
    assert s is not None
    assert s.mean == pytest.approx(0.34)
    assert s.std == pytest.approx(math.sqrt(0.004 / 4))  # squared deviations sum to 0.004, n - 1 = 4
    assert s.ci95 == pytest.approx(2.776 * s.std / math.sqrt(5))
    single = spread([0.5])
    assert single is not None and single.std is None and single.ci95 is None
    assert spread([]) is None


def test_a_constant_improvement_on_every_buyer_has_a_degenerate_interval():
    difference, low, high = paired_bootstrap([1] * 50, [0] * 50, [1] * 50, [1] * 50, resamples=200)
    assert (difference, low, high) == (1.0, 1.0, 1.0)


def test_the_paired_interval_matches_the_normal_approximation_of_the_mean_difference():
    rng = np.random.default_rng(3)
    buyers = 4000
    a = rng.random(buyers) < 0.30
    b = np.where(rng.random(buyers) < 0.8, a, rng.random(buyers) < 0.35)  # correlated with a, +~1 pp
    d = b.astype(float) - a.astype(float)
    difference, low, high = paired_bootstrap([1] * buyers, a.astype(int), [1] * buyers, b.astype(int),
                                             resamples=4000, seed=1)
    assert difference == pytest.approx(d.mean())
    half = 1.96 * d.std(ddof=1) / math.sqrt(buyers)  # the known large-sample answer
    assert (high - low) / 2 == pytest.approx(half, rel=0.08)
    assert (low + high) / 2 == pytest.approx(difference, abs=half * 0.1)


def test_the_pairing_makes_the_interval_narrower_than_two_independent_runs_would():
    rng = np.random.default_rng(0)
    buyers = 2000
    a = rng.random(buyers) < 0.4
    b = a.copy()
    flip = rng.choice(buyers, 40, replace=False)
    b[flip] = True  # b finds 40 buyers' positives more, never fewer
    _, low, high = paired_bootstrap([1] * buyers, a.astype(int), [1] * buyers, b.astype(int), seed=2)
    unpaired_half = 1.96 * math.sqrt(2 * 0.4 * 0.6 / buyers)
    assert low > 0
    assert (high - low) / 2 < unpaired_half / 3


def test_paired_interval_matches_buyers_by_id_and_reports_percentage_points():
    a = BuyerHits(buyers=["u1", "u2", "u3", "u4"], variants={
        "all_items": HitsVariant(interactions=[2, 2, 2, 2], hits={"100": [1, 1, 1, 1]})})
    b = BuyerHits(buyers=["u4", "u3", "u2", "u1", "u9"], variants={
        "all_items": HitsVariant(interactions=[2, 2, 2, 2, 5], hits={"100": [2, 2, 2, 2, 5]})})
    interval = paired_interval(a, b, "all_items", 100, "recall_at_100", resamples=100)
    assert interval.difference_pp == pytest.approx(50.0)
    assert interval.low_pp == pytest.approx(50.0) and interval.high_pp == pytest.approx(50.0)
    assert interval.buyers == 4 and interval.unmatched_buyers == 1
    with pytest.raises(ValueError, match="recall_at_10: both runs need"):
        paired_interval(a, b, "all_items", 10, "recall_at_10")


def test_buyer_hits_refuses_lists_of_another_length():
    with pytest.raises(ValueError, match="one entry per buyer"):
        BuyerHits(buyers=["a", "b"], variants={"all_items": HitsVariant(interactions=[1], hits={"10": [0, 1]})})


def test_verdict_follows_the_direction_and_says_within_noise_when_the_interval_straddles_zero():
    assert verdict(0.1, 0.5, "higher") == "better"
    assert verdict(-0.5, -0.1, "higher") == "worse"
    assert verdict(-0.1, 0.5, "higher") == "within_noise"
    assert verdict(0.1, 0.5, "lower") == "worse"
    assert verdict(-0.5, -0.1, "lower") == "better"
    assert verdict(None, None, "higher") == "unknown"
    assert verdict(0.1, 0.2, "none") == "unknown"


def test_welch_interval_of_two_seed_groups():
    a, b = spread([1.0, 2.0, 3.0]), spread([3.0, 4.0, 5.0])
    assert a is not None and b is not None
    difference, low, high = interval_from_spreads(a, b) or (0, 0, 0)
    # equal variances 1, n = 3: se = sqrt(2/3), Welch df = 4, t = 2.776
    assert difference == 2.0
    assert high - difference == pytest.approx(2.776 * math.sqrt(2 / 3))
    assert interval_from_spreads(spread([1.0]) or a, b) is None


def test_recall_metric_parts():
    assert recall_metric_parts("recall_at_100", "excluding_train_items") == ("all_items", 100)
    assert recall_metric_parts("recall_at_10_excluding_train_items", "excluding_train_items") == (
        "excluding_train_items", 10)
    assert recall_metric_parts("test_loss", "excluding_train_items") is None


def test_attribution_of_a_balanced_two_by_two_has_the_known_shares_of_variance():
    rows = [({"a": "0", "b": "0"}, 0.0), ({"a": "0", "b": "1"}, 2.0),
            ({"a": "1", "b": "0"}, 10.0), ({"a": "1", "b": "1"}, 12.0)]
    result = attribute(rows)
    by_name = {p.parameter: p for p in result.parameters}
    # y = 10 a + 2 b: SS total 104, SS between a 100, between b 4
    assert [p.parameter for p in result.parameters] == ["a", "b"]
    assert by_name["a"].share_of_variance == pytest.approx(100 / 104)
    assert by_name["b"].share_of_variance == pytest.approx(4 / 104)
    assert by_name["a"].effect == pytest.approx(10.0) and by_name["a"].best_value == "1"
    assert {v.value: v.mean for v in by_name["b"].values} == {"0": 5.0, "1": 7.0}
    assert result.total_variance == pytest.approx(104 / 3)


def test_attribution_with_repeats_says_whether_the_effect_is_beyond_noise():
    rows = []
    for lr, base in (("0.05", 0.30), ("0.1", 0.40)):
        for noise in (-0.01, 0.0, 0.01):
            rows.append(({"learning_rate": lr, "epochs": "3"}, base + noise))
    result = attribute(rows)
    [lr] = result.parameters  # epochs never varies: not a parameter of this attribution
    assert lr.parameter == "learning_rate" and lr.best_value == "0.1"
    assert lr.effect == pytest.approx(0.10)
    assert lr.beyond_noise is True and lr.effect_low is not None and lr.effect_low > 0
    noisy = attribute([({"x": "a"}, 0.30), ({"x": "a"}, 0.40), ({"x": "b"}, 0.31), ({"x": "b"}, 0.41)])
    assert noisy.parameters[0].beyond_noise is False


def test_attribution_for_a_lower_is_better_metric_and_confounded_parameters():
    rows = [({"opt": "adam", "lr": "0.1"}, 1.0), ({"opt": "adam", "lr": "0.1"}, 1.2),
            ({"opt": "sgd", "lr": "0.5"}, 2.0), ({"opt": "sgd", "lr": "0.5"}, 2.2)]
    result = attribute(rows, direction="lower")
    opt = next(p for p in result.parameters if p.parameter == "opt")
    assert opt.best_value == "adam" and opt.effect == pytest.approx(1.0)
    assert opt.effect_low is not None and opt.effect_low > 0 and opt.beyond_noise is True
    assert opt.confounded_with == ["lr"]
