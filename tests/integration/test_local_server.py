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


SHEDDING_SERVER = """
import os, sys
from experiments_platform.local.server import serve_wsgi

fifo, entered = sys.argv[2], sys.argv[3]

def app(environ, start_response):
    if environ["PATH_INFO"] == "/block":
        with open(entered, "a") as marks:
            marks.write("x")
        with open(fifo) as gate:
            gate.read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"served"]

serve_wsgi(lambda: app, sys.argv[1], threads=2, max_queued=2, name="shedding-test")
"""


def test_beyond_its_threads_and_queue_the_server_answers_503_at_once_instead_of_queueing(tmp_path: Path) -> None:
    """Issue 10 section 5: with every thread busy and ``max_queued`` connections waiting for one, a further
    request gets 503 OVERLOADED with Retry-After at accept time, where before it waited unseen in gunicorn's
    queue of accepted connections until its client timed out; the queued ones are served once a thread frees."""
    import concurrent.futures

    from experiments_platform.adapters.local_jobs import wait_until

    port = free_port()
    fifo, entered = tmp_path / "gate", tmp_path / "entered"
    os.mkfifo(fifo)
    entered.write_text("")
    process = subprocess.Popen([sys.executable, "-c", SHEDDING_SERVER, f"127.0.0.1:{port}", str(fifo), str(entered)],
                               cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("wb"),
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/ready", 60, process)
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            blocked = [pool.submit(requests.get, f"{url}/block", timeout=60) for _ in range(2)]
            assert wait_until(lambda: entered.read_text() == "xx", timeout_s=30), "both threads are in the app"
            extra = [pool.submit(requests.get, f"{url}/extra-{i}", timeout=20) for i in range(12)]
            assert wait_until(lambda: sum(f.done() for f in extra) >= 10, timeout_s=15), \
                "ten of the twelve are answered while both threads stay blocked"
            answered = [f.result() for f in extra if f.done()]
            assert [a.status_code for a in answered] == [503] * 10
            for answer in answered:
                assert answer.headers["Retry-After"] == "1"
                assert answer.headers["Connection"] == "close"
                assert answer.json()["error_code"] == "OVERLOADED"
            with open(fifo, "w") as gate:
                gate.write("go")
            assert [f.result().status_code for f in blocked] == [200, 200]
            assert sorted(f.result().status_code for f in extra) == [200] * 2 + [503] * 10
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
