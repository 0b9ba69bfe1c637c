"""``create_app(platform=None, test_config=None)``: the gateway with its blueprints and error handling."""

from __future__ import annotations

import functools
import time
from typing import Any

from flask import Flask, Response, g, request
from flask_compress import Compress

from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain import estimates
from experiments_platform.handlers.experiments import Estimator
from experiments_platform.jsonlog import fields, get_logger, trace_requests
from experiments_platform.web.gateway.blueprints import configs, dashboard, experiments, insights, system
from experiments_platform.web.gateway.errors import register_error_handlers
from experiments_platform.web.gateway.ui_assets import create_ui_blueprint

log = get_logger("api_gateway")

COMPRESSION: dict[str, Any] = {
    "COMPRESS_MIMETYPES": ["application/json", "text/csv", "text/html", "text/css", "text/javascript",
                           "application/javascript", "image/svg+xml"],
    "COMPRESS_MIN_SIZE": 1024,
}


def create_app(platform: Platform | None = None, test_config: dict[str, Any] | None = None) -> Flask:
    """The gateway app. ``platform`` holds the ports (built from ``PLATFORM_*`` settings when None)."""
    app = Flask(__name__, static_folder=None)
    app.config.from_mapping(JSON_SORT_KEYS=False, **COMPRESSION)
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    platform = platform or Platform.from_env()
    app.extensions["platform"] = platform
    app.extensions["estimator"] = _estimator(platform.settings)

    for blueprint in (system.blueprint, *configs.create_config_blueprints(), experiments.blueprint,
                      insights.blueprint, dashboard.blueprint, create_ui_blueprint(platform.settings.ui_dir)):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    _log_requests(app)
    Compress(app)
    return app


def _estimator(settings: Settings) -> Estimator:
    """Estimates for where the pipeline runs: this machine (no cost) or Vertex AI in the configured region."""
    target: estimates.Target = "local" if settings.pipeline_service == "local" else "vertex"
    return functools.partial(estimates.estimate, target=target, region=settings.gcp_region)


def _log_requests(app: Flask) -> None:
    trace_requests(app)

    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        if request.path.startswith("/api/") or request.path == "/healthz":
            log.info("request", extra=fields(method=request.method, path=request.path,
                                             status=response.status_code, latency_ms=round(elapsed_ms, 1)))
        return response
