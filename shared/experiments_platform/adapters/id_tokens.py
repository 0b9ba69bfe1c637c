"""Google ID tokens for calls to private Cloud Run services, cached and refreshed before they expire.

A Cloud Run service that is not public accepts a request only with a Google-signed ID token whose
audience is the service URL. ``IdTokens.headers(url)`` gives the ``Authorization`` header for an
``https://`` URL (audience: the URL's origin, ``https://host[:port]``) and nothing for ``http://``
URLs (local services, emulators). Tokens come from ``google.oauth2.id_token.fetch_id_token`` (the
metadata server on Cloud Run and Vertex AI, a service account key or ``gcloud`` credentials
elsewhere) unless a fetcher is injected, and are reused until ``refresh_margin_s`` before the
``exp`` claim (Google ID tokens live one hour).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from urllib.parse import urlparse

TokenFetcher = Callable[[str], str]
"""audience → ID token."""

DEFAULT_LIFETIME_S = 3600.0
REFRESH_MARGIN_S = 300.0


def google_fetcher(audience: str) -> str:
    """An ID token for ``audience`` from the ambient Google credentials."""
    import google.auth.transport.requests
    import google.oauth2.id_token

    token = google.oauth2.id_token.fetch_id_token(google.auth.transport.requests.Request(), audience)  # type: ignore[no-untyped-call]
    return str(token)


def needs_token(url: str) -> bool:
    return urlparse(url).scheme == "https"


def audience_of(url: str) -> str:
    """The audience Cloud Run expects for a request to ``url``: its origin."""
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def expiry_of(token: str) -> float | None:
    """The ``exp`` claim (epoch seconds) of a JWT, read without verifying it; None when absent."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, (int, float)) else None


class IdTokens:
    """ID tokens per audience, fetched on first use and again ``refresh_margin_s`` before expiry."""

    def __init__(self, fetcher: TokenFetcher | None = None, refresh_margin_s: float = REFRESH_MARGIN_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.fetcher = fetcher or google_fetcher
        self.refresh_margin_s = refresh_margin_s
        self.clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, audience: str) -> str:
        with self._lock:
            cached = self._tokens.get(audience)
            now = self.clock()
            if cached is not None and now < cached[1] - self.refresh_margin_s:
                return cached[0]
            token = self.fetcher(audience)
            self._tokens[audience] = (token, expiry_of(token) or now + DEFAULT_LIFETIME_S)
            return token

    def headers(self, url: str) -> dict[str, str]:
        """``{"Authorization": "Bearer …"}`` for an https URL, ``{}`` otherwise."""
        if not needs_token(url):
            return {}
        return {"Authorization": f"Bearer {self.token(audience_of(url))}"}


_default = IdTokens()


def default_tokens() -> IdTokens:
    """The process-wide token cache (one metadata-server call per audience and hour)."""
    return _default
