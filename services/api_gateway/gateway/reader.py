"""What the gateway reads from artifacts: in-process through ``handlers.artifact_reader``, or over HTTP
from the artifact_reader service when ``PLATFORM_ARTIFACT_READER_URL`` is set (as on Cloud Run, where
the call carries a Google ID token for that service)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from experiments_platform.bootstrap import Platform
from experiments_platform.errors import InvalidInput, NotFound, PlatformError, TransientError
from experiments_platform.handlers import artifact_reader
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

READERS: dict[str, Callable[[Platform, str], dict[str, Any]]] = {
    "metrics": artifact_reader.metrics,
    "training-history": artifact_reader.training_history,
    "artifacts": artifact_reader.artifacts,
    "statistics": artifact_reader.statistics,
    "schema": artifact_reader.schema,
}
TIMEOUT_S = 30.0
_ERRORS: dict[int, type[PlatformError]] = {400: InvalidInput, 404: NotFound}


def read(platform: Platform, experiment_id: str, view: str) -> dict[str, Any]:
    """One artifact_reader view (``metrics``, ``training-history``, ``artifacts``, ``statistics``, ``schema``)."""
    base = platform.settings.artifact_reader_url
    if base is None:
        return READERS[view](platform, experiment_id)
    return _get(base, f"/experiments/{experiment_id}/{view}")


def component_logs(platform: Platform, experiment_id: str, component: str, lines: int) -> dict[str, Any]:
    base = platform.settings.artifact_reader_url
    if base is None:
        return artifact_reader.component_logs(platform, experiment_id, component, lines)
    return _get(base, f"/experiments/{experiment_id}/logs/{component}", {"lines": str(lines)})


def _id_token(audience: str) -> str | None:
    """A Google ID token for a Cloud Run service (https URLs); local http services need none."""
    if not audience.startswith("https://"):
        return None
    import google.auth.transport.requests
    import google.oauth2.id_token

    return google.oauth2.id_token.fetch_id_token(google.auth.transport.requests.Request(), audience)  # type: ignore[no-untyped-call,no-any-return]


@retry(retry=retry_if_exception_type(TransientError), stop=stop_after_attempt(3),
       wait=wait_exponential(multiplier=0.2, max=2), reraise=True)
def _get(base: str, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    base = base.rstrip("/")
    token = _id_token(base)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = requests.get(base + path, params=params, headers=headers, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise TransientError(f"artifact_reader at {base} cannot be reached: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.ok and isinstance(body, dict):
        return body
    message = body.get("message") if isinstance(body, dict) else None
    error = _ERRORS.get(response.status_code)
    if error is not None:
        raise error(message or f"artifact_reader answered {response.status_code}", field=body.get("field"),
                    suggestions=body.get("suggestions"))
    detail = message or response.text[:200]
    raise TransientError(f"artifact_reader answered {response.status_code} for {path}: {detail}")
