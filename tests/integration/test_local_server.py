"""``make run`` serves the gateway with gunicorn, the WSGI server of Cloud Run (issue 10 section 5, decision 057),
and Ctrl+C stops the whole stack: the worker's stack is stopped, no process of it is left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests
from experiments_platform.local.stack import ROOT, wait_for_http


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def test_make_run_serves_with_gunicorn_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PLATFORM_DATA_DIR": str(tmp_path / "var"), "PLATFORM_GATEWAY_MAX_IN_FLIGHT": "3"}
    log = (tmp_path / "stack.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "experiments_platform.local.stack", "--no-mlflow", "--no-data",
                                "--port", str(port)], cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/healthz", 120, process)
        listed = requests.get(f"{url}/api/experiments", timeout=10)
        assert listed.status_code == 200 and listed.json()["total"] == 0
        assert listed.headers["Server"].startswith("gunicorn")
        workers = descendants(process.pid)
        assert workers, "gunicorn's worker runs the stack"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, (tmp_path / "stack.log").read_text()[-3000:]
        left = {pid for pid in workers if Path(f"/proc/{pid}").exists()
                and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"}
        assert not left, f"processes of the stack left running: {left}"
        output = (tmp_path / "stack.log").read_text()
        assert f"Experiments platform on {url}" in output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
