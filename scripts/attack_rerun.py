"""Issue 10's attacks re-run against a running stack, as a hostile or careless user would (with HTTP only).

``python scripts/attack_rerun.py --url http://127.0.0.1:8190 --data-dir /tmp/r_stack --section datasets``
prints one row per attack (request, answer, pass/fail) as a Markdown table, then a JSON line.
Sections: datasets (1), types (6), admission (2), events (3, needs --watcher URLs), gateway (5).
The stack must run on its own data dir (the script writes symlinks and folders into its warehouse).
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import io
import json
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

ROWS: list[dict[str, Any]] = []
PLANTED = "user_id,item_id,api_key\nroot,db,hunter2-secret\nops,vault,s3cr3t-token\n"


def record(section: str, attack: str, request: str, answer: str, passed: bool) -> None:
    ROWS.append({"section": section, "attack": attack, "request": request, "answer": answer, "pass": passed})
    print(f"[{'PASS' if passed else 'FAIL'}] {section} {attack}: {answer}", flush=True)


def short(response: requests.Response, limit: int = 160) -> str:
    text = response.text.replace("\n", " ")
    return f"{response.status_code} {text[:limit]}"


def outside_folder(data_dir: Path) -> Path:
    """A folder beside the stack's data dir, outside every warehouse folder."""
    return data_dir.resolve().parent / f"{data_dir.name}_outside"


def dataset_body(uri: str, **overrides: Any) -> dict[str, Any]:
    body = {"name": "attack", "description": "", "source": {"kind": "file", "uri": uri},
            "query_id_column": "user_id", "candidate_id_column": "item_id", "date_column": None,
            "buyer_features": None}
    body.update(overrides)
    return body


def datasets(url: str, data_dir: Path) -> None:
    warehouse = data_dir / "warehouse"
    outside = outside_folder(data_dir)
    outside.mkdir(exist_ok=True)
    (outside / "secret.csv").write_text(PLANTED)
    (outside / "folder.csv").mkdir(exist_ok=True)
    (warehouse / "folder.csv").mkdir(exist_ok=True)
    links = {"passwd.csv": Path("/etc/passwd"), "secret_link.csv": outside / "secret.csv"}
    for name, target in links.items():
        link = warehouse / name
        if not link.is_symlink():
            link.symlink_to(target)
    (warehouse / "dirlink").unlink(missing_ok=True)
    (warehouse / "dirlink").symlink_to(outside)
    before = len(requests.get(f"{url}/api/datasets", timeout=30).json()["items"])

    def attempt(attack: str, uri: str) -> requests.Response:
        response = requests.post(f"{url}/api/datasets", json=dataset_body(uri), timeout=60)
        leaked = any(word in response.text for word in ("hunter2", "root:x:", "s3cr3t"))
        record("1", attack, f"POST /api/datasets source.uri={uri}", short(response),
               response.status_code == 400 and not leaked)
        return response

    attempt("symlink in warehouse to /etc/passwd", (warehouse / "passwd.csv").as_uri())
    attempt("symlink in warehouse to outside CSV", (warehouse / "secret_link.csv").as_uri())
    attempt("relative symlink name", "secret_link.csv")
    attempt("symlinked folder to outside", (warehouse / "dirlink" / "secret.csv").as_uri())
    attempt("../ traversal (file URI)", f"file://{warehouse}/../../{outside.name}/secret.csv")
    attempt("../ traversal (relative)", f"../../{outside.name}/secret.csv")
    attempt("%2e%2e encoded traversal", f"file://{warehouse}/%2e%2e/%2e%2e/{outside.name}/secret.csv")
    attempt("absolute path /etc/passwd", "/etc/passwd")
    attempt("absolute path outside CSV", str(outside / "secret.csv"))
    attempt("glob reaching outside", f"{warehouse}/../../{outside.name}/*.csv")

    def message(response: requests.Response, uri: str) -> str:
        data = response.json()
        return f"{response.status_code} {data.get('field')} " + str(data.get("message")).replace(repr(uri), "<uri>") \
            .replace(uri, "<uri>")

    cases = {"missing": (warehouse / "nope.csv").as_uri(), "folder in warehouse": (warehouse / "folder.csv").as_uri(),
             "folder outside": (outside / "folder.csv").as_uri(), "outside file": (outside / "secret.csv").as_uri(),
             "missing outside": (outside / "nope.csv").as_uri()}
    answers = {name: message(requests.post(f"{url}/api/datasets", json=dataset_body(uri), timeout=60), uri)
               for name, uri in cases.items()}
    distinct = set(answers.values())
    record("1", "missing / folder / outside: one answer", "POST /api/datasets with each of " + ", ".join(cases),
           " | ".join(sorted(distinct))[:300], len(distinct) == 1 and next(iter(distinct)).startswith("400"))

    ext_dir = Path.home() / ".duckdb" / "extensions"
    before_ext = sorted(str(p) for p in ext_dir.rglob("*")) if ext_dir.exists() else []
    for uri in ("gs://some-bucket/x.csv", "http://example.com/x.csv", "https://example.com/x.parquet",
                "s3://bucket/x.parquet", "hf://datasets/x/y.csv"):
        start = time.monotonic()
        response = requests.post(f"{url}/api/datasets", json=dataset_body(uri), timeout=60)
        took = time.monotonic() - start
        record("1", f"remote path {uri.split(':')[0]}", f"POST /api/datasets source.uri={uri}",
               f"{short(response)} in {took:.2f} s", response.status_code == 400 and took < 5)
    after_ext = sorted(str(p) for p in ext_dir.rglob("*")) if ext_dir.exists() else []
    record("1", "no DuckDB extension downloaded", f"ls {ext_dir}", f"{len(before_ext)} -> {len(after_ext)} files",
           before_ext == after_ext)
    after = len(requests.get(f"{url}/api/datasets", timeout=30).json()["items"])
    record("1", "nothing registered by the path attacks", "GET /api/datasets", f"{before} -> {after} datasets",
           before == after)
    uploads(url, data_dir)


