"""Which parameter moved the metric, and by how much beyond noise (decision 068).

Input: comparable runs (one protocol) as ``(parameters, value)`` where ``parameters`` maps each
parameter name to its value as text. For every parameter with at least two values:

- **mean per value** with the 95 % t interval of that mean (runs with the value, repeats included);
- **share of variance**: the one-way ANOVA η² = SS_between / SS_total, the part of the metric's
  spread across all runs that the parameter's values explain on their own (marginal; parameters
  that were changed together share it, and are reported as ``confounded_with`` each other);
- **effect**: best value's mean − worst value's mean (in the metric's direction, percentage points
  for rates) with Welch's 95 % interval, and whether that interval excludes zero (``beyond_noise``).

Pure functions: the dashboard's attribution panel and the benchmark call ``attribute``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pydantic import Field

from experiments_platform.domain.base import DomainModel
from experiments_platform.domain.noise import Spread, interval_from_spreads, spread


class ValueEffect(DomainModel):
    value: str
    n: int
    mean: float
    std: float | None = None
    low: float | None = Field(default=None, description="95 % t interval of the mean (None for one run)")
    high: float | None = None


class ParameterEffect(DomainModel):
    parameter: str
    values: list[ValueEffect]
    share_of_variance: float = Field(ge=0, le=1, description="η²: SS between its values / SS total")
    effect: float = Field(description="best value's mean − worst value's mean, in the metric's units (≥ 0)")
    effect_low: float | None = None
    effect_high: float | None = None
    best_value: str
    worst_value: str
    beyond_noise: bool | None = Field(default=None, description="the effect's interval excludes 0; None without one")
    confounded_with: list[str] = Field(default_factory=list,
                                       description="parameters whose values split the runs exactly as this one's")


class Attribution(DomainModel):
    runs: int
    total_variance: float = Field(description="sample variance of the metric over every run")
    parameters: list[ParameterEffect] = Field(description="largest share of variance first")


def _partition(rows: Sequence[tuple[Mapping[str, str], float]], name: str) -> tuple[tuple[int, ...], ...]:
    groups: dict[str, list[int]] = {}
    for i, (params, _) in enumerate(rows):
        groups.setdefault(params.get(name, "none"), []).append(i)
    return tuple(sorted(tuple(g) for g in groups.values()))


def attribute(rows: Sequence[tuple[Mapping[str, str], float]], direction: str = "higher") -> Attribution:
    """Per parameter varying across ``rows``: mean per value, η², best − worst effect with its interval."""
    values = [float(v) for _, v in rows]
    n = len(values)
    grand = math.fsum(values) / n if n else 0.0
    ss_total = math.fsum((v - grand) ** 2 for v in values)
    names = sorted({name for params, _ in rows for name in params})
    partitions = {name: _partition(rows, name) for name in names}
    effects: list[ParameterEffect] = []
    for name in names:
        groups: dict[str, list[float]] = {}
        for params, value in rows:
            groups.setdefault(params.get(name, "none"), []).append(float(value))
        if len(groups) < 2:
            continue
        spreads: dict[str, Spread] = {}
        for key, members in groups.items():
            s = spread(members)
            if s is not None:
                spreads[key] = s
        ss_between = math.fsum(s.n * (s.mean - grand) ** 2 for s in spreads.values())
        share = min(1.0, ss_between / ss_total) if ss_total > 0 else 0.0
        sign = 1.0 if direction != "lower" else -1.0
        ordered = sorted(spreads.items(), key=lambda kv: sign * kv[1].mean)
        (worst, worst_s), (best, best_s) = ordered[0], ordered[-1]
        interval = interval_from_spreads(worst_s, best_s)
        low = high = None
        beyond = None
        if interval is not None:
            _, a, b = interval
            low, high = (a, b) if sign > 0 else (-b, -a)
            beyond = low > 0
        effects.append(ParameterEffect(
            parameter=name,
            values=[ValueEffect(value=key, n=s.n, mean=s.mean, std=s.std,
                                low=None if s.ci95 is None else s.mean - s.ci95,
                                high=None if s.ci95 is None else s.mean + s.ci95) for key, s in spreads.items()],
            share_of_variance=share, effect=abs(best_s.mean - worst_s.mean), effect_low=low, effect_high=high,
            best_value=best, worst_value=worst, beyond_noise=beyond,
            confounded_with=[other for other in names if other != name and partitions[other] == partitions[name]],
        ))
    effects.sort(key=lambda e: (-e.share_of_variance, e.parameter))
    return Attribution(runs=n, total_variance=ss_total / (n - 1) if n > 1 else 0.0, parameters=effects)
