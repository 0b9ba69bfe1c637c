"""MLflow down: the training history answers within seconds with an error naming the server.

MLflow's client defaults (7 retries with backoff, 120 s per request) would hold the request for
minutes; the tracker adapter sets PLATFORM_MLFLOW_HTTP_MAX_RETRIES / _TIMEOUT_S instead.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from experiments_platform.adapters.mlflow_tracker import HTTP_VARIABLES
from experiments_platform.bootstrap import Platform
from flask.testing import FlaskClient

from .conftest import finish, gateway_app, results, start_payload
from .test_configs import error_of

RUN_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def mlflow_variables() -> Iterator[None]:
    saved = {name: os.environ.pop(name, None) for name in HTTP_VARIABLES}
    yield
    for name, value in saved.items():
        os.environ.pop(name, None)
        if value is not None:
            os.environ[name] = value


@pytest.fixture
def experiment_id(client: FlaskClient, platform: Platform, feature_config: dict[str, Any],
                  model_config: dict[str, Any]) -> str:
    doc = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    assert doc is not None
    finish(platform, doc["id"], mlflow_run_id=RUN_ID, results=results(0.4, 0.2))
    return str(doc["id"])


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections (the kernel's backlog) and never answers a byte."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def history_of(platform: Platform, experiment_id: str, **settings: Any) -> tuple[Any, float]:
    tracked = gateway_app(Platform(platform.settings.model_copy(update=settings), documents=platform.documents,
                                  bus=platform.bus)).test_client()
    started = time.monotonic()
    response = tracked.get(f"/api/experiments/{experiment_id}/training-history")
    return response, time.monotonic() - started


def test_a_stopped_mlflow_server_fails_the_history_fast_and_says_which(
    platform: Platform, experiment_id: str, closed_port: int
) -> None:
    uri = f"http://127.0.0.1:{closed_port}"
    response, seconds = history_of(platform, experiment_id, mlflow_tracking_uri=uri)

    assert response.status_code == 503
    body = error_of(response)
    assert body["error_code"] == "TRANSIENT"
    assert body["message"].startswith(f"MLflow tracking server {uri} did not answer (ConnectionError)")
    assert "3 attempts" in body["message"] and "PLATFORM_MLFLOW_TRACKING_URI" in body["message"]
    assert seconds < 6, f"took {seconds:.1f} s"


def test_a_hanging_mlflow_server_is_given_up_after_the_configured_timeout(
    platform: Platform, experiment_id: str, silent_server: int
) -> None:
    uri = f"http://127.0.0.1:{silent_server}"
    response, seconds = history_of(platform, experiment_id, mlflow_tracking_uri=uri,
                                   mlflow_http_timeout_s=1, mlflow_http_max_retries=1)

    assert response.status_code == 503
    message = error_of(response)["message"]
    assert f"MLflow tracking server {uri} did not answer" in message
    assert "2 attempts of at most 1 s" in message
    assert 1 <= seconds < 6, f"took {seconds:.1f} s"
