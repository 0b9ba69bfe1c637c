"""Google ID tokens on every MLflow request to a tracking server on Cloud Run (``https://``).

MLflow on GCP accepts only Google ID tokens (docs/decisions/031). ``use_google_id_tokens(uri)``
plugs ``GoogleIdTokenAuthProvider`` into MLflow's request auth providers (the
``mlflow.request_auth_provider`` plugin mechanism) and selects it through ``MLFLOW_TRACKING_AUTH``,
so MLflow asks it for a ``requests`` auth object on each request; that object sets
``Authorization: Bearer <ID token>`` for the request's origin, from ``id_tokens`` (cached, fetched
again before it expires, so long trainings keep logging). ``http://`` URIs (local servers) are
left alone.

Call it once per process before the first MLflow request: the tracker adapter does, and so should
the trainer (``use_google_id_tokens(spec.mlflow.tracking_uri)``). ``auth_for(uri)`` serves plain
``requests`` calls to the same server (the ``/health`` probe).
"""

from __future__ import annotations

import os
import threading

import requests

from experiments_platform.adapters.id_tokens import IdTokens, default_tokens, needs_token

PROVIDER_NAME = "google-id-token"
AUTH_VARIABLE = "MLFLOW_TRACKING_AUTH"

_state: dict[str, IdTokens] = {}
_lock = threading.Lock()


def _tokens() -> IdTokens:
    return _state.get("tokens") or default_tokens()


class GoogleIdTokenAuth(requests.auth.AuthBase):
    """Sets a Google ID token for the request's origin on https requests."""

    def __init__(self, tokens: IdTokens | None = None) -> None:
        self.tokens = tokens

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update((self.tokens or _tokens()).headers(request.url or ""))
        return request


class GoogleIdTokenAuthProvider:
    """An MLflow request auth provider (``get_name``/``get_auth``, as ``mlflow.tracking.request_auth`` expects)."""

    def get_name(self) -> str:
        return PROVIDER_NAME

    def get_auth(self) -> GoogleIdTokenAuth:
        return GoogleIdTokenAuth()


def use_google_id_tokens(tracking_uri: str, tokens: IdTokens | None = None) -> bool:
    """Make every MLflow request of this process to an https ``tracking_uri`` carry an ID token.

    ``tokens`` replaces the process-wide token source (tests inject a fetcher). Returns whether
    tokens are used (False for http and local URIs, which need none).
    """
    if not needs_token(tracking_uri):
        return False
    from mlflow.tracking.request_auth.registry import _request_auth_provider_registry as registry

    with _lock:
        if tokens is not None:
            _state["tokens"] = tokens
        if not any(provider.get_name() == PROVIDER_NAME for provider in registry):
            registry.register(GoogleIdTokenAuthProvider)
        os.environ[AUTH_VARIABLE] = PROVIDER_NAME
    return True


def auth_for(url: str, tokens: IdTokens | None = None) -> GoogleIdTokenAuth | None:
    """The auth for a plain ``requests`` call to the tracking server; None on http."""
    return GoogleIdTokenAuth(tokens) if needs_token(url) else None