def upload(url: str, content: bytes, filename: str, **fields: Any) -> requests.Response:
    data = {"name": "attack upload", "query_id_column": "user_id", "candidate_id_column": "item_id",
            "date_column": "ts", "description": "", **fields}
    data = {k: v for k, v in data.items() if v is not None}
    return requests.post(f"{url}/api/datasets/uploads", data=data, files={"file": (filename, io.BytesIO(content))},
                         timeout=120)


def uploads(url: str, data_dir: Path) -> None:
    good = b"user_id,item_id,ts\nu1,i1,2024-01-01 10:00:00\nu2,i1,2024-01-02 11:00:00\n"
    uploads_dir = data_dir / "warehouse" / "uploads"
    kept_before = sorted(p for p in uploads_dir.rglob("*") if p.is_file()) if uploads_dir.exists() else []
    cases: list[tuple[str, bytes, str, dict[str, Any], str]] = [
        ("wrong type (.txt)", good, "data.txt", {}, ""),
        ("wrong type (.exe with CSV inside)", good, "data.exe", {}, ""),
        ("PNG named .csv", b"\x89PNG\r\n\x1a\n" + os.urandom(2000), "image.csv", {}, ""),
        ("CSV with a Parquet name", good, "data.parquet", {}, ""),
        ("header-only CSV", b"user_id,item_id,ts\n", "empty.csv", {}, "no rows"),
        ("empty file", b"", "empty.csv", {}, ""),
        ("non-identifier headers", b"user id,item-id,ts\nu1,i1,2024-01-01\n", "bad.csv",
         {"query_id_column": "user id", "candidate_id_column": "item-id"}, "user id"),
        ("query id = candidate id", good, "same.csv", {"candidate_id_column": "user_id"}, "candidate_id_column"),
        ("date column not a date", b"user_id,item_id,ts\nu1,i1,hello\nu2,i2,world\n", "nodate.csv", {},
         "date_column"),
        ("id column a float", b"user_id,item_id,ts\n1.5,i1,2024-01-01\n2.5,i2,2024-01-02\n", "float.csv", {},
         "user_id"),
        ("file name traversal", good, f"../../../..{outside_folder(data_dir)}/pwn.csv", {}, ""),
    ]
    for attack, content, filename, fields, expect in cases:
        response = upload(url, content, filename, **fields)
        ok = response.status_code == 400 and (not expect or expect in response.text)
        if attack == "file name traversal":
            ok = response.status_code in (201, 400) and not (outside_folder(data_dir) / "pwn.csv").exists()
        record("1", f"upload: {attack}", f"POST /api/datasets/uploads file={filename!r} {fields or ''}",
               short(response), ok)
    kept_after = sorted(p for p in uploads_dir.rglob("*") if p.is_file()) if uploads_dir.exists() else []
    registered = len(kept_after) - len(kept_before)
    record("1", "refused uploads keep no file", f"ls {uploads_dir}", f"{registered} new files (1 allowed: the "
           "traversal name may register safely)", registered <= 1)
    oversize_claimed(url)


