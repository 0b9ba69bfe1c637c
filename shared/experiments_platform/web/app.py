"""One app shape for every service: ``create_app(service)`` and the service's route modules.

Each service is a Flask app with the same JSON settings, one structured log line per request
(method, path, status, latency, bound to the request's Cloud Trace id), ``GET /healthz``, the one
error mapping of ``web.errors`` and ``X-Content-Type-Options: nosniff`` on every answer; its routes
come from the route modules ``ROUTES`` names for it, each offering ``register(app, service)``. A
module is imported only by the services that use it, so an image needs only its own requirements.

``services/<name>/main.py`` calls ``create_service_app(name)`` (JSON logs, settings from the
environment) and hands the app to gunicorn, or to functions-framework through ``as_function``.
"""

from __future__ import annotations

import importlib
import io
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, g, jsonify, request

from experiments_platform.bootstrap import Platform
from experiments_platform.config import load_settings
from experiments_platform.jsonlog import configure_logging, fields, get_logger, trace_requests
from experiments_platform.web.errors import register_error_handlers

log = get_logger(__name__)

ROUTES: Mapping[str, tuple[str, ...]] = {
    "api_gateway": ("experiments_platform.web.gateway",),
    "submitter": ("experiments_platform.web.routes.push",),
    "status_watcher": ("experiments_platform.web.routes.push", "experiments_platform.web.routes.reconcile"),
    "artifact_reader": ("experiments_platform.web.routes.artifacts",),
    "tfdv_parser": ("experiments_platform.web.routes.tfdv",),
}
"""Service → the modules whose ``register(app, service)`` adds its routes."""


def create_app(service: str, platform: Platform | None = None, *,
               test_config: Mapping[str, Any] | None = None) -> Flask:
    """The app of ``service``; ``platform`` holds its ports (from the ``PLATFORM_*`` settings when None).

    Building a ``Platform`` creates no cloud client: each adapter is built on its first use.
    """
    if service not in ROUTES:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(ROUTES)}")
    app = Flask(service, static_folder=None)
    app.config.from_mapping(JSON_SORT_KEYS=False)
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["platform"] = platform or Platform.from_env()

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok", "service": service})

    for module in ROUTES[service]:
        importlib.import_module(module).register(app, service)
    register_error_handlers(app, service)
    _log_requests(app)
    return app


def create_service_app(service: str) -> Flask:
    """What ``services/<service>/main.py`` serves: JSON logs for ``service``, settings from the environment."""
    settings = load_settings()
    configure_logging(service, settings.gcp_project)
    return create_app(service, Platform(settings))


def as_function(app: Flask) -> Callable[[Any], Any]:
    """An HTTP function for ``functions-framework`` that serves every route of ``app``."""

    def function(req: Any) -> Any:
        body = req.get_data()
        environ = {**req.environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        with app.request_context(environ):
            return app.full_dispatch_request()

    return function


def _log_requests(app: Flask) -> None:
    trace_requests(app)

    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log.info("request", extra=fields(method=request.method, path=request.path, status=response.status_code,
                                         latency_ms=round(elapsed_ms, 1)))
        return response
