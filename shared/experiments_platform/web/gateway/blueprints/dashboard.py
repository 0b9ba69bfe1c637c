"""``/api/dashboard``: stats, dimensions, leaderboard, heatmap, CSV export, MLflow link.

Each view is computed from the summaries of this process's ``ExperimentIndex`` once per change of
the experiments and set of arguments (``Snapshot.view``), so a dashboard of a thousand experiments
costs no document read and no recomputation between changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import Blueprint, Response, jsonify

from experiments_platform.adapters.mlflow_tracker import ML_WORKFLOW
from experiments_platform.handlers import dashboard, experiments, export
from experiments_platform.repositories.experiment_index import ExperimentIndex
from experiments_platform.web.args import query_int, query_str
from experiments_platform.web.context import platform

blueprint = Blueprint("dashboard", __name__, url_prefix="/api/dashboard")


def _view(key: tuple[Hashable, ...], compute: Callable[[list[dict[str, Any]]], dict[str, Any]]) -> dict[str, Any]:
    """``compute`` over the experiments of one protocol (``?protocol=``, default the newest experiment's,
    of ``?dataset_id=`` when given), once per change and ``key``; the answer names the protocol shown
    and lists every protocol as a group (decision 062)."""
    dataset_id, protocol = query_str("dataset_id"), query_str("protocol")

    def scoped(summaries: tuple[dict[str, Any], ...]) -> dict[str, Any]:
        scope = dashboard.in_protocol(_of_dataset(summaries, dataset_id), protocol)
        return {**compute(scope.docs), **scope.to_document()}

    return ExperimentIndex.of(platform().documents).snapshot().view((*key, dataset_id, protocol), scoped)


def _of_dataset(summaries: tuple[dict[str, Any], ...], dataset_id: str | None) -> list[dict[str, Any]]:
    return [d for d in summaries if not dataset_id or d.get("dataset_id") == dataset_id]


def mlflow_url(run_id: str | None = None, mlflow_experiment_id: str | None = None) -> str:
    """The MLflow UI link; with the MLflow experiment id known, built without a call to MLflow."""
    settings = platform().settings
    base = (settings.mlflow_ui_url or settings.mlflow_tracking_uri).rstrip("/")
    if run_id is None:
        return f"{base}/#/experiments?{ML_WORKFLOW}"
    return platform().tracker.ui_url(run_id, mlflow_experiment_id)


@blueprint.get("/stats")
def stats() -> Response:
    url = mlflow_url()
    return jsonify(_view(("stats", url), lambda docs: dashboard.stats(docs, url)))


@blueprint.get("/dimensions")
def dimensions() -> Response:
    return jsonify(_view(("dimensions",), dashboard.dimensions))


@blueprint.get("/leaderboard")
def leaderboard() -> Response:
    metric = query_str("metric", dashboard.HEADLINE) or dashboard.HEADLINE
    order = query_str("order", "best") or "best"
    page = query_int("page", 1, minimum=1)
    page_size = query_int("page_size", 50, minimum=1, maximum=1000)
    return jsonify(_view(("leaderboard", metric, order, page, page_size), lambda docs: dashboard.leaderboard(
        docs, metric=metric, order=order, page=page, page_size=page_size)))


@blueprint.get("/heatmap")
def heatmap() -> Response:
    metric = query_str("metric", dashboard.HEADLINE) or dashboard.HEADLINE
    x_axis, y_axis = query_str("x_axis") or None, query_str("y_axis") or None
    return jsonify(_view(("heatmap", metric, x_axis, y_axis), lambda docs: dashboard.heatmap(
        docs, metric=metric, x_axis=x_axis, y_axis=y_axis)))


@blueprint.get("/protocols")
def protocols() -> Response:
    """Every protocol (of ``?dataset_id=`` when given) as a group, newest first."""
    dataset_id = query_str("dataset_id")
    return jsonify(ExperimentIndex.of(platform().documents).snapshot().view(
        ("protocols", dataset_id), lambda summaries: {"items": dashboard.protocol_groups(
            _of_dataset(summaries, dataset_id))}))


@blueprint.get("/export.csv")
def export_csv() -> Response:
    """Every experiment (of ``?dataset_id=``, of the statuses asked), whatever its protocol: a protocol column
    says which compare."""
    statuses = tuple(experiments.parse_statuses(query_str("status")))
    dataset_id = query_str("dataset_id")
    text = ExperimentIndex.of(platform().documents).snapshot().view(
        ("export.csv", statuses, dataset_id), lambda summaries: export.experiments_csv(
            [d for d in _of_dataset(summaries, dataset_id) if not statuses or d.get("status") in statuses]))
    response = Response(text, mimetype="text/csv")
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
