"""gunicorn, the WSGI server the services run under on Cloud Run, for the local stack too (decision 057).

``serve_wsgi(load, bind, ...)`` runs gunicorn's arbiter in this process (it handles SIGINT/SIGTERM)
with ``workers`` processes of the gthread worker. ``load`` runs in each worker, after the fork,
so whatever it builds (the platform, its stores and threads, the all-in-one stack) belongs to the
process that serves with it; ``ready`` runs in the worker once it serves, ``stop`` when it exits.

The gateway's worker runs more threads than its backpressure capacity (``gateway_threads``): the
requests beyond the capacity then reach the app at once and get their 503 from ``web.backpressure``
instead of waiting, unseen, in the worker's queue of accepted connections. When even those threads
are all taken (the process cannot refuse as fast as requests arrive), ``SheddingThreadWorker``
answers 503 at accept time, once ``max_queued`` connections already wait for a thread (decision 097).
"""

from __future__ import annotations

import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from experiments_platform.web.backpressure import EXEMPT_PATHS, RETRY_AFTER_S, overloaded_answer

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

SERVICE_THREADS = 8
"""Threads of an event service's worker, as in docker/service/Dockerfile."""
GRACEFUL_TIMEOUT_S = 30
"""How long a stopping worker may take to finish its requests and close what it started."""


def gateway_threads(max_in_flight: int) -> int:
    """Threads of a gateway worker: twice its backpressure capacity, so refusals never wait (at least 8)."""
    return max(SERVICE_THREADS, 2 * max_in_flight)


_HEAD_END = b"\r\n\r\n"
_PEEK_BYTES = 65536
_BODY_HEADER = re.compile(rb"^(content-length|transfer-encoding)[ \t]*:[ \t]*(\S*)", re.IGNORECASE | re.MULTILINE)


def shed_answer(max_queued: int, retry_after_s: int = RETRY_AFTER_S) -> bytes:
    """The whole HTTP/1.1 answer a shed connection gets: 503 OVERLOADED, Retry-After, Connection: close."""
    status, headers, body = overloaded_answer(
        f"the gateway has as many requests waiting as it queues ({max_queued} per worker); "
        f"retry after {retry_after_s} s", retry_after_s)
    head = "".join(f"{name}: {value}\r\n" for name, value in [*headers, ("Connection", "close")])
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode("latin-1") + body


def complete_request(data: bytes) -> int:
    """Length of the one whole request at the start of ``data`` (headers, and a body of a stated
    Content-Length), 0 when it is not whole yet or its body is chunked or larger than a peek."""
    end = data.find(_HEAD_END)
    if end < 0:
        return 0
    length = 0
    for name, value in _BODY_HEADER.findall(data[:end]):
        if name.lower() == b"transfer-encoding" or not value.isdigit():
            return 0
        length = int(value)
    total = end + len(_HEAD_END) + length
    return total if total <= len(data) else 0


def request_path(data: bytes) -> str:
    """The path of a request line (``GET /healthz?x HTTP/1.1`` → ``/healthz``)."""
    parts = data.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].split(b"?", 1)[0].decode("latin-1") if len(parts) > 1 else ""


class SheddingThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker with a bound on the connections waiting for a thread.

    gthread accepts connections (up to ``worker_connections``, 1,000) and queues them for its threads
    without bound: beyond what the process can serve, or even refuse, every request waits there
    unseen and clients time out. Here, once ``max_queued`` connections wait for a thread, the
    accepting thread answers a new request itself, from bytes it already holds: 503 ``OVERLOADED``,
    ``Retry-After``, ``Connection: close``, without parsing it into a WSGI request (a few syscalls,
    several times cheaper than a refusal by ``web.backpressure`` on a thread). It answers only a
    request that arrived whole (headers and any stated body, read with ``MSG_PEEK`` and then
    consumed, so closing sends no reset); a connection whose request has not arrived yet waits for
    it on the poller (not on a thread) and is decided then; ``/healthz`` and a request only partly
    arrived wait for a thread.
    """

    max_queued = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queued = 0
        self.shed = 0
        self._queued_lock = threading.Lock()
        self._answer = shed_answer(self.max_queued)

    def enqueue_req(self, conn: Any) -> None:
        if self.max_queued and self.queued >= self.max_queued and self._shed(conn):
            return
        with self._queued_lock:
            self.queued += 1
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        with self._queued_lock:
            self.queued -= 1
        return super().handle(conn)

    def _shed(self, conn: Any) -> bool:
        """Answer ``conn``'s request with a 503 and close it; False (nothing read) when it must wait."""
        sock = conn.sock
        try:
            sock.setblocking(False)
            data: bytes | None = sock.recv(_PEEK_BYTES, socket.MSG_PEEK)
        except BlockingIOError:
            self._park(conn)  # nothing arrived yet: decided again when it has
            return True
        except OSError:
            data = None
        if data:
            length = complete_request(data)
            if not length or request_path(data) in EXEMPT_PATHS:
                sock.setblocking(True)
                return False
            try:
                sock.recv(length)
                sock.send(self._answer)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.shed += 1
        self.nr_conns -= 1
        conn.close()
        return True

    def _park(self, conn: Any) -> None:
        """Wait on the poller, not on a thread, for the request of a connection accepted before it
        arrived (as gthread does with a connection that sent nothing yet); it comes back here then."""
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))


def shedding_worker(max_queued: int) -> type[SheddingThreadWorker]:
    """A ``SheddingThreadWorker`` class bound to ``max_queued`` (gunicorn instantiates the class itself)."""
    return type("SheddingThreadWorker", (SheddingThreadWorker,), {"max_queued": max_queued})


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
               stop: Callable[[], None] | None = None, max_queued: int = 0) -> None:
    """Serve the app ``load`` builds in each worker on ``bind`` (``host:port``) until SIGINT or SIGTERM;
    with ``max_queued``, requests beyond the threads and that many waiting connections get a 503 at once."""
    options: dict[str, Any] = {
        "bind": [bind],
        "workers": workers,
        "threads": threads,
        "worker_class": shedding_worker(max_queued) if max_queued > 0 else "gthread",
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
