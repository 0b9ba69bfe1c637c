"""``/api/experiments``: start, list, get, cancel, selectable, compare."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from experiments_platform.handlers import admission, compare, experiments
from experiments_platform.web.args import json_body, query_int, query_str
from experiments_platform.web.context import platform
from experiments_platform.web.gateway.context import estimator, launcher

blueprint = Blueprint("experiments", __name__, url_prefix="/api/experiments")


@blueprint.get("")
def list_experiments() -> Response:
    return jsonify(admission.with_queue_positions(platform().documents, experiments.list_experiments(
        platform().documents,
        status=query_str("status"),
        dataset_id=query_str("dataset_id"),
        feature_config_id=query_str("feature_config_id"),
        model_config_id=query_str("model_config_id"),
        sort=query_str("sort", "-created_at") or "-created_at",
        page=query_int("page", 1, minimum=1),
        page_size=query_int("page_size", 50, minimum=1, maximum=experiments.MAX_PAGE_SIZE),
    )))


@blueprint.post("")
def start_experiment() -> tuple[Response, int]:
    with admission.room_in_queue(platform()):
        doc = experiments.start_experiment(platform().documents, platform().bus, json_body(), launcher(), estimator())
    return jsonify(doc), 202


@blueprint.post("/estimate")
def estimate() -> Response:
    return jsonify(experiments.estimate_experiment(platform().documents, json_body(), estimator(), launcher()))


@blueprint.get("/selectable")
def selectable() -> Response:
    return jsonify(experiments.selectable_experiments(platform().documents))


@blueprint.post("/compare")
def compare_experiments() -> Response:
    body = json_body()
    ids = body.get("experiment_ids") if isinstance(body, dict) else None
    return jsonify(compare.compare_experiments(platform().documents, ids))


@blueprint.get("/<experiment_id>")
def get_experiment(experiment_id: str) -> Response:
    return jsonify(admission.with_queue_position(platform().documents,
                                                 experiments.get_experiment(platform().documents, experiment_id)))


@blueprint.post("/<experiment_id>/cancel")
def cancel_experiment(experiment_id: str) -> tuple[Response, int]:
    return jsonify(experiments.cancel_experiment(platform().documents, platform().bus, experiment_id)), 202
