"""Answers of the index-backed reads, kept whole per snapshot of the experiments (decision 059).

The experiments list and the dashboard's views are functions of the experiment summaries
(``repositories.experiment_index``) and of the query string only. Between two changes of the
experiments, the same GET gets the same answer, so the answer itself (status, headers, body as
compressed for the client) is kept with the index's ``Snapshot`` and sent again without running
Flask's view, its JSON encoding or its compression. A change of any experiment makes a new
snapshot, and the next request computes afresh. Only 200 answers are kept.

A route added to ``PATHS`` must answer from the summaries and its query string alone (no other
collection, no setting that changes while the process runs, nothing about the caller). A kept answer
is sent before Flask's own checks run, so when the gateway checks IAP assertions, the request's
assertion is verified first (``verified``); an unverified request goes to Flask, which refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from experiments_platform.ports.documents import DocumentStore
from experiments_platform.repositories.experiment_index import ExperimentIndex

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PATHS = frozenset({
    "/api/experiments", "/api/experiments/selectable",
    "/api/dashboard/stats", "/api/dashboard/dimensions", "/api/dashboard/leaderboard", "/api/dashboard/heatmap",
    "/api/dashboard/export.csv",
})


class SnapshotResponses:
    """WSGI middleware: a GET of ``PATHS`` answered from the current snapshot's kept answer when there is one."""

    def __init__(self, app: WSGIApplication, documents: DocumentStore, paths: frozenset[str] = PATHS,
                 verified: Callable[[Mapping[str, Any]], bool] | None = None) -> None:
        self.app = app
        self.documents = documents
        self.paths = paths
        self.verified = verified

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "GET" or path not in self.paths:
            return self.app(environ, start_response)
        if self.verified is not None and not self.verified(environ):
            return self.app(environ, start_response)
        try:
            snapshot = ExperimentIndex.of(self.documents).snapshot()
        except Exception:  # noqa: BLE001 - the view meets the same failure inside Flask: its one error mapping answers
            return self.app(environ, start_response)
        key = ("answer", path, environ.get("QUERY_STRING", ""), _encoding(environ))
        kept = snapshot.kept(key)
        if kept is not None:
            status, headers, body = kept
            start_response(status, list(headers))
            return [body]
        answered: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.update(status=status, headers=list(headers))
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if str(answered.get("status", "")).startswith("200"):
            snapshot.keep(key, (answered["status"], tuple(answered["headers"]), body))
        return [body]


def _encoding(environ: WSGIEnvironment) -> str:
    """The compression the answer was made for (flask-compress chooses from ``Accept-Encoding``)."""
    return str(environ.get("HTTP_ACCEPT_ENCODING", "")).replace(" ", "").lower()


def keep_snapshot_answers(app: Any, documents: DocumentStore,
                          verified: Callable[[Mapping[str, Any]], bool] | None = None) -> None:
    """Wrap ``app``'s WSGI callable in ``SnapshotResponses`` over ``documents``' experiment index, sending kept
    answers only to requests ``verified`` admits (``web.auth.iap_verified``; None: every request)."""
    app.wsgi_app = SnapshotResponses(app.wsgi_app, documents, verified=verified)
