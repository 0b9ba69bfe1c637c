"""Training history, component logs, artifacts, data insights and the statistics report of an experiment.

Read through the platform's ``ArtifactReader`` port: in-process, or from the artifact_reader service when
its URL is set; the statistics and schema are parsed, and the report page rendered, by tfdv_parser behind
the artifact reader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify

from experiments_platform.errors import NotFound
from experiments_platform.handlers import artifact_reader
from experiments_platform.handlers.experiments import get_experiment
from experiments_platform.ports.artifact_reader import DEFAULT_LOG_LINES
from experiments_platform.tfdv.report import CSP
from experiments_platform.web.args import query_int
from experiments_platform.web.context import platform

blueprint = Blueprint("insights", __name__, url_prefix="/api/experiments/<experiment_id>")


@blueprint.get("/training-history")
def training_history(experiment_id: str) -> Response:
    return jsonify(platform().artifact_reader.training_history(experiment_id))


@blueprint.get("/artifacts")
def artifacts(experiment_id: str) -> Response:
    return jsonify(platform().artifact_reader.artifacts(experiment_id))


@blueprint.get("/logs/<component>")
def component_logs(experiment_id: str, component: str) -> Response:
    lines = query_int("lines", DEFAULT_LOG_LINES, minimum=1, maximum=artifact_reader.MAX_LOG_LINES)
    return jsonify(platform().artifact_reader.component_logs(experiment_id, component, lines))


def _optional(read: Callable[[str], dict[str, Any]], experiment_id: str) -> tuple[Any, str | None]:
    try:
        return read(experiment_id), None
    except NotFound as exc:
        return None, exc.message


@blueprint.get("/data-insights")
def data_insights(experiment_id: str) -> Response:
    doc = get_experiment(platform().documents, experiment_id)
    reader = platform().artifact_reader
    statistics, statistics_missing = _optional(reader.statistics, experiment_id)
    schema, schema_missing = _optional(reader.schema, experiment_id)
    return jsonify({
        "experiment_id": experiment_id,
        "statistics": statistics,
        "schema": schema,
        "vocabularies": (doc.get("results") or {}).get("vocabularies"),
        "missing": {k: v for k, v in (("statistics", statistics_missing), ("schema", schema_missing)) if v},
        "report_url": f"/api/experiments/{experiment_id}/statistics-report",
    })


@blueprint.get("/statistics-report")
def statistics_report(experiment_id: str) -> Response:
    response = Response(platform().artifact_reader.statistics_report(experiment_id), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    return response
