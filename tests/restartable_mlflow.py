"""A real ``mlflow server`` on one port and one SQLite database, stopped and started again at will (as an operator
restarts it): the MLflow-outage tests of the pipeline (tests/pipeline/test_tracking.py) and of the services
(tests/api/test_model_registration.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
MLFLOW = Path(os.environ.get("QT_MLFLOW_BIN", ROOT / ".venv" / "bin" / "mlflow"))


class RestartableMlflow:
    """``mlflow server`` on one port and one SQLite database, stopped and started again at will."""

    def __init__(self, folder: Path, mlflow: Path = MLFLOW) -> None:
        self.folder = folder
        self.mlflow = mlflow
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.process = subprocess.Popen(
            [str(self.mlflow), "server", "--workers", "1", "--host", "127.0.0.1", "--port", str(self.port),
             "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
             "--artifacts-destination", str(self.folder / "artifacts")],
            stdout=(self.folder / "server.log").open("ab"), stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.uri}/health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            assert self.process.poll() is None, f"mlflow server exited; see {self.folder / 'server.log'}"
            time.sleep(0.2)
        raise AssertionError("mlflow server did not start")

    def stop(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, 9)
        self.process.wait(timeout=30)
        self.process = None
