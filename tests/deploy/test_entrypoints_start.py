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
from deploy_model import REPO, SERVICE_DOCKERFILES, command, dockerfile, final_stage

VENV_BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def container_argv(dockerfile_path: Path) -> list[str]:
    argv = command(dockerfile_path)
    executable = VENV_BIN / argv[0]
    assert executable.exists(), f"{argv[0]} is not installed in {VENV_BIN}"
    return [str(executable), *argv[1:]]


def working_directory(dockerfile_path: Path) -> Path:
    workdir = [i.arguments for i in final_stage(dockerfile(dockerfile_path)) if i.keyword == "WORKDIR"][-1]
    assert workdir.startswith("/app/")
    return REPO / workdir.removeprefix("/app/")


@pytest.mark.parametrize("path", SERVICE_DOCKERFILES, ids=lambda p: p.parent.name)
def test_the_container_command_serves_healthz(path: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PORT": str(port),
        "PLATFORM_DATA_DIR": str(tmp_path / "var"),
        "PLATFORM_SERVICE": path.parent.name,
    }
    log = (tmp_path / "server.log").open("w+")
    process = subprocess.Popen(
        container_argv(path), cwd=working_directory(path), env=env, stdout=log, stderr=subprocess.STDOUT,
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
            except requests.ConnectionError:
                time.sleep(0.2)
        log.seek(0)
        output = log.read()[-3000:]
        assert process.poll() is None, f"{path.parent.name} exited with {process.returncode}:\n{output}"
        assert response is not None, f"{path.parent.name} did not answer within {STARTUP_TIMEOUT_S}s:\n{output}"
        assert response.status_code == 200, response.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()
