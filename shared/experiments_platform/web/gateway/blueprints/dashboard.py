"""``/api/dashboard``: stats, dimensions, leaderboard, heatmap, CSV export, MLflow link."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from experiments_platform.handlers import dashboard, experiments, export
from experiments_platform.web.args import query_int, query_str
from experiments_platform.web.context import platform
from experiments_platform.web.gateway.context import shared_experiments

blueprint = Blueprint("dashboard", __name__, url_prefix="/api/dashboard")


def _experiments() -> list[dict[str, object]]:
    return shared_experiments()(query_str("dataset_id"))


def mlflow_url(run_id: str | None = None, mlflow_experiment_id: str | None = None) -> str:
    """The MLflow UI link; with the MLflow experiment id known, built without a call to MLflow."""
    settings = platform().settings
    base = (settings.mlflow_ui_url or settings.mlflow_tracking_uri).rstrip("/")
    if run_id is None:
        return base
    return platform().tracker.ui_url(run_id, mlflow_experiment_id)


@blueprint.get("/stats")
def stats() -> Response:
    return jsonify(dashboard.stats(_experiments(), mlflow_url()))


@blueprint.get("/dimensions")
def dimensions() -> Response:
    return jsonify(dashboard.dimensions(_experiments()))


@blueprint.get("/leaderboard")
def leaderboard() -> Response:
    return jsonify(dashboard.leaderboard(
        _experiments(),
        metric=query_str("metric", dashboard.HEADLINE) or dashboard.HEADLINE,
        order=query_str("order", "best") or "best",
        page=query_int("page", 1, minimum=1),
        page_size=query_int("page_size", 50, minimum=1, maximum=1000),
    ))


@blueprint.get("/heatmap")
def heatmap() -> Response:
    return jsonify(dashboard.heatmap(
        _experiments(),
        metric=query_str("metric", dashboard.HEADLINE) or dashboard.HEADLINE,
        x_axis=query_str("x_axis", "embedding_dims") or "embedding_dims",
        y_axis=query_str("y_axis", "cross_features") or "cross_features",
    ))


@blueprint.get("/export.csv")
def export_csv() -> Response:
    docs = _experiments()
    statuses = experiments.parse_statuses(query_str("status"))
    if statuses:
        docs = [d for d in docs if d.get("status") in statuses]
    response = Response(export.experiments_csv(docs), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="experiments.csv"'
    return response


@blueprint.get("/mlflow")
def mlflow_link() -> Response:
    experiment_id = query_str("experiment_id")
    if experiment_id is None:
        return jsonify({"url": mlflow_url()})
    doc = experiments.get_experiment(platform().documents, experiment_id)
    run_id = doc.get("mlflow_run_id")
    mlflow_experiment_id = (doc.get("results") or {}).get("mlflow_experiment_id")
    if not isinstance(run_id, str):
        return jsonify({"url": mlflow_url()})
    return jsonify({"url": mlflow_url(run_id, str(mlflow_experiment_id) if mlflow_experiment_id else None)})
