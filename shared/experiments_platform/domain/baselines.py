"""Does a run beat its best baseline beyond noise? (issue 11 §8, decision 064)

The baselines are the ones at the primary k that the report holds (popularity and random; recent
popularity, the last 14 days of the training period, in time splits). The best is the highest.
Noise: the difference of two recall@k measured on the same ``n`` test interactions is called beyond
noise when it exceeds 1.96 × sqrt((p_model (1 − p_model) + p_base (1 − p_base)) / n), the 95 % bound
of the difference of two independent binomial rates. The model and the baseline rank the same
interactions, so the paired interval (decision 065's bootstrap) is narrower: this bound is the
conservative one, computable from any report.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from experiments_platform.domain import metrics
from experiments_platform.domain.metrics_report import MetricsReport

MODEL_METRIC = metrics.PRIMARY_METRIC
BASELINES = ("popularity_recall_at_100", "recent_popularity_recall_at_100", "random_recall_at_100")
"""The baselines a run's primary metric is held against, where the report has them."""
Z_95 = 1.96

Outcome = Literal["beats", "within_noise", "worse"]


def noise_bound(model: float, baseline: float, interactions: int) -> float:
    """Half-width of the 95 % interval of the difference of two rates each measured on ``interactions``."""
    if interactions <= 0:
        return math.inf
    variance = (model * (1 - model) + baseline * (1 - baseline)) / interactions
    return Z_95 * math.sqrt(max(variance, 0.0))


def _evaluated(report: MetricsReport) -> int:
    if report.recall is not None and report.recall.all_items is not None:
        return report.recall.all_items.evaluated_interactions
    count = report.metric("test_interactions")
    return int(count) if count is not None else 0


def baseline_verdict(report: MetricsReport) -> dict[str, Any] | None:
    """``{"outcome": "beats" | "within_noise" | "worse", "summary": …, "baseline": name, …}``; None when
    the report lacks the primary metric or every baseline."""
    model = report.metric(MODEL_METRIC)
    values = {name: value for name in BASELINES if (value := report.metric(name)) is not None}
    if model is None or not values:
        return None
    name, base = max(values.items(), key=lambda item: item[1])
    spec, model_spec = metrics.spec(name), metrics.spec(MODEL_METRIC)
    interactions = _evaluated(report)
    bound = noise_bound(model, base, interactions)
    delta = model - base
    outcome: Outcome = "beats" if delta > bound else "within_noise" if delta >= -bound else "worse"
    against = f"{spec.label} {spec.display(base)}"
    margin = model_spec.display_delta(delta)
    noise = f"±{model_spec.display_delta(bound).lstrip('+±')}" if math.isfinite(bound) else "unknown"
    summary = {
        "beats": f"beats the best baseline ({against}) by {margin.lstrip('+')} (noise {noise})",
        "within_noise": f"does not beat the best baseline beyond noise: {against}, {margin} within {noise}",
        "worse": f"does not beat the best baseline: {against}, {margin} (noise {noise})",
    }[outcome]
    return {
        "outcome": outcome,
        "summary": summary,
        "metric": MODEL_METRIC,
        "value": model,
        "baseline": name,
        "baseline_label": spec.label,
        "baseline_value": base,
        "delta_points": round(delta * 100, 4),
        "noise_points": round(bound * 100, 4) if math.isfinite(bound) else None,
        "interactions": interactions,
        "baselines": values,
    }
