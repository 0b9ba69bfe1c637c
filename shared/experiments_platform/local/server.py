"""gunicorn, the WSGI server the services run under on Cloud Run, for the local stack too (decision 057).

``serve_wsgi(load, bind, ...)`` runs gunicorn's arbiter in this process (it handles SIGINT/SIGTERM)
with ``workers`` processes of the gthread worker. ``load`` runs in each worker, after the fork,
so whatever it builds (the platform, its stores and threads, the all-in-one stack) belongs to the
process that serves with it; ``ready`` runs in the worker once it serves, ``stop`` when it exits.

The gateway's worker runs more threads than its backpressure capacity (``gateway_threads``): the
requests beyond the capacity then reach the app at once and get their 503 from ``web.backpressure``
instead of waiting, unseen, in the worker's queue of accepted connections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

SERVICE_THREADS = 8
"""Threads of an event service's worker, as in docker/service/Dockerfile."""
GRACEFUL_TIMEOUT_S = 30
"""How long a stopping worker may take to finish its requests and close what it started."""


def gateway_threads(max_in_flight: int) -> int:
    """Threads of a gateway worker: twice its backpressure capacity, so refusals never wait (at least 8)."""
    return max(SERVICE_THREADS, 2 * max_in_flight)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, load: Callable[[], WSGIApplication], options: dict[str, Any]) -> None:
        self._load = load
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> WSGIApplication:
        return self._load()


def serve_wsgi(load: Callable[[], WSGIApplication], bind: str, *, workers: int = 1, threads: int = SERVICE_THREADS,
               name: str = "experiments-platform", ready: Callable[[], None] | None = None,
               stop: Callable[[], None] | None = None) -> None:
    """Serve the app ``load`` builds in each worker on ``bind`` (``host:port``) until SIGINT or SIGTERM."""
    options: dict[str, Any] = {
        "bind": [bind],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 0,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "keepalive": 5,
        "proc_name": name,
        "accesslog": None,
        "loglevel": "warning",
    }
    if ready is not None:
        options["post_worker_init"] = lambda worker: ready()
    if stop is not None:
        options["worker_exit"] = lambda server, worker: stop()
    _Gunicorn(load, options).run()
