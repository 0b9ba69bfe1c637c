"""Fixtures of the pipeline tests (run with the pipeline environment's python).

``mlflow_server`` starts a real MLflow tracking server from the services environment
(``.venv/bin/mlflow``, SQLite backend) once per session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

ROOT = Path(__file__).resolve().parents[2]
MLFLOW = Path(os.environ.get("QT_MLFLOW_BIN", ROOT / ".venv" / "bin" / "mlflow"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    if not MLFLOW.exists():
        pytest.fail(f"{MLFLOW} not found: install the services environment (.venv with mlflow) or set QT_MLFLOW_BIN")
    folder = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    process = subprocess.Popen(
        [str(MLFLOW), "server", "--workers", "1", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}", "--artifacts-destination", str(folder / "art")],
        stdout=(folder / "server.log").open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{uri}/health", timeout=2).ok:
                break
        except requests.RequestException:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"mlflow server did not start; see {folder / 'server.log'}")
    yield uri
    os.killpg(process.pid, 15)
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def movielens_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding MovieLens 100k (wheel cached in QT_DATA_CACHE, default var/cache)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def wheel_cache() -> Path:
    return Path(os.environ.get("QT_DATA_CACHE", ROOT / "var" / "cache"))
