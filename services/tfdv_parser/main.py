"""tfdv_parser: TFX statistics and schema artifacts as JSON, and the offline statistics report page.

Run: ``gunicorn --bind :8080 main:app`` or ``functions-framework --target=tfdv_parser``.
Every endpoint takes its artifact URIs (gs:// or file://) from the query string (GET) or a JSON
body (POST); the logic lives in ``experiments_platform.tfdv``.
"""

from __future__ import annotations

from typing import Any

from experiments_platform.config import Settings, load_settings
from experiments_platform.errors import InvalidInput, PlatformError
from experiments_platform.jsonlog import configure_logging, fields, get_logger, trace_requests
from experiments_platform.tfdv import load_schema, load_statistics, render_report
from experiments_platform.tfdv.artifacts import BlobReader, default_blob_reader
from experiments_platform.tfdv.report import CSP
from experiments_platform.web.push import as_function
from flask import Flask, Response, jsonify, request

logger = get_logger(__name__)


def _arguments() -> dict[str, Any]:
    if request.method == "POST":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidInput("the POST body must be a JSON object such as {\"uri\": \"gs://...\"}", field="body")
        return body
    return request.args.to_dict()


def _text(arguments: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = arguments.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{name} is required: the gs:// or file:// URI of a TFX artifact", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, got {type(value).__name__}", field=name)
    return value


def create_app(settings: Settings | None = None, blobs: BlobReader | None = None) -> Flask:
    """The service; ``blobs`` defaults to the platform's blob store, built on the first request."""
    settings = settings or load_settings()
    app = Flask(__name__)
    reader: dict[str, BlobReader] = {"blobs": blobs} if blobs is not None else {}

    def store() -> BlobReader:
        if "blobs" not in reader:
            reader["blobs"] = default_blob_reader(settings)
        return reader["blobs"]

    @app.errorhandler(PlatformError)
    def platform_error(error: PlatformError) -> tuple[Response, int]:
        logger.warning("request failed: %s", error.message)
        return jsonify(error.to_dict()), error.status

    trace_requests(app)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", service="tfdv_parser")

    @app.route("/statistics", methods=["GET", "POST"])
    def statistics() -> Response:
        uri = _text(_arguments(), "uri") or ""
        parsed = load_statistics(store(), uri)
        logger.info("statistics parsed", extra=fields(uri=uri, splits=[s.split for s in parsed.splits]))
        return jsonify(parsed.model_dump(mode="json"))

    @app.route("/schema", methods=["GET", "POST"])
    def schema() -> Response:
        uri = _text(_arguments(), "uri") or ""
        parsed = load_schema(store(), uri)
        logger.info("schema parsed", extra=fields(uri=uri, features=len(parsed.features)))
        return jsonify(parsed.model_dump(mode="json"))

    @app.route("/report", methods=["GET", "POST"])
    def report() -> Response:
        arguments = _arguments()
        statistics_uri = _text(arguments, "statistics_uri") or ""
        schema_uri = _text(arguments, "schema_uri", required=False)
        title = _text(arguments, "title", required=False) or ""
        page = render_report(
            load_statistics(store(), statistics_uri),
            load_schema(store(), schema_uri) if schema_uri else None,
            title=title,
        )
        response = Response(page, mimetype="text/html")
        response.headers["Content-Security-Policy"] = CSP
        return response

    return app


_app: Flask | None = None


def _shared_app() -> Flask:
    global _app
    if _app is None:
        settings = load_settings()
        configure_logging("tfdv_parser", settings.gcp_project)
        _app = create_app(settings)
    return _app


def tfdv_parser(req: Any) -> Any:
    """functions-framework entry point: hand the request to the Flask app."""
    return as_function(_shared_app())(req)


def __getattr__(name: str) -> Flask:
    """``main:app`` for gunicorn, built on first access rather than at import."""
    if name == "app":
        return _shared_app()
    raise AttributeError(name)