def oversize_claimed(url: str) -> None:
    """A multipart request declaring 600 MiB: refused from its Content-Length before any byte is stored."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port or 80), timeout=30)
    length = 600 * 1024 * 1024
    head = (f"POST /api/datasets/uploads HTTP/1.1\r\nHost: {parsed.netloc}\r\n"
            f"Content-Type: multipart/form-data; boundary=xx\r\nContent-Length: {length}\r\n\r\n")
    sock.sendall(head.encode() + b"--xx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n")
    sock.sendall(b"user_id,item_id\n" * 4096)
    start = time.monotonic()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer and time.monotonic() - start < 20:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    except OSError as exc:
        answer += f" ({exc})".encode()
    sock.close()
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    record("1", "upload: declared 600 MiB > limit", "POST /api/datasets/uploads Content-Length: 629145600",
           f"{status} after {time.monotonic() - start:.2f} s", " 413 " in status)


def oversize_streamed(url: str, limit: int) -> None:
    """A real body past a small PLATFORM_UPLOAD_MAX_BYTES, sent chunked (no Content-Length)."""
    def body() -> Any:
        yield b"--xx\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbig\r\n"
        yield b"--xx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\nuser_id,item_id\n"
        for _ in range(limit // 65536 + 20):
            yield b"u1,i1\n" * 10923
        yield b"\r\n--xx--\r\n"
    try:
        response = requests.post(f"{url}/api/datasets/uploads", data=body(), timeout=120,
                                 headers={"Content-Type": "multipart/form-data; boundary=xx"})
        answer, ok = short(response), response.status_code == 413
    except requests.RequestException as exc:
        answer, ok = f"connection closed: {exc.__class__.__name__}", False
    record("1", f"upload: streamed chunked body > {limit} B limit", "POST /api/datasets/uploads chunked", answer, ok)


def first_configs(url: str) -> tuple[str, str]:
    features = requests.get(f"{url}/api/feature-configs", timeout=30).json()["items"]
    models = requests.get(f"{url}/api/model-configs", timeout=30).json()["items"]
    return features[0]["id"], models[0]["id"]


def ensure_configs(url: str) -> tuple[str, str]:
    features = requests.get(f"{url}/api/feature-configs", timeout=30).json()["items"]
    if not features:
        response = requests.post(f"{url}/api/feature-configs", timeout=30, json={
            "name": "attack ids", "dataset_id": "movielens-100k-first-50-users",
            "query_features": [{"column": "user_id", "kind": "id", "embedding_dim": 16}],
            "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 16}], "cross_features": []})
        response.raise_for_status()
    models = requests.get(f"{url}/api/model-configs", timeout=30).json()["items"]
    if not models:
        response = requests.post(f"{url}/api/model-configs", timeout=30, json={
            "name": "attack tiny", "query_tower_layers": [16], "candidate_tower_layers": [16], "optimizer": "adagrad",
            "learning_rate": 0.1, "epochs": 2, "batch_size": 256})
        response.raise_for_status()
    return first_configs(url)


def types(url: str) -> None:
    feature_id, model_id = ensure_configs(url)
    model = {"name": "typed", "query_tower_layers": [16], "candidate_tower_layers": [16], "optimizer": "adagrad",
             "learning_rate": 0.1, "epochs": 2, "batch_size": 256}
    start = {"name": "typed", "description": "", "feature_config_id": feature_id, "model_config_id": model_id,
             "parameters": {"sample_percent": 25, "hardware_tier": "medium"}}
    cases: list[tuple[str, str, Any, str]] = [
        ('model "name": null', "/api/model-configs", {**model, "name": None}, "name"),
        ("model bare integer body", "/api/model-configs", 42, "body"),
        ("model epochs: true", "/api/model-configs", {**model, "epochs": True}, "epochs"),
        ('model epochs: "3"', "/api/model-configs", {**model, "epochs": "3"}, "epochs"),
        ('model batch_size: 256.5', "/api/model-configs", {**model, "batch_size": 256.5}, "batch_size"),
        ('model learning_rate: "0.1"', "/api/model-configs", {**model, "learning_rate": "0.1"}, "learning_rate"),
        ('experiment "name": null', "/api/experiments", {**start, "name": None}, "name"),
        ("experiment bare integer body", "/api/experiments", 7, "body"),
        ("experiment bare list body", "/api/experiments", [start], "body"),
        ('experiment sample_percent: "25"', "/api/experiments",
         {**start, "parameters": {"sample_percent": "25", "hardware_tier": "medium"}}, "sample_percent"),
        ("experiment sample_percent: true", "/api/experiments",
         {**start, "parameters": {"sample_percent": True, "hardware_tier": "medium"}}, "sample_percent"),
        ('dataset "name": null', "/api/datasets", {**dataset_body("x.csv"), "name": None}, "name"),
        ('feature embedding_dim: "16"', "/api/feature-configs", {
            "name": "f", "dataset_id": "movielens-100k-first-50-users",
            "query_features": [{"column": "user_id", "kind": "id", "embedding_dim": "16"}],
            "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 16}], "cross_features": []},
         "embedding_dim"),
    ]
    for attack, path, body, field in cases:
        response = requests.post(f"{url}{path}", json=body, timeout=30)
        try:
            data = response.json()
        except ValueError:
            data = {}
        named = field in str(data.get("field", "")) or field in str(data.get("message", ""))
        record("6", attack, f"POST {path} {json.dumps(body)[:80]}", short(response),
               response.status_code == 400 and named)


def start_body(url: str, name: str) -> dict[str, Any]:
    feature_id, model_id = ensure_configs(url)
    return {"name": name, "description": "admission attack", "feature_config_id": feature_id,
            "model_config_id": model_id, "parameters": {"sample_percent": 25, "hardware_tier": "medium"}}


def admission(url: str, data_dir: Path, count: int) -> None:
    body = start_body(url, "burst")

    shed: list[int] = []

    def post(i: int) -> requests.Response:
        """As a well-behaved client: a 503 (the gateway's backpressure) is retried after its Retry-After."""
        for _ in range(60):
            response = requests.post(f"{url}/api/experiments", json={**body, "name": f"burst {i}"}, timeout=120)
            if response.status_code != 503:
                return response
            shed.append(i)
            time.sleep(float(response.headers.get("Retry-After", "1")))
        return response

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(post, range(count)))
    took = time.monotonic() - started
    codes: dict[int, int] = {}
    for response in answers:
        codes[response.status_code] = codes.get(response.status_code, 0) + 1
    refused = [r for r in answers if r.status_code == 429]
    retry = all(r.headers.get("Retry-After") for r in refused)
    record("2", f"{count} concurrent starts", f"{count} x POST /api/experiments at once",
           f"{codes} in {took:.1f} s ({len(shed)} 503s retried); refusals with Retry-After: {retry}; e.g. "
           f"{short(refused[0], 200) if refused else '-'}", bool(refused) and retry)
    statuses = experiment_statuses(url)
    running = sum(n for s, n in statuses.items() if s in ("submitting", "pending", "running"))
    record("2", "at most the limit running", "GET /api/experiments (statuses)", f"{statuses}", running <= 1)
    (data_dir / "admission.json").write_text(json.dumps([r.json() for r in answers if r.status_code == 201]))


