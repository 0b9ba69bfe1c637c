"""Each service's container command, read from its Dockerfile, starts and answers ``/healthz``.

The command runs as the container would (same argv, the service folder as working directory,
``PORT`` set as Cloud Run sets it), on the embedded local adapters instead of Google's.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from deploy_model import REPO, command, dockerfile, final_stage, service_build
from experiments_platform.events import topology

VENV_BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def container_argv(service: str) -> list[str]:
    argv = command(*service_build(service))
    executable = VENV_BIN / argv[0]
    assert executable.exists(), f"{argv[0]} is not installed in {VENV_BIN}"
    return [str(executable), *argv[1:]]


def working_directory(service: str) -> Path:
    workdir = [i.arguments for i in final_stage(dockerfile(*service_build(service))) if i.keyword == "WORKDIR"][-1]
    assert workdir.startswith("/app/")
    return REPO / workdir.removeprefix("/app/")


@pytest.mark.parametrize("service", topology.SERVICES)
def test_the_container_command_serves_healthz(service: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PORT": str(port),
        "PLATFORM_DATA_DIR": str(tmp_path / "var"),
        "PLATFORM_SERVICE": service,
    }
    log = (tmp_path / "server.log").open("w+")
    process = subprocess.Popen(
        container_argv(service), cwd=working_directory(service), env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = requests.get(
                    f"http://127.0.0.1:{port}/healthz", timeout=2, headers={"Connection": "close"}
                )
                break
            except (requests.ConnectionError, requests.Timeout):
                # gunicorn's master listens before its workers have imported the app: a connection
                # accepted then waits unanswered, so a read timeout is "not up yet" too
                time.sleep(0.2)
        log.seek(0)
        output = log.read()[-3000:]
        assert process.poll() is None, f"{service} exited with {process.returncode}:\n{output}"
        assert response is not None, f"{service} did not answer within {STARTUP_TIMEOUT_S}s:\n{output}"
        assert response.status_code == 200, response.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
