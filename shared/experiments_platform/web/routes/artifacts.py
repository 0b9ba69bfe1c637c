"""The artifact_reader service: ``/experiments/{id}/{view}``, ``/logs/{component}``, ``/statistics-report``.

Each route answers what ``handlers.artifact_reader`` answers in-process, so the gateway's
``ArtifactReader`` port reads the same over HTTP (``adapters.artifact_reader_client``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, jsonify

from experiments_platform.bootstrap import Platform
from experiments_platform.handlers import artifact_reader
from experiments_platform.ports.artifact_reader import DEFAULT_LOG_LINES
from experiments_platform.tfdv.report import CSP
from experiments_platform.web.args import query_int
from experiments_platform.web.context import platform


def _view(read: Callable[[Platform, str], dict[str, Any]]) -> Callable[[str], Response]:
    def view(experiment_id: str) -> Response:
        return jsonify(read(platform(), experiment_id))

    return view


def register(app: Flask, service: str) -> None:
    blueprint = Blueprint("artifacts", __name__, url_prefix="/experiments/<experiment_id>")
    for name, read in artifact_reader.VIEWS.items():
        blueprint.add_url_rule(f"/{name}", name, _view(read))

    @blueprint.get("/logs/<component>")
    def logs(experiment_id: str, component: str) -> Response:
        lines = query_int("lines", DEFAULT_LOG_LINES, minimum=1, maximum=artifact_reader.MAX_LOG_LINES)
        return jsonify(artifact_reader.component_logs(platform(), experiment_id, component, lines))

    @blueprint.get("/statistics-report")
    def statistics_report(experiment_id: str) -> Response:
        response = Response(artifact_reader.statistics_report(platform(), experiment_id), mimetype="text/html")
        response.headers["Content-Security-Policy"] = CSP
        return response

    app.register_blueprint(blueprint)