def experiment_statuses(url: str) -> dict[str, int]:
    items = requests.get(f"{url}/api/experiments?limit=200", timeout=60).json()["items"]
    counts: dict[str, int] = {}
    for item in items:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return counts


VOLATILE = ("updated_at", "queue_position", "queue_length", "tracking")


def push(watcher: str, path: str, payload: dict[str, Any], kind: str, headers: dict[str, str] | None = None,
         ) -> requests.Response:
    """A Pub/Sub push envelope of ``payload`` (a message's JSON, ``type`` attribute ``kind``), as anyone can send."""
    data = base64.b64encode(json.dumps(payload).encode()).decode()
    envelope = {"message": {"data": data, "attributes": {"type": kind}, "messageId": str(time.monotonic_ns())},
                "subscription": "projects/local/subscriptions/forged"}
    return requests.post(f"{watcher}{path}", json=envelope, headers=headers or {}, timeout=60)


def stored(url: str, experiment_id: str) -> dict[str, Any]:
    doc = requests.get(f"{url}/api/experiments/{experiment_id}", timeout=30).json()
    return {k: v for k, v in doc.items() if k not in VOLATILE}


def by_status(url: str, status: str) -> list[dict[str, Any]]:
    items = requests.get(f"{url}/api/experiments?status={status}&page_size=100", timeout=30).json()["items"]
    return sorted(items, key=lambda d: d["number"])


