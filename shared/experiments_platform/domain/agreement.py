"""How well quick tests rank configurations the way full training does (issue 12 section 4, decision 076).

Pure: given pairs (quick-test value, full-training value) of one metric, one pair per configuration
that has both, the rank correlations (Spearman's ρ with average ranks for ties, Kendall's τ-b), a
95 % interval for each (Fisher's z with the Bonett-Wright standard errors: √((1 + ρ²/2)/(n − 3)) for
ρ, √(0.437/(n − 4)) for τ), whether the quick-test winner is the full-training winner, and a plain
reading. Used by the dashboard's agreement panel and by ``benchmarks/quick_vs_full.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Pair:
    key: str
    quick: float
    full: float


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def _pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    return sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / math.sqrt(sxx * syy)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's ρ (Pearson's r of the average ranks); None below 2 pairs or when one side is constant."""
    if len(x) < 2:
        return None
    return _pearson(ranks(x), ranks(y))


def kendall(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's τ-b (ties in either side corrected); None below 2 pairs or when one side is constant."""
    n = len(x)
    if n < 2:
        return None
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return None if denominator == 0 else (concordant - discordant) / denominator


def _interval(r: float | None, se: float | None) -> tuple[float, float] | None:
    if r is None or se is None:
        return None
    z = math.atanh(max(-0.999999, min(0.999999, r)))
    return math.tanh(z - Z_95 * se), math.tanh(z + Z_95 * se)


@dataclass(frozen=True)
class Agreement:
    metric: str
    n: int
    spearman: float | None
    spearman_interval: tuple[float, float] | None
    kendall: float | None
    kendall_interval: tuple[float, float] | None
    quick_winner: str | None
    full_winner: str | None
    pairs: tuple[Pair, ...]

    @property
    def quick_winner_is_full_winner(self) -> bool | None:
        if self.quick_winner is None or self.full_winner is None:
            return None
        return self.quick_winner == self.full_winner

    @property
    def reading(self) -> str:
        """One plain sentence about what the numbers say (or why there are none yet)."""
        if self.n < 3 or self.spearman is None:
            return (f"{self.n} configuration(s) have both a quick test and a full training; "
                    "at least 3 are needed to say whether quick tests rank configurations like full training")
        rho = self.spearman
        if self.spearman_interval is not None and self.spearman_interval[0] > 0:
            verdict = "rank configurations like full training does"
        elif self.spearman_interval is not None and self.spearman_interval[1] < 0:
            verdict = "rank configurations against full training"
        elif rho > 0.5:
            verdict = "tend to rank configurations like full training, though not beyond chance at this n"
        else:
            verdict = "do not yet show that they rank configurations like full training"
        interval = (f" (95 % interval {self.spearman_interval[0]:.2f} to {self.spearman_interval[1]:.2f})"
                    if self.spearman_interval else "")
        winner = {True: "the quick-test winner is the full-training winner",
                  False: "the quick-test winner is not the full-training winner", None: ""}[
            self.quick_winner_is_full_winner]
        return f"Quick tests on this dataset {verdict}: ρ = {rho:.2f}{interval}, n = {self.n}; {winner}."

    def to_document(self) -> dict[str, object]:
        return {
            "metric": self.metric, "n": self.n,
            "spearman": self.spearman, "spearman_interval": list(self.spearman_interval or []) or None,
            "kendall": self.kendall, "kendall_interval": list(self.kendall_interval or []) or None,
            "quick_winner": self.quick_winner, "full_winner": self.full_winner,
            "quick_winner_is_full_winner": self.quick_winner_is_full_winner,
            "reading": self.reading,
            "pairs": [{"key": p.key, "quick": p.quick, "full": p.full} for p in self.pairs],
        }


def agreement(pairs: Sequence[Pair], metric: str = "recall_at_100") -> Agreement:
    """Rank agreement of quick-test and full-training values (higher is better) over ``pairs``."""
    n = len(pairs)
    quick = [p.quick for p in pairs]
    full = [p.full for p in pairs]
    rho = spearman(quick, full)
    tau = kendall(quick, full)
    rho_se = math.sqrt((1 + rho * rho / 2) / (n - 3)) if rho is not None and n > 3 else None
    tau_se = math.sqrt(0.437 / (n - 4)) if tau is not None and n > 4 else None
    return Agreement(
        metric=metric, n=n,
        spearman=rho, spearman_interval=_interval(rho, rho_se),
        kendall=tau, kendall_interval=_interval(tau, tau_se),
        quick_winner=max(pairs, key=lambda p: p.quick).key if pairs else None,
        full_winner=max(pairs, key=lambda p: p.full).key if pairs else None,
        pairs=tuple(pairs),
    )
