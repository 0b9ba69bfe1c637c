"""The gateway under load (issue 10 section 5): open-loop requests at fixed rates against ``make run``'s gateway.

Seeds 1,000 finished experiments into a fresh data folder, starts the all-in-one stack as ``make run``
does (gunicorn, ``python -m experiments_platform.local.stack``; no MLflow, no MovieLens), then, for
each rate, sends an equal mix of the four reads the UI makes most (experiments list pages,
one experiment, leaderboard pages, heatmaps over several axes) for ``--duration`` seconds, after
asking each page and heatmap once (``warm_up_paths``: what a change of the experiments costs once).

The load is open-loop: request i is started at ``start + i / rate`` whether or not earlier ones
were answered, and its latency counts from that scheduled time (a client that falls behind does
not hide the server's queue). Each request has a ``--timeout``; a request not answered by then
is a client timeout (counted in ``errors`` and ``timeouts``).

Per rate: ``p50_ms``/``p99_ms`` of the requests served (200), ``rejected`` (503/429, with their own
``rejected_p99_ms``), ``errors`` (anything else, timeouts included), the client's own lateness
(``client_late_p99_ms``: how late a request left; ``p99_from_send_ms`` leaves it out), the rate
achieved, the gateway's CPU time per request (its processes' user + system time: what a request
costs whatever else the machine runs) and the machine's 1-minute load average before and after (it
is shared). Target: p99 ≤ 100 ms at 100 req/s; beyond capacity, fast 503/429 and no client
timeouts. The last line is a JSON object.

    .venv/bin/python benchmarks/gateway_load.py [--rates 50,100,200,400] [--duration 20] [--experiments 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from experiments_platform.bootstrap import Platform  # noqa: E402
from experiments_platform.config import Settings  # noqa: E402
from experiments_platform.domain.dataset import Dataset  # noqa: E402
from experiments_platform.local.stack import register_movielens, stop_process, wait_for_http  # noqa: E402

from tests.browser.conftest import SAMPLE_DATASET  # noqa: E402
from tests.browser.seeding import seed_experiments  # noqa: E402

TARGET_RATE = 100
TARGET_P99_MS = 100.0
KINDS = ("list", "get", "leaderboard", "heatmap")
AXES = ("embedding_dims", "cross_features", "learning_rate", "tower_layers", "epochs")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def seed(data_dir: Path, count: int) -> list[str]:
    platform = Platform(Settings(data_dir=data_dir))
    try:
        register_movielens(platform)
        dataset = Dataset.model_validate(platform.documents.get("datasets", SAMPLE_DATASET))
        return seed_experiments(platform.documents, dataset, count).ids
    finally:
        platform.close()


def request_paths(ids: list[str], count: int, rng: random.Random) -> list[tuple[str, str]]:
    """``count`` (kind, path) in an equal, interleaved mix of the four kinds."""
    pages = max(1, len(ids) // 50)
    paths = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        if kind == "list":
            path = f"/api/experiments?page={rng.randint(1, pages)}&page_size=50"
        elif kind == "get":
            path = f"/api/experiments/{rng.choice(ids)}"
        elif kind == "leaderboard":
            path = f"/api/dashboard/leaderboard?page={rng.randint(1, pages)}&page_size=50"
        else:
            x, y = rng.sample(AXES, 2)
            path = f"/api/dashboard/heatmap?x_axis={x}&y_axis={y}"
        paths.append((kind, path))
    return paths


def warm_up_paths(ids: list[str]) -> list[tuple[str, str]]:
    """Each list page, leaderboard page and heatmap the load asks for, once: their views are computed
    once per snapshot of the experiments, and the load measures the reads between two changes."""
    pages = range(1, max(1, len(ids) // 50) + 1)
    return ([("list", f"/api/experiments?page={p}&page_size=50") for p in pages]
            + [("leaderboard", f"/api/dashboard/leaderboard?page={p}&page_size=50") for p in pages]
            + [("heatmap", f"/api/dashboard/heatmap?x_axis={x}&y_axis={y}") for x in AXES for y in AXES if x != y]
            + [("get", f"/api/experiments/{i}") for i in ids[:20]])


@dataclass
class Outcomes:
    served: list[float] = field(default_factory=list)
    rejected: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timeouts: int = 0
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    late_ms: list[float] = field(default_factory=list)
    served_from_send: list[float] = field(default_factory=list)


class RawClient:
    """A minimal HTTP/1.1 GET client on asyncio streams, keeping connections alive as aiohttp does,
    several times cheaper per request than aiohttp: at 800 req/s on this 2-core machine an aiohttp
    generator left requests 15 s late while the gateway used 1.4 s of CPU in 20 s (decision 097)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> int:
        reused = bool(self.idle)
        reader, writer = self.idle.pop() if reused else await asyncio.open_connection(self.host, self.port)
        keep = False
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: */*\r\n"
                         "Accept-Encoding: gzip, deflate\r\n\r\n".encode())
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                if reused:  # a kept-alive connection the server had closed meanwhile: a new one, as aiohttp does
                    writer.close()
                    return await self.get(path)
                raise
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            if "content-length" in headers:
                await reader.readexactly(int(headers["content-length"]))
                keep = headers.get("connection", "").lower() != "close"
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
                keep = headers.get("connection", "").lower() != "close"
            else:
                await reader.read()
            return status
        finally:
            if keep:
                self.idle.append((reader, writer))
            else:
                writer.close()


async def run_rate(url: str, paths: list[tuple[str, str]], rate: float, timeout_s: float, client: str = "raw",
                   offset: int = 0, step: int = 1, start_at: float | None = None) -> tuple[Outcomes, float]:
    """Requests ``paths[offset::step]``, request i scheduled at ``start_at + i / rate`` (wall clock)."""
    outcomes = Outcomes()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05 if start_at is None else loop.time() + (start_at - time.time())
    mine = list(enumerate(paths))[offset::step]
    host, port = url.removeprefix("http://").rsplit(":", 1)
    raw = RawClient(host, int(port))
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:

        async def status_of(path: str) -> int:
            if client == "raw":
                return await asyncio.wait_for(raw.get(path), timeout_s)
            async with session.get(url + path) as response:
                await response.read()
                return response.status

        async def fire(kind: str, path: str, scheduled: float) -> None:
            sent = loop.time()
            outcomes.late_ms.append((sent - scheduled) * 1000)
            try:
                status = await status_of(path)
                elapsed = (loop.time() - scheduled) * 1000
                if status == 200:
                    outcomes.served.append(elapsed)
                    outcomes.served_from_send.append((loop.time() - sent) * 1000)
                    outcomes.by_kind.setdefault(kind, []).append(elapsed)
                elif status in (429, 503):
                    outcomes.rejected.append(elapsed)
                else:
                    outcomes.errors.append(f"{status} {path}")
            except asyncio.TimeoutError:
                outcomes.timeouts += 1
                outcomes.errors.append(f"timeout {path}")
            except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError, ValueError) as error:
                outcomes.errors.append(f"{type(error).__name__} {path}")

        tasks = []
        for i, (kind, path) in mine:
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(fire(kind, path, scheduled)))
        sent_s = loop.time() - start
        await asyncio.gather(*tasks)
    return outcomes, len(mine) / sent_s if sent_s > 0 else 0.0


def client_process(url: str, paths: list[tuple[str, str]], rate: float, timeout_s: float, client: str,
                   offset: int, step: int, start_at: float) -> tuple[Outcomes, float, float]:
    """One load-generating process's share: outcomes, achieved rate, its own CPU seconds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cpu = time.process_time()
    outcomes, achieved = asyncio.run(run_rate(url, paths, rate, timeout_s, client, offset, step, start_at))
    return outcomes, achieved, time.process_time() - cpu


def run_clients(pool: ProcessPoolExecutor, clients: int, url: str, paths: list[tuple[str, str]], rate: float,
                timeout_s: float, client: str) -> tuple[Outcomes, float, float]:
    """The load of ``rate`` spread over ``clients`` processes (request i to process i % clients), merged."""
    start_at = time.time() + 1.0
    parts = [pool.submit(client_process, url, paths, rate, timeout_s, client, k, clients, start_at)
             for k in range(clients)]
    merged, achieved, cpu = Outcomes(), 0.0, 0.0
    for part in parts:
        outcomes, rate_k, cpu_k = part.result()
        merged.served += outcomes.served
        merged.rejected += outcomes.rejected
        merged.errors += outcomes.errors
        merged.timeouts += outcomes.timeouts
        merged.late_ms += outcomes.late_ms
        merged.served_from_send += outcomes.served_from_send
        for kind, values in outcomes.by_kind.items():
            merged.by_kind.setdefault(kind, []).extend(values)
        achieved += rate_k
        cpu += cpu_k
    return merged, achieved, cpu


def summary(rate: int, outcomes: Outcomes, achieved: float, load_before: float, load_after: float,
            cpu_s: float, client_cpu_s: float = 0.0) -> dict[str, Any]:
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "rate": rate,
        "sent": len(outcomes.served) + len(outcomes.rejected) + len(outcomes.errors),
        "achieved_rps": round(achieved, 1),
        "served": len(outcomes.served),
        "p50_ms": ms(percentile(outcomes.served, 50)),
        "p99_ms": ms(percentile(outcomes.served, 99)),
        "max_ms": ms(max(outcomes.served, default=None)),
        "rejected": len(outcomes.rejected),
        "rejected_p99_ms": ms(percentile(outcomes.rejected, 99)),
        "errors": len(outcomes.errors),
        "timeouts": outcomes.timeouts,
        "error_examples": sorted(set(outcomes.errors))[:3],
        "p99_ms_by_kind": {k: ms(percentile(v, 99)) for k, v in sorted(outcomes.by_kind.items())},
        "client_late_p99_ms": ms(percentile(outcomes.late_ms, 99)),
        "p50_from_send_ms": ms(percentile(outcomes.served_from_send, 50)),
        "p99_from_send_ms": ms(percentile(outcomes.served_from_send, 99)),
        "server_cpu_s": round(cpu_s, 2),
        "server_cpu_ms_per_request": round(cpu_s * 1000 / max(1, len(outcomes.served) + len(outcomes.rejected)), 2),
        "client_cpu_s": round(client_cpu_s, 2),
        "loadavg_1m_before": round(load_before, 2),
        "loadavg_1m_after": round(load_after, 2),
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and every process below it, from /proc."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == current)
    return total


def settle(pid: int, timeout_s: float = 90.0, busy: float = 0.05) -> float:
    """Wait until the gateway's processes use under ``busy`` of a core over a second (the stack's start-up,
    e.g. the pipeline worker it prewarms, is over); seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < busy:
            break
    return time.monotonic() - started


def start_gateway(data_dir: Path, port: int, max_in_flight: int | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PLATFORM_DATA_DIR": str(data_dir)}
    if max_in_flight is not None:
        env["PLATFORM_GATEWAY_MAX_IN_FLIGHT"] = str(max_in_flight)
    log = (data_dir / "gateway.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "experiments_platform.local.stack", "--no-mlflow",
                                "--no-data", "--port", str(port)], env=env, cwd=str(ROOT), stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_http(f"http://127.0.0.1:{port}/healthz", 120, process)
    return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--rates", default="50,100,200,400", help="requests per second, comma-separated")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds at each rate")
    parser.add_argument("--timeout", type=float, default=10.0, help="client timeout of one request, seconds")
    parser.add_argument("--max-in-flight", type=int, default=None,
                        help="PLATFORM_GATEWAY_MAX_IN_FLIGHT of the gateway (default: the setting's default)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--clients", type=int, default=2, help="load-generating processes (the rate is shared)")
    parser.add_argument("--client", choices=("raw", "aiohttp"), default="raw",
                        help="raw: asyncio streams (cheap); aiohttp: the generator of earlier measurements")
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="gateway-load-") as folder:
        data_dir = Path(folder)
        started = time.monotonic()
        ids = seed(data_dir, args.experiments)
        print(f"seeded {len(ids)} experiments in {time.monotonic() - started:.1f} s", flush=True)
        port = free_port()
        started = time.monotonic()
        process = start_gateway(data_dir, port, args.max_in_flight)
        url = f"http://127.0.0.1:{port}"
        try:
            print(f"gateway (gunicorn, as make run) up in {time.monotonic() - started:.1f} s at {url}; "
                  f"start-up work over after {settle(process.pid):.1f} s more", flush=True)
            warm, _ = asyncio.run(run_rate(url, warm_up_paths(ids), 20, args.timeout, args.client))
            warm_up = {"requests": len(warm.served) + len(warm.rejected) + len(warm.errors),
                       "p50_ms": round(percentile(warm.served, 50) or 0, 1),
                       "max_ms": round(max(warm.served, default=0), 1)}
            print(f"warm-up (each page and heatmap once, their views computed): {warm_up}", flush=True)
            results = []
            clients = ProcessPoolExecutor(max_workers=args.clients, mp_context=multiprocessing.get_context("spawn"))
            list(clients.map(abs, range(args.clients)))  # the processes started before the first rate
            for rate in rates:
                paths = request_paths(ids, int(rate * args.duration), rng)
                load_before, cpu_before = os.getloadavg()[0], cpu_seconds(process.pid)
                outcomes, achieved, client_cpu = run_clients(clients, args.clients, url, paths, rate, args.timeout,
                                                             args.client)
                row = summary(rate, outcomes, achieved, load_before, os.getloadavg()[0],
                              cpu_seconds(process.pid) - cpu_before, client_cpu)
                results.append(row)
                print(f"{rate:>4} req/s: served {row['served']}, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
                      f"rejected {row['rejected']} (p99 {row['rejected_p99_ms']} ms), errors {row['errors']} "
                      f"(timeouts {row['timeouts']}), server CPU {row['server_cpu_ms_per_request']} ms/request, "
                      f"client late p99 {row['client_late_p99_ms']} ms, client CPU {row['client_cpu_s']} s, "
                      f"load {row['loadavg_1m_before']}→{row['loadavg_1m_after']}",
                      flush=True)
                time.sleep(2)
            clients.shutdown()
        finally:
            stop_process(process)
    at_target = next((r for r in results if r["rate"] == TARGET_RATE), None)
    met = bool(at_target and at_target["p99_ms"] is not None and at_target["p99_ms"] <= TARGET_P99_MS
               and at_target["errors"] == 0)
    no_timeouts = all(r["timeouts"] == 0 for r in results)
    print(json.dumps({
        "benchmark": "gateway_load", "experiments": len(ids), "duration_s": args.duration,
        "max_in_flight": args.max_in_flight, "cpus": os.cpu_count(), "warm_up": warm_up,
        "client": args.client, "clients": args.clients,
        "target": {"rate": TARGET_RATE, "p99_ms": TARGET_P99_MS}, "target_met": met, "no_client_timeouts": no_timeouts,
        "rates": results,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