def events(url: str, watcher: str, secured: str) -> None:
    terminal = [by_status(url, status)[0] for status in ("completed", "cancelled", "failed") if by_status(url, status)]
    forged_job = "projects/local/locations/local/pipelineJobs/forged-job-20260101000000"
    for experiment in terminal:
        experiment_id, before = experiment["id"], stored(url, experiment["id"])
        job = experiment.get("pipeline_job_name") or forged_job
        answers = [
            push(watcher, "/pubsub/pipeline-state", {"experiment_id": experiment_id, "job_name": job,
                 "task_name": "Trainer", "stage": "train", "state": "FAILED", "error_message": "forged"},
                 "PipelineTaskStateChanged"),
            push(watcher, "/pubsub/pipeline-state", {"experiment_id": experiment_id, "job_name": forged_job,
                 "state": "PIPELINE_STATE_FAILED", "error_message": "forged"}, "PipelineJobStateChanged"),
            push(watcher, "/pubsub/cloud-builds", {"experiment_id": experiment_id, "build_id": "forged-build",
                 "status": "SUCCESS", "pipeline_job_name": forged_job}, "BuildFinished"),
            push(watcher, "/pubsub/experiment-cancel", {"experiment_id": experiment_id}, "CancelExperiment"),
        ]
        after = stored(url, experiment_id)
        changed = sorted(k for k in before if before[k] != after.get(k))
        record("3", f"events on a {experiment['status']} experiment (Exp #{experiment['number']})",
               "task FAILED, job FAILED (another job), build SUCCESS (another build), cancel",
               f"{[a.status_code for a in answers]}; fields changed: {changed or 'none'}", not changed)
    waiting = by_status(url, "queued") or by_status(url, "pending")
    if waiting:
        target = waiting[-1]
        before = stored(url, target["id"])
        answer = push(watcher, "/pubsub/pipeline-state", {"experiment_id": target["id"], "job_name": forged_job,
                      "task_name": "Trainer", "stage": "train", "state": "RUNNING"}, "PipelineTaskStateChanged")
        after = stored(url, target["id"])
        changed = sorted(k for k in before if before[k] != after.get(k))
        record("3", f"forged task event naming a made-up job ({target['status']} Exp #{target['number']})",
               f"POST /pubsub/pipeline-state task RUNNING job={forged_job.rsplit('/', 1)[-1]}",
               f"{short(answer)}; job now {after.get('pipeline_job_name')}; changed: {changed or 'none'}",
               answer.status_code < 500 and not changed)
    running = by_status(url, "running") + by_status(url, "submitting")
    if running:
        target = running[0]
        before = stored(url, target["id"])
        answer = push(watcher, "/pubsub/pipeline-state", {"experiment_id": target["id"], "job_name": forged_job,
                      "state": "PIPELINE_STATE_FAILED", "error_message": "forged"}, "PipelineJobStateChanged")
        after = stored(url, target["id"])
        record("3", f"job event naming another job ({target['status']} Exp #{target['number']})",
               "POST /pubsub/pipeline-state PIPELINE_STATE_FAILED for a made-up job",
               f"{short(answer)}; status {before['status']} -> {after['status']}, job {after.get('pipeline_job_name')}",
               answer.status_code in (200, 204, 503) and after["status"] == before["status"]
               and after.get("pipeline_job_name") == before.get("pipeline_job_name"))
    for bad_id in ("../../etc/passwd", "a/b", "", "x" * 2000, "__id__"):
        answer = push(watcher, "/pubsub/pipeline-state", {"experiment_id": bad_id, "job_name": forged_job,
                      "state": "PIPELINE_STATE_FAILED"}, "PipelineJobStateChanged")
        record("3", f"invalid experiment id {bad_id[:20]!r}", "POST /pubsub/pipeline-state", short(answer),
               answer.status_code == 200 and "ignored" in answer.text)
    for megabytes in (11, 14):
        # a 10 MB Pub/Sub message makes a push envelope of about 13.4 MB (its data base64-encoded)
        big = b'{"message": {"data": "' + b"A" * (megabytes * 1000 * 1000) + b'"}}'
        answer = requests.post(f"{watcher}/pubsub/pipeline-state", data=big, timeout=60,
                               headers={"Content-Type": "application/json"})
        expected = (200, 400) if megabytes == 11 else (413,)
        record("3", f"{megabytes} MB push body", f"POST /pubsub/pipeline-state {megabytes} MB envelope "
               f"({megabytes * 3 / 4:.2f} MB of data)", short(answer), answer.status_code in expected)
    answer = requests.post(f"{url}/api/model-configs", data=b"x" * (2 * 1024 * 1024), timeout=60,
                           headers={"Content-Type": "application/json"})
    record("3", "2 MiB API body", "POST /api/model-configs 2 MiB", short(answer), answer.status_code == 413)
    for target, path in ((watcher, "/pubsub/pipeline-state"), (url, "/api/experiments")):
        answer = requests.post(f"{target}{path}", data="[" * 100000 + "]" * 100000, timeout=60,
                               headers={"Content-Type": "application/json"})
        record("3", f"deeply nested JSON to {path}", f"POST {path} [ x 100,000", short(answer),
               answer.status_code == 400 and answer.headers.get("Content-Type", "").startswith("application/json"))
    payload = {"experiment_id": terminal[0]["id"] if terminal else "abc", "job_name": forged_job,
               "state": "PIPELINE_STATE_FAILED"}
    for name, headers in (("no token", {}), ("garbage bearer", {"Authorization": "Bearer not-a-token"}),
                          ("unsigned JWT", {"Authorization": "Bearer " + unsigned_jwt()})):
        answer = push(secured, "/pubsub/pipeline-state", payload, "PipelineJobStateChanged", headers)
        record("3", f"push with auth on: {name}", "POST /pubsub/pipeline-state (PLATFORM_OIDC_AUDIENCE set)",
               short(answer), answer.status_code == 401)
    answer = requests.post(f"{secured}/tasks/reconcile", timeout=60)
    record("3", "reconcile with auth on: no token", "POST /tasks/reconcile", short(answer), answer.status_code == 401)


