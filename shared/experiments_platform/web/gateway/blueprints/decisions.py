"""Sweeps, seed groups, paired intervals, "vs previous best" as a noise table, attribution (decisions 065-068)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from experiments_platform.domain import metrics
from experiments_platform.domain.noise import HITS_FILE, BuyerHits
from experiments_platform.errors import InvalidInput, NotFound
from experiments_platform.handlers import admission, attribution, sweeps
from experiments_platform.handlers.experiments import get_experiment
from experiments_platform.repositories.experiment_index import ExperimentIndex
from experiments_platform.web.args import json_body, query_str
from experiments_platform.web.context import platform
from experiments_platform.web.gateway.context import estimator, launcher

blueprint = Blueprint("decisions", __name__)


def concurrency() -> int:
    """Run slots the sweep's children share: the admission limit (decision 052)."""
    value = getattr(platform().settings, "resolved_max_concurrent_runs", 1)
    return value if isinstance(value, int) and value > 0 else 1


def read_hits(experiment_id: str) -> BuyerHits | None:
    uri = platform().experiment_artifacts_uri(experiment_id, HITS_FILE)
    try:
        raw = platform().blobs.read_bytes(uri)
    except NotFound:
        return None
    return BuyerHits.model_validate_json(raw)


def _summaries(dataset_id: str | None = None) -> list[dict[str, Any]]:
    docs = ExperimentIndex.of(platform().documents).snapshot().documents
    return [d for d in docs if not dataset_id or d.get("dataset_id") == dataset_id]


@blueprint.get("/api/sweeps")
def list_sweeps() -> Response:
    return jsonify(sweeps.list_sweeps(platform().documents))


@blueprint.post("/api/sweeps/estimate")
def estimate_sweep() -> Response:
    return jsonify(sweeps.estimate_sweep(platform().documents, json_body(), estimator(), concurrency()))


@blueprint.post("/api/sweeps")
def start_sweep() -> tuple[Response, int]:
    with admission.one_start_at_a_time(platform()):
        doc = sweeps.start_sweep(platform().documents, platform().bus, json_body(), launcher(), estimator(),
                                 concurrency(), lambda n: admission.refuse_when_full(platform(), adding=n))
    return jsonify(doc), 202


@blueprint.get("/api/sweeps/<sweep_id>")
def get_sweep(sweep_id: str) -> Response:
    metric = query_str("metric", metrics.PRIMARY_METRIC) or metrics.PRIMARY_METRIC
    return jsonify(sweeps.sweep_view(platform().documents, sweep_id, metric))


@blueprint.post("/api/sweeps/<sweep_id>/cancel")
def cancel_sweep(sweep_id: str) -> tuple[Response, int]:
    return jsonify(sweeps.cancel_sweep(platform().documents, platform().bus, sweep_id)), 202


@blueprint.get("/api/seed-groups")
def seed_groups() -> Response:
    return jsonify(attribution.seed_groups(_summaries(query_str("dataset_id"))))


@blueprint.get("/api/experiments/<experiment_id>/noise")
def noise_table(experiment_id: str) -> Response:
    doc = get_experiment(platform().documents, experiment_id)
    return jsonify(attribution.noise_table(doc, _summaries(doc.get("dataset_id")), read_hits))


@blueprint.get("/api/paired")
def paired() -> Response:
    ids = [query_str("a"), query_str("b")]
    for name, value in zip(("a", "b"), ids, strict=True):
        if not value:
            raise InvalidInput(f"{name}: required, the id of an experiment (compare b − a)", field=name)
    a = get_experiment(platform().documents, str(ids[0]), "a")
    b = get_experiment(platform().documents, str(ids[1]), "b")
    return jsonify(attribution.paired_comparison(a, b, read_hits))


@blueprint.get("/api/dashboard/attribution")
def attribution_panel() -> Response:
    metric = query_str("metric", metrics.PRIMARY_METRIC) or metrics.PRIMARY_METRIC
    return jsonify(attribution.attribution_view(_summaries(query_str("dataset_id")), metric,
                                                query_str("protocol")))
