"""50 concurrent starts on the local stack (issue 10 section 2, decision 052): how many run, how many
wait, how much memory the machine keeps.

    .venv/bin/python benchmarks/admission_burst.py [--starts 50] [--watch-s 150]

Starts ``LocalStack`` (all services in one process, MovieLens 100k registered, no MLflow server:
training does not wait for it) on a fresh data folder, creates the demo's configs, sends ``--starts``
``POST /api/experiments`` at once from as many threads (a 503 of the gateway's backpressure is
sent again after its Retry-After, as the UI does), then watches for ``--watch-s`` seconds:
every 0.5 s the statuses of the experiments and the machine's available memory
(``/proc/meminfo``), and the largest resident memory of the pipeline workers (their process
groups). It then cancels every experiment and stops the stack. Before admission control the same
burst started 49 TFX processes and took free memory from 16.3 to 5.4 GiB in 112 s.

The last line printed is one JSON object: ``accepted``, ``refused`` (429), ``limit``,
``max_holding`` (submitting + running at once), ``max_queued``, ``lost`` (experiments neither
queued, admitted nor ended), ``min_available_gib``, ``start_available_gib``,
``peak_pipeline_rss_gib`` (this stack's pipeline workers at one moment), ``builds_started``; the
machine is shared, so available memory also moves with other work.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]

from experiments_platform.adapters.local_jobs import PROC, _stat_fields  # noqa: E402
from experiments_platform.adapters.memory_guard import GiB, group_rss_bytes  # noqa: E402
from experiments_platform.config import Settings  # noqa: E402
from experiments_platform.local import demo  # noqa: E402
from experiments_platform.local.stack import LocalStack  # noqa: E402


def available_bytes() -> int:
    for line in (PROC / "meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def worker_groups(data_dir: Path) -> set[int]:
    """Process groups led by a pipeline worker (``experiments_platform.pipeline.worker``) of this stack:
    one with a file of ``data_dir`` open (its log), so other stacks on the machine do not count."""
    groups = set()
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            fields = _stat_fields(int(entry.name))
            leader = fields is not None and int(fields[2]) == int(entry.name)
            if b"experiments_platform.pipeline.worker" in command and leader and any(
                    str(data_dir) in _link(fd) for fd in _fds(entry)):
                groups.add(int(entry.name))
    return groups


def _fds(process: Path) -> list[Path]:
    try:
        return list((process / "fd").iterdir())
    except OSError:
        return []


def _link(fd: Path) -> str:
    try:
        return str(fd.readlink())
    except OSError:
        return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=50)
    parser.add_argument("--watch-s", type=float, default=150.0)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="admission-burst-"))
    cache = ROOT / "var" / "cache"
    if cache.is_dir():
        shutil.copytree(cache, data_dir / "cache")
    settings = Settings(data_dir=data_dir, tfx_python=str(ROOT / ".venv-tfx" / "bin" / "python"),
                        ui_dir=ROOT / "ui")
    start_available = available_bytes()
    with LocalStack(settings, port=free_port(), with_mlflow=False) as stack:
        base = stack.url
        session = requests.Session()
        feature_id = demo._ensure(session, base, "/api/feature-configs", demo.FEATURE_CONFIG)
        model_id = demo._ensure(session, base, "/api/model-configs", demo.MODEL_CONFIG)
        body = {**demo.EXPERIMENT, "feature_config_id": feature_id, "model_config_id": model_id}
        answers: list[int] = []
        lock = threading.Lock()

        def start(i: int) -> None:
            for _ in range(100):  # the gateway's backpressure (503 OVERLOADED, decision 058): retried as the UI does
                answer = requests.post(f"{base}/api/experiments", json={**body, "name": f"burst {i}"}, timeout=120)
                with lock:
                    answers.append(answer.status_code)
                if answer.status_code != 503:
                    return
                time.sleep(float(answer.headers.get("Retry-After", "1")))

        threads = [threading.Thread(target=start, args=(i,)) for i in range(args.starts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        max_holding = max_queued = 0
        min_available = available_bytes()
        peak_rss = 0
        counts: dict[str, int] = {}
        deadline = time.monotonic() + args.watch_s
        while time.monotonic() < deadline:
            items = session.get(f"{base}/api/experiments", params={"page_size": 200}, timeout=30).json()["items"]
            counts = {}
            for item in items:
                counts[item["status"]] = counts.get(item["status"], 0) + 1
            max_holding = max(max_holding, counts.get("submitting", 0) + counts.get("running", 0))
            max_queued = max(max_queued, counts.get("queued", 0))
            min_available = min(min_available, available_bytes())
            peak_rss = max(peak_rss, sum(group_rss_bytes(g) for g in worker_groups(data_dir)))
            time.sleep(0.5)
        ended = {"completed", "failed", "cancelled"}
        lost = sum(n for status, n in counts.items() if status not in ended | {"queued", "submitting", "running"})
        builds_started = sum(1 for item in items if item.get("cloud_build_id"))
        for item in items:
            if item["status"] not in ended:
                session.post(f"{base}/api/experiments/{item['id']}/cancel", timeout=30)
        result: dict[str, Any] = {
            "starts": args.starts, "accepted": answers.count(202), "refused": answers.count(429),
            "overloaded_503_retried": answers.count(503),
            "limit": settings.resolved_max_concurrent_runs, "max_holding": max_holding, "max_queued": max_queued,
            "statuses_at_end": counts, "lost": lost, "builds_started": builds_started, "watch_s": args.watch_s,
            "start_available_gib": round(start_available / GiB, 2), "min_available_gib": round(min_available / GiB, 2),
            "peak_pipeline_rss_gib": round(peak_rss / GiB, 2),
        }
        time.sleep(3)
    shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
