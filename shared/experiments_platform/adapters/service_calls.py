"""HTTP calls from one platform service to another (gateway → artifact_reader → tfdv_parser).

``call(service, base_url, path)`` sends the request with a Google ID token when the URL is https
(``id_tokens``; Cloud Run services are private) and none on http (local processes), retries
transient failures (unreachable, 5xx) with ``tenacity``, and turns the callee's error answer
``{"error_code", "message", "field", "suggestions"}`` back into the same ``PlatformError``:
400 → ``InvalidInput``, 404 → ``NotFound``, 401/403 → ``ConfigurationError`` (the caller's service
account lacks ``roles/run.invoker`` on the callee), anything else → ``TransientError`` (503 to the
caller's client).

``ServiceClient`` is the base of the HTTP adapters of the ports between services
(``tfdv_parser_client``, ``artifact_reader_client``): one callee, at one URL.
"""

from __future__ import annotations

from typing import Any, ClassVar

import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from experiments_platform.adapters.id_tokens import IdTokens, default_tokens
from experiments_platform.errors import ConfigurationError, InvalidInput, NotFound, PlatformError, TransientError

TIMEOUT_S = 30.0
ATTEMPTS = 3
_ERRORS: dict[int, type[PlatformError]] = {400: InvalidInput, 404: NotFound}


class ServiceClient:
    """Calls of one service at ``url``; ``service`` names it in errors, ``url_setting`` is where its URL comes from."""

    service: ClassVar[str]
    url_setting: ClassVar[str]

    def __init__(self, url: str | None, tokens: IdTokens | None = None) -> None:
        if not url:
            raise ConfigurationError(f"{self.url_setting} is required to call the {self.service} service")
        self.url = url
        self.tokens = tokens

    def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return call_json(self.service, self.url, path, params=params, tokens=self.tokens)

    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return call_json(self.service, self.url, path, body=body, tokens=self.tokens)

    def text(self, path: str, body: dict[str, Any] | None = None) -> str:
        return call_text(self.service, self.url, path, body=body, tokens=self.tokens)


def call_json(service: str, base_url: str, path: str, *, params: dict[str, str] | None = None,
              body: dict[str, Any] | None = None, tokens: IdTokens | None = None) -> dict[str, Any]:
    """GET (or POST ``body``) ``base_url + path``; the JSON object it answers."""
    response = _send(service, base_url, path, params, body, tokens)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TransientError(f"{service} answered {path} with something other than a JSON object")
    return answer


def call_text(service: str, base_url: str, path: str, *, params: dict[str, str] | None = None,
              body: dict[str, Any] | None = None, tokens: IdTokens | None = None) -> str:
    """GET (or POST ``body``) ``base_url + path``; the text it answers (an HTML page)."""
    return _send(service, base_url, path, params, body, tokens).text


@retry(retry=retry_if_exception_type(TransientError), stop=stop_after_attempt(ATTEMPTS),
       wait=wait_exponential(multiplier=0.2, max=2), reraise=True)
def _send(service: str, base_url: str, path: str, params: dict[str, str] | None, body: dict[str, Any] | None,
          tokens: IdTokens | None) -> requests.Response:
    url = base_url.rstrip("/") + path
    headers = (tokens or default_tokens()).headers(url)
    try:
        if body is None:
            response = requests.get(url, params=params, headers=headers, timeout=TIMEOUT_S)
        else:
            response = requests.post(url, params=params, json=body, headers=headers, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise TransientError(f"{service} at {base_url} cannot be reached: {exc}") from exc
    if response.ok:
        return response
    try:
        error = response.json()
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {}
    message = error.get("message")
    if response.status_code in (401, 403):
        raise ConfigurationError(
            f"{service} at {base_url} refused the call (HTTP {response.status_code}): grant this service's account "
            f"roles/run.invoker on {service}"
        )
    kind = _ERRORS.get(response.status_code)
    if kind is not None:
        raise kind(message or f"{service} answered {response.status_code} for {path}", field=error.get("field"),
                   suggestions=error.get("suggestions"))
    raise TransientError(f"{service} answered {response.status_code} for {path}: {message or response.text[:200]}")
