"""One app shape for every service: ``create_app(service)`` and the service's route modules.

Each service is a Flask app with the same JSON settings, one structured log line per request
(method, path, status, latency, bound to the request's Cloud Trace id), ``GET /healthz``, the one
error mapping of ``web.errors`` and ``X-Content-Type-Options: nosniff`` on every answer, and the
same request limits (``_limit_requests``, decision 051): a body above the service's limit is a 413
before any view reads it (the gateway's ``PLATFORM_API_MAX_BODY_BYTES``, 1 MB by default; the
largest push a 10 MB Pub/Sub message makes for the event services; a view may carry its own
``max_body_bytes``, as the upload does), JSON nested deeper than ``MAX_JSON_DEPTH`` is a 400, and a
method a route does not have is a 405 with ``Allow``; OPTIONS lists only a route's methods. The gateway
serves at most ``PLATFORM_GATEWAY_MAX_IN_FLIGHT`` requests at once per process and answers the others
503 with ``Retry-After`` at once (``web.backpressure``, decision 058), and answers the reads of the
experiment index from the answers kept with its snapshot (``web.snapshot_responses``, decision 059). Its routes
come from the route modules ``ROUTES`` names for it, each offering ``register(app, service)``. A
module is imported only by the services that use it, so an image needs only its own requirements.

``services/<name>/main.py`` calls ``create_service_app(name)`` (JSON logs, settings from the
environment) and hands the app to gunicorn, or to functions-framework through ``as_function``.
"""

from __future__ import annotations

import importlib
import io
import logging
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, NoReturn

from flask import Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import MethodNotAllowed, RequestEntityTooLarge

from experiments_platform.bootstrap import Platform
from experiments_platform.config import PUBSUB_MAX_PUSH_BYTES, load_settings
from experiments_platform.domain.base import iso_utc
from experiments_platform.errors import InvalidInput
from experiments_platform.jsonlog import configure_logging, fields, get_logger, trace_requests
from experiments_platform.web.auth import iap_verified
from experiments_platform.web.backpressure import limit_in_flight
from experiments_platform.web.errors import register_error_handlers
from experiments_platform.web.snapshot_responses import keep_snapshot_answers

log = get_logger(__name__)

ROUTES: Mapping[str, tuple[str, ...]] = {
    "api_gateway": ("experiments_platform.web.gateway",),
    "submitter": ("experiments_platform.web.routes.push",),
    "status_watcher": ("experiments_platform.web.routes.push", "experiments_platform.web.routes.reconcile"),
    "artifact_reader": ("experiments_platform.web.routes.artifacts",),
    "tfdv_parser": ("experiments_platform.web.routes.tfdv",),
}
"""Service → the modules whose ``register(app, service)`` adds its routes."""

PUSH_MAX_BODY_BYTES = PUBSUB_MAX_PUSH_BYTES * 4 // 3 + 64 * 1024
"""The largest push request a Pub/Sub message can make: 10 MB of data, base64-encoded in the envelope."""
MAX_JSON_DEPTH = 64
"""Nesting of JSON bodies: the platform's own documents nest 5 levels; deeper is refused, never a 500."""


def _iso_default(value: Any) -> Any:
    """A datetime or date in an answer as ISO 8601 (Flask's default writes HTTP dates: ``Fri, 04 Dec 2026 ...``)."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return DefaultJSONProvider.default(value)


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with a nesting bound on what it parses (deeper bodies are an ``InvalidInput``), writing
    dates as ISO 8601 like every stored document."""

    default = staticmethod(_iso_default)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            value = None
            depth = MAX_JSON_DEPTH + 1
        else:
            depth = json_depth(value)
        if depth > MAX_JSON_DEPTH:
            raise InvalidInput(f"the JSON body nests more than {MAX_JSON_DEPTH} levels deep; send a flatter body",
                               field="body")
        return value


class PlatformFlask(Flask):
    """Flask whose fixed paths win over a path parameter's: ``/api/experiments/compare`` is POST only.

    Werkzeug routes ``GET /api/experiments/compare`` to ``GET /api/experiments/<experiment_id>``
    (and its automatic OPTIONS lists both rules' methods); here a path that some rule names
    literally has that rule's methods and no other, so a wrong method is a 405 with ``Allow``.
    """

    def fixed_path_methods(self, path: str) -> list[str] | None:
        methods = {m for rule in self.url_map.iter_rules() if not rule.arguments and rule.rule == path
                   for m in rule.methods or ()}
        return sorted(methods | {"OPTIONS"}) if methods else None

    def raise_routing_exception(self, request: Any) -> NoReturn:
        fixed = self.fixed_path_methods(request.path)
        if fixed and isinstance(request.routing_exception, MethodNotAllowed):
            raise MethodNotAllowed(valid_methods=fixed)
        super().raise_routing_exception(request)

    def make_default_options_response(self) -> Response:
        response = super().make_default_options_response()
        fixed = self.fixed_path_methods(request.path)
        if fixed:
            response.allow.clear()
            response.allow.update(fixed)
        return response


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (a scalar is 0), found without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_JSON_DEPTH:
            stack.extend((child, depth + 1) for child in children)
    return deepest


def create_app(service: str, platform: Platform | None = None, *,
               test_config: Mapping[str, Any] | None = None) -> Flask:
    """The app of ``service``; ``platform`` holds its ports (from the ``PLATFORM_*`` settings when None).

    Building a ``Platform`` creates no cloud client: each adapter is built on its first use.
    """
    if service not in ROUTES:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(ROUTES)}")
    app = PlatformFlask(service, static_folder=None)
    app.json = BoundedJSONProvider(app)
    app.extensions["platform"] = platform = platform or Platform.from_env()
    body_limit = platform.settings.api_max_body_bytes if service == "api_gateway" else PUSH_MAX_BODY_BYTES
    app.config.from_mapping(JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=body_limit)
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok", "service": service})

    for module in ROUTES[service]:
        importlib.import_module(module).register(app, service)
    register_error_handlers(app, service)
    _limit_requests(app)
    _log_requests(app)
    if service == "api_gateway":
        keep_snapshot_answers(app, platform.documents, verified=iap_verified(platform.settings))
        limit_in_flight(app, platform.settings.gateway_max_in_flight)
    return app


def _limit_requests(app: PlatformFlask) -> None:
    @app.before_request
    def prefer_fixed_paths() -> None:
        if request.url_rule is not None and request.url_rule.arguments:
            fixed = app.fixed_path_methods(request.path)
            if fixed:
                raise MethodNotAllowed(valid_methods=fixed)

    @app.before_request
    def refuse_large_bodies() -> None:
        view = app.view_functions.get(request.endpoint or "")
        own_limit = getattr(view, "max_body_bytes", None)
        own_limit = own_limit() if callable(own_limit) else own_limit
        limit = own_limit or app.config["MAX_CONTENT_LENGTH"]
        request.max_content_length = limit
        too_large = f"this endpoint takes at most {limit} bytes"
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge(f"the request body is {request.content_length} bytes; {too_large}")
        if request.content_length is None and not own_limit and len(request.get_data(cache=True)) >= limit:
            raise RequestEntityTooLarge(f"the request body (chunked) reaches the limit; {too_large}")


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
        level = logging.WARNING if response.status_code >= 500 else logging.DEBUG
        log.log(level, "request", extra=fields(method=request.method, path=request.path,
                                               status=response.status_code, latency_ms=round(elapsed_ms, 1)))
        return response
