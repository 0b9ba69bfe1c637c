"""Full training (issue 12, decisions 075-077): start one from a quick test, a run's lineage, the cards.

``POST /api/experiments/{id}/full-training`` starts a full training of a completed quick test (a full
training from configs directly is ``POST /api/experiments`` with a ``full_training`` block);
``GET /api/experiments/{id}/lineage`` answers what produced the run's model (ML Metadata) and where it
was pushed; ``GET /api/full-training/summary`` the Full Trains and Currently deployed cards and the
quick-vs-full agreement panel.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from experiments_platform.handlers import admission, experiments, full_training
from experiments_platform.repositories.experiment_index import ExperimentIndex
from experiments_platform.web.args import json_body, query_str
from experiments_platform.web.context import platform
from experiments_platform.web.gateway.context import estimator, launcher

blueprint = Blueprint("full_training", __name__)


@blueprint.post("/api/experiments/<experiment_id>/full-training")
def start_full_training(experiment_id: str) -> tuple[Response, int]:
    with admission.room_in_queue(platform()):
        doc = experiments.start_full_training(platform().documents, platform().bus, experiment_id,
                                              json_body(required=False), launcher(), estimator())
    return jsonify(doc), 202


@blueprint.get("/api/experiments/<experiment_id>/lineage")
def lineage(experiment_id: str) -> Response:
    return jsonify(full_training.lineage(platform(), experiment_id))


@blueprint.post("/api/experiments/<experiment_id>/promote")
def promote(experiment_id: str) -> Response:
    """Point the registry's production alias at this full training's model version (decision 079)."""
    return jsonify(full_training.promote(platform(), experiment_id))


@blueprint.get("/api/full-training/summary")
def summary() -> Response:
    """Computed once per change of the experiments (the registry's alias moves only when a full training
    completes, which changes them), so MLflow is asked once per change, not per dashboard refresh."""
    dataset_id = query_str("dataset_id")
    snapshot = ExperimentIndex.of(platform().documents).snapshot()
    return jsonify(snapshot.view(("full-training-summary", dataset_id),
                                 lambda docs: full_training.summary(platform(), docs, dataset_id)))
