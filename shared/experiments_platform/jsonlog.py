"""Structured JSON logs on stdout (Cloud Logging reads ``severity``, ``message`` and the trace field).

``log_context(experiment_id=..., stage=...)`` binds fields to every record logged inside it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from typing import Any

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("log_context", default=None)
_SEVERITY = {"WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL", "INFO": "INFO", "DEBUG": "DEBUG"}


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, project: str | None = None) -> None:
        super().__init__()
        self.service = service
        self.project = project

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, "DEFAULT"),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "service": self.service,
            "logger": record.name,
        }
        entry.update(_context.get() or {})
        entry.update(getattr(record, "fields", {}))
        trace = entry.pop("trace", None)
        if trace and self.project:
            entry["logging.googleapis.com/trace"] = f"projects/{self.project}/traces/{trace}"
        elif trace:
            entry["trace"] = trace
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, project: str | None = None, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service, project))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


COMPONENT_LOGS = "PLATFORM_COMPONENT_LOGS"
"""``json`` in the pipeline image (docker/tfx-pipeline/Dockerfile): the platform's records of a pipeline task are
JSON lines on stdout (``own_records_as_json``); unset elsewhere."""


def own_records_as_json(service: str, logger_name: str = "experiments_platform") -> None:
    """The records of ``logger_name`` and its children as one JSON line each on stdout, fields kept, and not
    through the root logger's handlers. In a Vertex AI pipeline task the root logger is absl's (TFX's executor
    runs under ``absl.app.run``), whose format drops a record's fields: ``split read`` without its rows, ``epoch
    finished`` without its losses. Cloud Logging parses each JSON line into the entry's ``jsonPayload``. Once."""
    logger = logging.getLogger(logger_name)
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def trace_from_header(header: str | None) -> str | None:
    """Trace id from ``X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1``."""
    if not header:
        return None
    return header.split("/", 1)[0] or None


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def fields(**values: Any) -> dict[str, Any]:
    """``logger.info("msg", extra=fields(stage="train"))`` adds fields to one record."""
    return {"fields": values}


def trace_requests(app: Any) -> None:
    """Bind each request's Cloud Trace id (``X-Cloud-Trace-Context``) to the logs of a Flask ``app`` written
    while the request runs."""
    from flask import g, request

    @app.before_request
    def bind_trace() -> None:
        g.log_scope = ExitStack()
        g.log_scope.enter_context(log_context(trace=trace_from_header(request.headers.get("X-Cloud-Trace-Context"))))

    @app.teardown_request
    def unbind_trace(_: BaseException | None) -> None:
        scope = g.pop("log_scope", None)
        if scope is not None:
            scope.close()
