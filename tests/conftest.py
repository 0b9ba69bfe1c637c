"""Session fixtures for the emulator-backed tests: Google's Pub/Sub and Firestore emulators,
fake-gcs-server for Cloud Storage, and a real ``mlflow server``.

``emulators`` starts the three emulators with ``scripts/emulators.sh`` (or reuses running ones:
``make`` targets and parallel sessions share them) and points the Google clients at them through
PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST and STORAGE_EMULATOR_HOST. Each session works in its
own project id, so parallel sessions never see each other's topics or documents. An emulator that
this session started is stopped at the end unless another live session still holds a lease on it
(or PLATFORM_KEEP_EMULATORS=1). Missing emulators FAIL the tests with the install instructions;
they are never skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EMULATORS_SCRIPT = ROOT / "scripts" / "emulators.sh"
HOST = "127.0.0.1"
MLFLOW_START_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Emulators:
    pubsub_host: str
    firestore_host: str
    storage_url: str
    project: str
    started: tuple[str, ...]

    def wipe_firestore(self) -> None:
        """Delete every document of this session's project (the emulator's DELETE endpoint)."""
        url = f"http://{self.firestore_host}/emulator/v1/projects/{self.project}/databases/(default)/documents"
        request = urllib.request.Request(url, method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, f"wiping Firestore answered {response.status}"


def _state_dir() -> Path:
    return Path(os.environ.get("EMULATORS_STATE_DIR", ROOT / "var" / "emulators"))


def _live_leases(lease_dir: Path) -> list[int]:
    live = []
    for lease in lease_dir.glob("*"):
        try:
            pid = int(lease.name)
            os.kill(pid, 0)
            live.append(pid)
        except (ValueError, ProcessLookupError, PermissionError):
            lease.unlink(missing_ok=True)
    return live


def _run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EMULATORS_PYTHON": sys.executable}
    return subprocess.run(["bash", str(EMULATORS_SCRIPT), *args], capture_output=True, text=True, env=env, timeout=240)


@pytest.fixture(scope="session")
def emulators() -> Iterator[Emulators]:
    """The Pub/Sub, Firestore and Cloud Storage emulators, started or reused, for this session."""
    lease_dir = _state_dir() / "leases"
    lease_dir.mkdir(parents=True, exist_ok=True)
    lease = lease_dir / str(os.getpid())
    lease.touch()
    t0 = time.monotonic()
    result = _run_script("start")
    if result.returncode != 0:
        lease.unlink(missing_ok=True)
        pytest.fail(
            "the emulators could not be started (scripts/emulators.sh start):\n" + result.stdout + result.stderr,
            pytrace=False,
        )
    started = tuple(line.split(":", 1)[0] for line in result.stdout.splitlines() if ": started" in line)
    sys.stderr.write(f"\nemulators ready in {time.monotonic() - t0:.1f} s: {result.stdout.strip()}\n")
    ports = {
        "pubsub": os.environ.get("PUBSUB_EMULATOR_PORT", "8085"),
        "firestore": os.environ.get("FIRESTORE_EMULATOR_PORT", "8086"),
        "gcs": os.environ.get("GCS_EMULATOR_PORT", "4443"),
    }
    found = Emulators(
        pubsub_host=f"{HOST}:{ports['pubsub']}",
        firestore_host=f"{HOST}:{ports['firestore']}",
        storage_url=f"http://{HOST}:{ports['gcs']}",
        project=f"test-{os.getpid()}",
        started=started,
    )
    variables = {
        "PUBSUB_EMULATOR_HOST": found.pubsub_host,
        "FIRESTORE_EMULATOR_HOST": found.firestore_host,
        "STORAGE_EMULATOR_HOST": found.storage_url,
        "GOOGLE_CLOUD_PROJECT": found.project,
    }
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield found
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        lease.unlink(missing_ok=True)
        others = [pid for pid in _live_leases(lease_dir) if pid != os.getpid()]
        if started and not others and os.environ.get("PLATFORM_KEEP_EMULATORS") != "1":
            _run_script("stop", *started)


@pytest.fixture
def firestore_emulator(emulators: Emulators) -> Iterator[Emulators]:
    """The emulators, with this session's Firestore project wiped before and after the test."""
    emulators.wipe_firestore()
    yield emulators
    emulators.wipe_firestore()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited during start-up; log:\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"{url} not answering after {timeout_s:.0f} s; log:\n{log.read_text()[-3000:]}", pytrace=False)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tracking URI of a real ``mlflow server`` (SQLite backend, one worker) for this session.

    Set PLATFORM_TEST_MLFLOW_URI to use a server that is already running instead.
    """
    external = os.environ.get("PLATFORM_TEST_MLFLOW_URI")
    if external:
        yield external
        return
    mlflow = Path(sys.executable).with_name("mlflow")
    if not mlflow.exists():
        found = shutil.which("mlflow")
        if not found:
            pytest.fail("mlflow is missing from the services environment: .venv/bin/pip install mlflow", pytrace=False)
        mlflow = Path(found)
    workdir = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = workdir / "server.log"
    command = [
        str(mlflow), "server",
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination", str(workdir / "artifacts"),
        "--host", HOST, "--port", str(port), "--workers", "1",
    ]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    t0 = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    uri = f"http://{HOST}:{port}"
    try:
        _wait_http(f"{uri}/health", process, MLFLOW_START_TIMEOUT_S, log)
        sys.stderr.write(f"\nmlflow server ready in {time.monotonic() - t0:.1f} s at {uri}\n")
        yield uri
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Kill child processes a test left alive: ``multiprocessing`` joins them at exit, so one stuck child
    would hang the session after its last test instead of letting it report (tests/child_processes.py)."""
    import multiprocessing

    for child in multiprocessing.active_children():
        sys.stderr.write(f"\nkilling child process {child.name} (pid {child.pid}) left alive by a test\n")
        child.kill()
        child.join(timeout=10)
