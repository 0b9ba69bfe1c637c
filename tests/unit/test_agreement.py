"""domain.agreement against SciPy's reference implementations, and its reading (decision 076)."""

from __future__ import annotations

import random

import pytest
from experiments_platform.domain.agreement import Pair, agreement, kendall, ranks, spearman
from scipy import stats


def test_ranks_share_the_average_rank_on_ties():
    assert ranks([0.3, 0.1, 0.3, 0.2]) == [3.5, 1.0, 3.5, 2.0]


@pytest.mark.parametrize("seed", range(20))
def test_spearman_and_kendall_match_scipy_with_and_without_ties(seed):
    rng = random.Random(seed)
    n = rng.randint(3, 12)
    x = [round(rng.random(), 1 if seed % 2 else 6) for _ in range(n)]
    y = [v + rng.gauss(0, 0.2) for v in x]
    if len(set(x)) == 1:
        assert spearman(x, y) is None
        return
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert kendall(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)


def test_winners_intervals_and_the_plain_reading():
    same = agreement([Pair(f"c{i}", 0.1 + i / 100, 0.2 + i / 50) for i in range(6)])
    assert same.spearman == pytest.approx(1.0) and same.kendall == pytest.approx(1.0)
    assert same.quick_winner == same.full_winner == "c5" and same.quick_winner_is_full_winner is True
    assert same.spearman_interval is not None and same.spearman_interval[0] > 0.9
    assert same.reading.startswith("Quick tests on this dataset rank configurations like full training does")

    swapped = agreement([Pair("a", 0.3, 0.1), Pair("b", 0.2, 0.2), Pair("c", 0.1, 0.3), Pair("d", 0.15, 0.25)])
    assert swapped.spearman == pytest.approx(-1.0) and swapped.quick_winner_is_full_winner is False
    assert swapped.kendall_interval is None, "τ's interval needs n > 4"
    assert "not the full-training winner" in swapped.reading

    few = agreement([Pair("a", 0.3, 0.1), Pair("b", 0.2, 0.2)])
    assert few.spearman_interval is None and "at least 3 are needed" in few.reading
    assert agreement([]).quick_winner_is_full_winner is None
