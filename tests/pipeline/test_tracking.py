from __future__ import annotations

import socket
import time

import pytest
from experiments_platform.pipeline.tracking import TrackingUnavailable, wait_for_tracking_server


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_fails_early_with_a_clear_error():
    uri = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(TrackingUnavailable) as err:
        wait_for_tracking_server(uri, max_wait_s=2)
    assert time.monotonic() - started < 10
    assert uri in err.value.message and "/health" in err.value.message
    assert err.value.code == "MLFLOW_UNREACHABLE" and err.value.field == "mlflow.tracking_uri"


def test_reachable_server_answers_at_once(mlflow_server):
    assert wait_for_tracking_server(mlflow_server, max_wait_s=5) < 5
