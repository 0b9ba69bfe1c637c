"""Backpressure of the gateway (decision 058): at most ``capacity`` requests in flight per worker process.

A request beyond it is answered at once with 503 ``OVERLOADED`` and ``Retry-After``, before Flask
reads it, instead of waiting in a queue that grows while every client times out. The slot is held
while the app builds its response (the views, their JSON, its compression), which is where a request
spends the process's time; sending it is the WSGI server's thread's (the local server runs more
threads than ``capacity`` for that, ``local.server``).
``/healthz`` is never refused: a probe of a busy worker must not restart it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from experiments_platform.errors import Overloaded
from experiments_platform.jsonlog import fields, get_logger

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = get_logger(__name__)
RETRY_AFTER_S = 1
EXEMPT_PATHS = frozenset({"/healthz"})


class InFlightLimit:
    """WSGI middleware: ``app`` runs for at most ``capacity`` requests at once; the others get a 503."""

    def __init__(self, app: WSGIApplication, capacity: int, *, retry_after_s: int = RETRY_AFTER_S,
                 exempt: frozenset[str] = EXEMPT_PATHS) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.app = app
        self.capacity = capacity
        self.retry_after_s = retry_after_s
        self.exempt = exempt
        self.refused = 0
        self._slots = threading.BoundedSemaphore(capacity)
        self._status, self._headers, self._body = overloaded_answer(
            f"the gateway is serving as many requests as it can ({capacity} at once per worker); "
            f"retry after {retry_after_s} s", retry_after_s)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in self.exempt:
            return self.app(environ, start_response)
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            log.debug("request refused: at capacity", extra=fields(path=environ.get("PATH_INFO"),
                                                                   capacity=self.capacity))
            start_response(self._status, list(self._headers))
            return [self._body]
        try:
            return self.app(environ, start_response)
        finally:
            self._slots.release()


def overloaded_answer(message: str, retry_after_s: int = RETRY_AFTER_S) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, headers and JSON body of a 503 ``OVERLOADED`` with ``Retry-After``."""
    error = Overloaded(message)
    body = json.dumps(error.to_dict()).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
               ("Retry-After", str(retry_after_s)), ("X-Content-Type-Options", "nosniff")]
    return f"{error.status} Service Unavailable", headers, body


def limit_in_flight(app: Any, capacity: int) -> None:
    """Wrap ``app``'s WSGI callable in ``InFlightLimit`` (``capacity`` 0: no limit)."""
    if capacity > 0:
        app.wsgi_app = InFlightLimit(app.wsgi_app, capacity)
