"""Results of a finished pipeline: ``metrics.json`` as a typed report, its primary metric, "vs previous best"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.domain import metrics
from experiments_platform.domain.baselines import baseline_verdict
from experiments_platform.domain.metrics_report import MetricsReport, final_metrics, parse_report
from experiments_platform.domain.protocol import protocol_key
from experiments_platform.domain.status import Status
from experiments_platform.errors import NotFound
from experiments_platform.ports.documents import DocumentStore, Filter
from experiments_platform.repositories.experiments import COLLECTION

PRIMARY_METRIC = metrics.PRIMARY_METRIC

Results = MetricsReport | Mapping[str, Any] | None


def read_metrics(platform: Platform, experiment_id: str) -> MetricsReport | None:
    """``metrics.json`` of the experiment as a report; None when the pipeline wrote none.

    Raises ``MalformedReport`` (naming the file and its first bad fields) when the file is not a report.
    """
    uri = platform.experiment_artifacts_uri(experiment_id, "metrics.json")
    try:
        raw = platform.blobs.read_bytes(uri)
    except NotFound:
        return None
    return parse_report(raw, uri)


def primary_metric(results: Results, metric: str = PRIMARY_METRIC) -> float | None:
    """The final metric ``metric`` of a report or of stored results."""
    return final_metrics(results).get(metric)


def compare_with_previous_best(
    store: DocumentStore, experiment_id: str, dataset_id: str, results: Results, metric: str = PRIMARY_METRIC
) -> dict[str, Any] | None:
    """``{"summary": "↑ 1.2 pp vs Exp #9", "outcome": "better", ...}`` against the best completed run
    of the same protocol (dataset, sample, split, corpus: decision 062), "best" and "better" as the
    metric's catalogue direction says.

    The difference reads in the metric's own display format; for a rate in percentage points
    (recall 0.473 vs 0.461 → ↑ 1.2 pp, ``delta_points`` 1.2). None when the experiment lacks the
    metric or the metric has no direction.
    """
    spec = metrics.spec(metric)
    value = primary_metric(results, metric)
    if value is None or spec.direction == "none":
        return None
    baseline = _baseline_verdict(results)
    current = store.get(COLLECTION, experiment_id)
    key = protocol_key(current) if current else None
    completed = [d for d in store.query(
        COLLECTION, [Filter("dataset_id", "==", dataset_id), Filter("status", "==", Status.COMPLETED.value)]
    ) if key is None or protocol_key(d) == key]
    best: tuple[float, Mapping[str, Any]] | None = None
    for document in completed:
        if document["id"] == experiment_id:
            continue
        other = primary_metric(document.get("results"), metric)
        if other is not None and (best is None or spec.better(other, best[0])):
            best = (other, document)
    if best is None:
        return {"metric": metric, "label": spec.label, "value": value,
                "summary": "first completed experiment of this protocol", "protocol": key, "baseline": baseline}
    previous, previous_doc = best
    delta = value - previous
    outcome = "better" if spec.better(value, previous) else "worse" if spec.better(previous, value) else "same"
    return {
        "metric": metric,
        "label": spec.label,
        "value": value,
        "previous_best": previous,
        "previous_experiment_id": previous_doc["id"],
        "previous_number": previous_doc.get("number"),
        "delta": delta,
        "delta_points": round(delta * 100, 4) if spec.is_rate else None,
        "improved": outcome == "better",
        "outcome": outcome,
        "summary": f"{spec.display_change(delta)} vs Exp #{previous_doc.get('number')}",
        "protocol": key,
        "baseline": baseline,
    }


def _baseline_verdict(results: Results) -> dict[str, Any] | None:
    """Whether the run beats its best baseline beyond noise (``domain.baselines``); None without a report."""
    try:
        report = results if isinstance(results, MetricsReport) else MetricsReport.model_validate(results or {})
    except ValueError:
        return None
    return baseline_verdict(report)
