"""The one place where errors become HTTP answers: ``{"error_code", "message", "field", "suggestions"}``.

- ``PlatformError``: its code and status (logged at ERROR when the status is 5xx);
- pydantic ``ValidationError``: 400 ``INVALID_INPUT`` naming the first bad field, every problem in
  ``details.errors``;
- werkzeug ``HTTPException`` (unknown route, wrong method, body too large, ``abort``): its status, its
  name as the code, its headers (``Allow`` of a 405);
- ``RecursionError``: 400, a request nested too deeply for Python (a push body; API bodies are
  bounded by ``web.app.MAX_JSON_DEPTH`` before that);
- anything else: 500 ``INTERNAL_ERROR``, the stack in the service's log and never in the answer.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from experiments_platform.errors import InvalidInput, PlatformError
from experiments_platform.handlers.configs import invalid_input
from experiments_platform.jsonlog import fields, get_logger

log = get_logger(__name__)


def internal_error(service: str) -> dict[str, Any]:
    """The answer to an unexpected failure: nothing of the exception, where to look instead."""
    return {"error_code": "INTERNAL_ERROR", "message": f"internal error; see the {service} service's logs"}


def _answer(body: dict[str, Any], status: int) -> tuple[Response, int]:
    return jsonify(body), status


def register_error_handlers(app: Flask, service: str) -> None:
    @app.errorhandler(PlatformError)
    def platform_error(exc: PlatformError) -> tuple[Response, int]:
        if exc.status >= 500:
            log.error("request failed", extra=fields(error_code=exc.code, error=exc.message))
        response, status = _answer(exc.to_dict(), exc.status)
        retry_after_s = getattr(exc, "retry_after_s", None)
        if retry_after_s is not None:
            response.headers["Retry-After"] = str(retry_after_s)
        return response, status

    @app.errorhandler(ValidationError)
    def validation_error(exc: ValidationError) -> tuple[Response, int]:
        error = invalid_input(exc)
        return _answer(error.to_dict(), error.status)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        code = (exc.name or "error").upper().replace(" ", "_")
        response, status = _answer({"error_code": code, "message": exc.description or exc.name}, exc.code or 500)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(RecursionError)
    def too_deep(exc: RecursionError) -> tuple[Response, int]:
        log.warning("request nested too deeply", extra=fields(error=str(exc)))
        error = InvalidInput("the request nests too deeply to be read; send a flatter body", field="body")
        return _answer(error.to_dict(), error.status)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unexpected error", extra=fields(error=str(exc)))
        return _answer(internal_error(service), 500)