def unsigned_jwt() -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    claims = {"iss": "https://accounts.google.com", "aud": "https://status-watcher.example.run.app",
              "email": "push@proj.iam.gserviceaccount.com", "email_verified": True,
              "iat": int(time.time()), "exp": int(time.time()) + 3600}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def mlflow_group(port: int) -> tuple[int, list[str]]:
    """The process group of the MLflow server listening on ``port`` and its leader's command line."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        if cols[1].endswith(f":{port:04X}") and cols[3] == "0A":
            inode = cols[9]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) == f"socket:[{inode}]" for fd in (proc / "fd").iterdir()):
                pgid = os.getpgid(int(proc.name))
                return pgid, (Path(f"/proc/{pgid}/cmdline").read_text().split("\0"))[:-1]
        except OSError:
            continue
    raise RuntimeError(f"no process listens on port {port}")


def wait_for(what: str, check: Any, timeout_s: float, every_s: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every_s)
    raise TimeoutError(f"{what} within {timeout_s:.0f} s")


def fresh_start(url: str, name: str, learning_rate: float) -> str:
    feature_id, _ = ensure_configs(url)
    model = requests.post(f"{url}/api/model-configs", timeout=30, json={
        "name": name, "query_tower_layers": [16], "candidate_tower_layers": [16], "optimizer": "adagrad",
        "learning_rate": learning_rate, "epochs": 6, "batch_size": 128})
    model.raise_for_status()
    started = requests.post(f"{url}/api/experiments", timeout=60, json={
        "name": name, "description": "MLflow outage attack", "feature_config_id": feature_id,
        "model_config_id": model.json()["id"], "parameters": {"sample_percent": 100, "hardware_tier": "medium"}})
    started.raise_for_status()
    return str(started.json()["id"])


def training(url: str, experiment_id: str) -> dict[str, Any] | None:
    doc = requests.get(f"{url}/api/experiments/{experiment_id}", timeout=30).json()
    train = (doc.get("stages") or {}).get("train") or {}
    return doc if train.get("status") == "running" else None


def ended(url: str, experiment_id: str) -> dict[str, Any] | None:
    doc = requests.get(f"{url}/api/experiments/{experiment_id}", timeout=30).json()
    return doc if doc["status"] in ("completed", "failed", "cancelled") else None


def mlflow_outage(url: str, data_dir: Path, mlflow: str) -> None:
    port = urlparse(mlflow).port or 5000
    timeline: list[str] = []
    t0 = time.monotonic()

    def mark(event: str) -> None:
        timeline.append(f"{time.monotonic() - t0:6.1f} s {event}")
        print(timeline[-1], flush=True)

    experiment_id = fresh_start(url, f"outage {int(time.time())}", 0.0713)
    mark(f"started {experiment_id}")
    wait_for("the Trainer running", lambda: training(url, experiment_id), 900)
    pgid, command = mlflow_group(port)
    os.killpg(pgid, 9)
    mark(f"Trainer running: MLflow killed (process group {pgid})")
    doc = wait_for("the experiment ending", lambda: ended(url, experiment_id), 900)
    mark(f"experiment {doc['status']} with MLflow down; tracking {doc.get('tracking')}")
    during = requests.get(f"{url}/api/experiments/{experiment_id}/training-history", timeout=60).json()
    mark(f"training history while MLflow is down: source {during.get('source')}, notice {during.get('notice')}")
    record("4", "MLflow killed mid-Trainer: the experiment completes", "kill -9 the MLflow server during Train",
           f"{doc['status']}; tracking state {(doc.get('tracking') or {}).get('state')}",
           doc["status"] == "completed" and (doc.get("tracking") or {}).get("state") == "delayed")
    log = (Path(tempfile.gettempdir()) / f"mlflow-{port}.log").open("ab")
    subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True, cwd=os.getcwd())  # noqa: S603
    wait_for("MLflow back", lambda: mlflow_up(mlflow), 120)
    mark("MLflow back on the same database")
    synced = wait_for("tracking synced", lambda: (lambda d: d if (d.get("tracking") or {}).get("state") == "synced"
                                                   else None)(requests.get(f"{url}/api/experiments/{experiment_id}",
                                                                           timeout=30).json()), 180, 3)
    mark(f"tracking {synced['tracking']}")
    after = requests.get(f"{url}/api/experiments/{experiment_id}/training-history", timeout=60).json()
    run_id = synced["tracking"]["run_id"]
    run = requests.get(f"{mlflow}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=30).json()["run"]
    differences = journal_differences(data_dir / "artifacts" / "experiments" / experiment_id / "tracking.json",
                                      mlflow, run)
    mark(f"MLflow run {run['info']['status']}; history from {after.get('source')}; differences from the "
         f"trainer's journal: {differences or 'none'}")
    record("4", "MLflow back: the run holds the same numbers", "tracking.json (every epoch, final metrics, params) "
           "vs MLflow's metric histories after the sync", f"run {run['info']['status']}, "
           f"{len(after.get('series') or {})} series, differences: {differences or 'none'}",
           not differences and run["info"]["status"] == "FINISHED" and after.get("source") == "mlflow")

    cancelled = fresh_start(url, f"outage cancel {int(time.time())}", 0.0611)
    mark(f"started {cancelled} to cancel")
    wait_for("the Trainer running", lambda: training(url, cancelled), 900)
    requests.post(f"{url}/api/experiments/{cancelled}/cancel", timeout=30)
    mark("cancelled during Train")
    doc = wait_for("the experiment ending", lambda: ended(url, cancelled), 300)
    tracked = wait_for("the run ended in MLflow", lambda: (lambda d: d if (d.get("tracking") or {}).get("state")
                                                            == "synced" else None)(requests.get(
        f"{url}/api/experiments/{cancelled}", timeout=30).json()), 120, 3)
    run = requests.get(f"{mlflow}/api/2.0/mlflow/runs/get", params={"run_id": tracked["tracking"]["run_id"]},
                       timeout=30).json()["run"]
    mark(f"{doc['status']}; MLflow run {run['info']['status']}")
    record("4", "a cancelled run ends KILLED", "POST cancel during Train", f"{doc['status']}, MLflow "
           f"{run['info']['status']}", doc["status"] == "cancelled" and run["info"]["status"] == "KILLED")
    print("\n".join(timeline))


def journal_differences(journal_path: Path, mlflow: str, run: dict[str, Any]) -> list[str]:
    """What MLflow's run lacks or holds otherwise than the trainer's journal (every epoch, final metrics, params)."""
    journal = json.loads(journal_path.read_text())
    run_id = run["info"]["run_id"]
    histories: dict[str, list[dict[str, Any]]] = {}
    differences = []
    for epoch in journal["epochs"]:
        for key, value in epoch["metrics"].items():
            if key not in histories:
                histories[key] = requests.get(f"{mlflow}/api/2.0/mlflow/metrics/get-history", timeout=30,
                                              params={"run_id": run_id, "metric_key": key}).json().get("metrics", [])
            if [m["value"] for m in histories[key] if m["step"] == epoch["step"]] != [value]:
                differences.append(f"{key}@{epoch['step']}")
    latest = {m["key"]: m["value"] for m in run["data"].get("metrics", [])}
    final = (journal.get("final") or {}).get("metrics", {})
    differences += [f"final {k}" for k, v in final.items() if latest.get(k) != v]
    if journal["params"] != {p["key"]: p["value"] for p in run["data"].get("params", [])}:
        differences.append("params")
    return differences


def mlflow_up(mlflow: str) -> bool:
    try:
        return requests.get(f"{mlflow}/health", timeout=2).ok
    except requests.RequestException:
        return False


def floods(url: str) -> None:
    """Other ways to start experiments than POST /api/experiments: sweeps and watches pinned with configs."""
    feature_id, model_id = ensure_configs(url)
    body = {"name": "queue flood", "description": "", "feature_config_id": feature_id, "model_config_id": model_id,
            "parameters": {"sample_percent": 25, "hardware_tier": "medium"},
            "axes": [{"field": "learning_rate", "values": [0.011 * (i + 1) for i in range(8)]}], "repeats": 4}
    bound = None
    answers = []
    for i in range(2):
        response = requests.post(f"{url}/api/sweeps", json={**body, "name": f"flood {i}"}, timeout=300)
        answers.append(response)
        if response.status_code == 429:
            bound = response.json()["details"]["max_queued_runs"]
    waiting = sum(n for status, n in experiment_statuses(url).items() if status in ("queued", "pending"))
    record("2", "two sweeps of 32 experiments", "2 x POST /api/sweeps (8 learning rates x 4 repeats)",
           f"{[short(a, 120) for a in answers]}; {waiting} waiting", bound is not None and waiting <= bound)
    for response in answers:
        if response.status_code == 202:
            requests.post(f"{url}/api/sweeps/{response.json()['id']}/cancel", timeout=60)
    dataset = requests.get(f"{url}/api/feature-configs/{feature_id}", timeout=30).json()["dataset_id"]
    codes: dict[int, int] = {}
    for n in range(30):  # each another learning rate: the same quick test pinned again answers its watch (200)
        response = requests.post(f"{url}/api/datasets/{dataset}/watches", timeout=120, json={
            "feature_config_id": feature_id, "model_config_id": model_id,
            "parameters": {"sample_percent": 25, "hardware_tier": "medium", "learning_rate": 0.05 + n / 100}})
        codes[response.status_code] = codes.get(response.status_code, 0) + 1
    waiting = sum(n for status, n in experiment_statuses(url).items() if status in ("queued", "pending"))
    record("2", "30 watches pinned with configs", "30 x POST /api/datasets/{id}/watches", f"{codes}; {waiting} waiting",
           429 in codes and (bound is None or waiting <= bound))
    for watch in requests.get(f"{url}/api/datasets/{dataset}/watches", timeout=30).json()["watches"]:
        requests.delete(f"{url}/api/datasets/{dataset}/watches/{watch['id']}", timeout=30)
    for item in requests.get(f"{url}/api/experiments?status=queued&page_size=100", timeout=30).json()["items"]:
        requests.post(f"{url}/api/experiments/{item['id']}/cancel", timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8190")
    parser.add_argument("--data-dir", type=Path, required=True, help="the stack's PLATFORM_DATA_DIR")
    parser.add_argument("--section", action="append", required=True,
                        choices=["datasets", "types", "admission", "oversize", "events", "mlflow", "floods"])
    parser.add_argument("--mlflow", default="http://127.0.0.1:5190", help="the stack's MLflow server (killed)")
    parser.add_argument("--watcher", default="http://127.0.0.1:8192", help="a status_watcher, authentication off")
    parser.add_argument("--secured", default="http://127.0.0.1:8193", help="a status_watcher, authentication on")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--limit", type=int, default=1024 * 1024, help="the stack's PLATFORM_UPLOAD_MAX_BYTES")
    args = parser.parse_args()
    for section in args.section:
        if section == "datasets":
            datasets(args.url, args.data_dir)
        elif section == "types":
            types(args.url)
        elif section == "admission":
            admission(args.url, args.data_dir, args.count)
        elif section == "floods":
            floods(args.url)
        elif section == "mlflow":
            mlflow_outage(args.url, args.data_dir, args.mlflow)
        elif section == "events":
            events(args.url, args.watcher, args.secured)
        elif section == "oversize":
            oversize_streamed(args.url, args.limit)
    print("\n| § | attack | request | answer | result |\n|---|---|---|---|---|")
    for row in ROWS:
        cells = [row["section"], row["attack"], row["request"], row["answer"], "pass" if row["pass"] else "FAIL"]
        print("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    print(json.dumps({"passed": sum(r["pass"] for r in ROWS), "failed": sum(not r["pass"] for r in ROWS)}))


if __name__ == "__main__":
    main()
