"""Training history, component logs, artifacts, data insights and the statistics report of an experiment.

Read through ``gateway.reader``: in-process, or from the artifact_reader service when its URL is set; the
statistics and schema are parsed, and the report page rendered, by tfdv_parser behind the artifact reader.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from experiments_platform.errors import NotFound
from experiments_platform.handlers import artifact_reader
from experiments_platform.handlers.experiments import get_experiment
from experiments_platform.tfdv.report import CSP
from experiments_platform.web.gateway import reader
from experiments_platform.web.gateway.context import platform
from experiments_platform.web.gateway.http import query_int

blueprint = Blueprint("insights", __name__, url_prefix="/api/experiments/<experiment_id>")


@blueprint.get("/training-history")
def training_history(experiment_id: str) -> Response:
    return jsonify(reader.read(platform(), experiment_id, "training-history"))


@blueprint.get("/artifacts")
def artifacts(experiment_id: str) -> Response:
    return jsonify(reader.read(platform(), experiment_id, "artifacts"))


@blueprint.get("/logs/<component>")
def component_logs(experiment_id: str, component: str) -> Response:
    lines = query_int("lines", 200, minimum=1, maximum=artifact_reader.MAX_LOG_LINES)
    return jsonify(reader.component_logs(platform(), experiment_id, component, lines))


def _optional(view: str, experiment_id: str) -> tuple[Any, str | None]:
    try:
        return reader.read(platform(), experiment_id, view), None
    except NotFound as exc:
        return None, exc.message


@blueprint.get("/data-insights")
def data_insights(experiment_id: str) -> Response:
    doc = get_experiment(platform().documents, experiment_id)
    statistics, statistics_missing = _optional("statistics", experiment_id)
    schema, schema_missing = _optional("schema", experiment_id)
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
    response = Response(reader.statistics_report(platform(), experiment_id), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    return response
