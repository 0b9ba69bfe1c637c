"""The environment handed to pipeline-environment workers."""

from __future__ import annotations

import pytest
from experiments_platform.adapters.local_workers import pipeline_env


def test_workers_keep_mlflow_retries_but_get_legacy_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    env = pipeline_env()
    assert not [name for name in env if name.startswith("MLFLOW_HTTP_REQUEST_")]
    assert env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000"
    assert env["TF_USE_LEGACY_KERAS"] == "1"
