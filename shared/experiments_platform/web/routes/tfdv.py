"""The tfdv_parser service: ``/statistics``, ``/schema`` and ``/report`` of TFX artifacts.

Every route takes its artifact URIs (gs:// or file://, read through the platform's blob store)
from the query string (GET) or a JSON body (POST), and answers what the in-process adapter of
``ports.statistics.StatisticsParser`` answers: it runs that adapter, never the HTTP one (the
service must not call itself when ``PLATFORM_TFDV_PARSER_URL`` is set in its environment).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify

from experiments_platform.adapters.tfdv_in_process import InProcessStatisticsParser
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.tfdv.report import CSP
from experiments_platform.web.args import arguments, text
from experiments_platform.web.context import platform

log = get_logger(__name__)

ARTIFACT_URI = "the gs:// or file:// URI of a TFX artifact"
EXAMPLE = '{"uri": "gs://bucket/path"}'


def _parser() -> InProcessStatisticsParser:
    return InProcessStatisticsParser(platform().blobs)


def _uri() -> str:
    return text(arguments(EXAMPLE), "uri", ARTIFACT_URI) or ""


def register(app: Flask, service: str) -> None:
    blueprint = Blueprint("tfdv", __name__)

    @blueprint.route("/statistics", methods=["GET", "POST"])
    def statistics() -> Response:
        uri = _uri()
        parsed = _parser().statistics(uri)
        log.info("statistics parsed", extra=fields(uri=uri, splits=[s["split"] for s in parsed["splits"]]))
        return jsonify(parsed)

    @blueprint.route("/schema", methods=["GET", "POST"])
    def schema() -> Response:
        uri = _uri()
        parsed = _parser().schema(uri)
        log.info("schema parsed", extra=fields(uri=uri, features=len(parsed["features"])))
        return jsonify(parsed)

    @blueprint.route("/report", methods=["GET", "POST"])
    def report() -> Response:
        values = arguments(EXAMPLE)
        page = _parser().report(text(values, "statistics_uri", ARTIFACT_URI) or "",
                                text(values, "schema_uri", ARTIFACT_URI, required=False),
                                title=text(values, "title", "the page's title", required=False) or "")
        response = Response(page, mimetype="text/html")
        response.headers["Content-Security-Policy"] = CSP
        return response

    app.register_blueprint(blueprint)
