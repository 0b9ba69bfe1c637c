"""Results of a finished pipeline: ``metrics.json``, its primary metric, and "vs previous best"."""

from __future__ import annotations

import json
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.domain.status import Status
from experiments_platform.errors import NotFound
from experiments_platform.ports.documents import DocumentStore, Filter
from experiments_platform.repositories.experiments import COLLECTION

PRIMARY_METRIC = "recall_at_100"


def read_metrics(platform: Platform, experiment_id: str) -> dict[str, Any] | None:
    """``metrics.json`` of the experiment, or None when the pipeline wrote none."""
    uri = platform.experiment_artifacts_uri(experiment_id, "metrics.json")
    try:
        raw = platform.blobs.read_bytes(uri)
    except NotFound:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) else {"value": value}


def primary_metric(results: dict[str, Any] | None, metric: str = PRIMARY_METRIC) -> float | None:
    """The metric from a results dict (``metrics.json``): under ``final``, or at the top level."""
    if not results:
        return None
    for holder in (results.get("final"), results, results.get("metrics")):
        if isinstance(holder, dict) and isinstance(holder.get(metric), (int, float)):
            return float(holder[metric])
    return None


def compare_with_previous_best(
    store: DocumentStore, experiment_id: str, dataset_id: str, results: dict[str, Any], metric: str = PRIMARY_METRIC
) -> dict[str, Any] | None:
    """``{"summary": "↑ 1.2 % vs Exp #9", ...}`` against the best completed run on the same dataset.

    The difference is in percentage points of the metric (recall 0.473 vs 0.461 → ↑ 1.2 %).
    """
    value = primary_metric(results, metric)
    if value is None:
        return None
    completed = store.query(
        COLLECTION, [Filter("dataset_id", "==", dataset_id), Filter("status", "==", Status.COMPLETED.value)]
    )
    best: tuple[float, dict[str, Any]] | None = None
    for document in completed:
        if document["id"] == experiment_id:
            continue
        other = primary_metric(document.get("results"), metric)
        if other is not None and (best is None or other > best[0]):
            best = (other, document)
    if best is None:
        return {"metric": metric, "value": value, "summary": "first completed experiment on this dataset"}
    previous, document = best
    delta = (value - previous) * 100
    arrow = "↑" if delta > 0 else "↓" if delta < 0 else "="
    return {
        "metric": metric,
        "value": value,
        "previous_best": previous,
        "previous_experiment_id": document["id"],
        "previous_number": document.get("number"),
        "delta_points": round(delta, 4),
        "improved": delta > 0,
        "summary": f"{arrow} {abs(delta):.1f} % vs Exp #{document.get('number')}",
    }
