"""Contract of ports.logs.LogStore: local component log files, and Cloud Logging checked at its HTTP transport.

The Cloud Logging adapter talks to a local HTTP server standing in for ``logging.googleapis.com``
(``POST /v2/entries:list``) and the Vertex AI REST endpoint (``GET /v1/{pipeline job}``); the real
google-cloud-logging and aiplatform clients send their real requests to it, and the tests assert
the exact request bodies.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.cloud_logging import CloudLoggingLogStore
from experiments_platform.adapters.local_logs import LocalLogStore
from experiments_platform.errors import InvalidInput
from experiments_platform.ports.logs import LogSource, LogStore
from google.auth.credentials import AnonymousCredentials

PROJECT = "demo-project"
JOB_NAME = "projects/123/locations/europe-west1/pipelineJobs/qt-e1-abc"
CREATED_AT = "2026-01-05T10:00:00.000000Z"
E1 = LogSource("e1", since=datetime(2026, 1, 5, 10, tzinfo=timezone.utc), build_id="build-42",
               pipeline_job_name=JOB_NAME)


@dataclass
class GoogleApis:
    """Records requests and answers like the Logging and Vertex AI REST APIs."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    pipeline_job: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)

    def answer(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        self.requests.append((method, path, body))
        if method == "POST" and path == "/v2/entries:list":
            assert body is not None
            newest_first = sorted(self.entries, key=lambda e: e["timestamp"], reverse=True)
            return 200, {"entries": newest_first[: body.get("pageSize", 1000)]}
        if method == "GET" and path == f"/v1/{JOB_NAME}":
            if not self.pipeline_job:
                return 404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}
            return 200, self.pipeline_job
        return 404, {"error": {"code": 404, "message": f"unexpected {method} {path}", "status": "NOT_FOUND"}}


@pytest.fixture
def apis() -> Iterator[tuple[GoogleApis, str]]:
    state = GoogleApis()

    class Handler(BaseHTTPRequestHandler):
        def _respond(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, payload = state.answer(method, self.path.split("?")[0], body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self._respond("POST")

        def do_GET(self) -> None:
            self._respond("GET")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield state, f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def cloud_store(host: str) -> CloudLoggingLogStore:
    from google.cloud import logging as cloud_logging
    from google.cloud.aiplatform_v1 import PipelineServiceClient
    from google.cloud.aiplatform_v1.services.pipeline_service.transports import PipelineServiceRestTransport

    logging_client = cloud_logging.Client(
        project=PROJECT, credentials=AnonymousCredentials(), _use_grpc=False,
        client_options={"api_endpoint": f"http://{host}"},
    )
    transport = PipelineServiceRestTransport(host=host, url_scheme="http", credentials=AnonymousCredentials())
    return CloudLoggingLogStore(PROJECT, logging_client, PipelineServiceClient(transport=transport))


@dataclass
class Logs:
    store: LogStore
    write: Any


@pytest.fixture(params=["local", "cloudlogging"])
def logs(request: pytest.FixtureRequest, tmp_path: Path) -> Logs:
    if request.param == "local":
        root = tmp_path / "logs"

        def write_file(component: str, lines: list[str]) -> None:
            path = root / "e1" / f"{component}.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{line}\n" for line in lines))

        return Logs(LocalLogStore(root), write_file)
    state, host = request.getfixturevalue("apis")

    def write_entries(component: str, lines: list[str]) -> None:
        state.pipeline_job = {"name": JOB_NAME, "jobDetail": {"taskDetails": [
            {"taskName": component, "executorDetail": {"containerDetail": {
                "mainJob": "projects/123/locations/europe-west1/customJobs/777"}}},
        ]}}
        state.entries = [
            {"logName": f"projects/{PROJECT}/logs/x", "textPayload": line, "timestamp": f"2026-01-05T10:00:{i:02d}Z",
             "resource": {"type": "ml_job", "labels": {"job_id": "777"}}}
            for i, line in enumerate(lines)
        ]

    return Logs(cloud_store(host), write_entries)


def test_tail_returns_the_last_lines_oldest_first(logs: Logs) -> None:
    logs.write("Trainer", [f"epoch {i}" for i in range(10)])
    assert logs.store.tail(E1, "Trainer", lines=3) == ["epoch 7", "epoch 8", "epoch 9"]
    assert logs.store.tail(E1, "Trainer", lines=50) == [f"epoch {i}" for i in range(10)]


def test_tail_of_a_component_without_logs_is_empty(logs: Logs) -> None:
    assert logs.store.tail(E1, "Transform") == []


@pytest.mark.parametrize(("component", "lines"), [("../secrets", 10), ("Trainer", 0), ("Trainer", 10_001)])
def test_bad_arguments_are_rejected_naming_the_field(logs: Logs, component: str, lines: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        logs.store.tail(E1, component, lines=lines)
    assert raised.value.field in ("component", "lines")


def test_local_tail_reads_only_the_end_of_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "e1" / "Transform.log"
    path.parent.mkdir(parents=True)
    with path.open("w") as out:
        for i in range(200_000):
            out.write(f"line {i} {'x' * 40}\n")
    store = LocalLogStore(tmp_path / "logs")
    assert store.tail(E1, "Transform", lines=2) == [f"line 199998 {'x' * 40}", f"line 199999 {'x' * 40}"]
    with pytest.raises(InvalidInput, match="experiment_id"):
        store.tail(replace(E1, experiment_id=".."), "Transform")


def test_cloud_task_logs_request(apis: tuple[GoogleApis, str]) -> None:
    state, host = apis
    state.pipeline_job = {"name": JOB_NAME, "jobDetail": {"taskDetails": [
        {"taskName": name,
         "executorDetail": {"containerDetail": {"mainJob": f"projects/1/locations/l/customJobs/{job}"}}}
        for name, job in (("Transform", 5), ("Trainer", 777))
    ]}}
    state.entries = [
        {"logName": "projects/demo-project/logs/x", "jsonPayload": {"message": "loss=0.1\n", "epoch": 1},
         "timestamp": "2026-01-05T10:01:00Z"},
        {"logName": "projects/demo-project/logs/x", "jsonPayload": {"epoch": 2}, "timestamp": "2026-01-05T10:02:00Z"},
    ]
    lines = cloud_store(host).tail(E1, "Trainer", lines=25)
    assert lines == ['2026-01-05 10:01:00,000 INFO -: loss=0.1 {"epoch": 1}',
                     '2026-01-05 10:02:00,000 INFO -: {"epoch": 2}']
    (get_method, get_path, _), (list_method, list_path, body) = state.requests
    assert (get_method, get_path) == ("GET", f"/v1/{JOB_NAME}")
    assert (list_method, list_path) == ("POST", "/v2/entries:list")
    assert body == {
        "resourceNames": ["projects/demo-project"],
        "filter": 'resource.type="ml_job" AND resource.labels.job_id="777" AND timestamp>="' + CREATED_AT + '"',
        "orderBy": "timestamp desc",
        "pageSize": 25,
    }


def test_cloud_compile_logs_come_from_the_build(apis: tuple[GoogleApis, str]) -> None:
    state, host = apis
    state.entries = [{"logName": "projects/demo-project/logs/cloudbuild", "textPayload": "Step #0: compiling",
                      "timestamp": "2026-01-05T10:00:30Z"}]
    assert cloud_store(host).tail(E1, "Compile", lines=100) == ["Step #0: compiling"]
    [(method, path, body)] = state.requests
    assert body is not None
    assert body["filter"] == (
        'resource.type="build" AND resource.labels.build_id="build-42" AND timestamp>="2026-01-05T10:00:00.000000Z"'
    )
    assert (body["orderBy"], body["pageSize"]) == ("timestamp desc", 100)


def test_cloud_logs_before_the_ids_exist(apis: tuple[GoogleApis, str]) -> None:
    state, host = apis
    store = cloud_store(host)
    fresh = LogSource("e2", since=E1.since)
    assert store.tail(fresh, "Compile") == []
    assert store.tail(fresh, "Trainer") == []
    assert store.tail(E1, "Trainer") == []
    assert [(m, p) for m, p, _ in state.requests] == [("GET", f"/v1/{JOB_NAME}")]


def test_filter_values_are_quoted(apis: tuple[GoogleApis, str]) -> None:
    state, host = apis
    cloud_store(host).tail(replace(E1, build_id='x" OR "1"="1'), "Compile")
    body = state.requests[-1][2]
    assert body is not None
    assert 'resource.labels.build_id="x\\" OR \\"1\\"=\\"1"' in body["filter"]


# A trainer's record as Cloud Logging keeps it (the LogEntry REST shape, logging.googleapis.com/v2 entries.list):
# a Vertex AI CustomJob's container wrote one JSON line (jsonlog.JsonFormatter) and Cloud Logging parsed it into
# jsonPayload, lifting "severity" and "time" into the entry's severity and timestamp.
VERTEX_EPOCH = {
    "insertId": "1x8k2f3g4h5j6",
    "jsonPayload": {"message": "epoch finished", "logger": "experiments_platform.pipeline.trainer",
                    "service": "pipeline", "epoch": 2, "loss": 812.4, "val_loss": 90.5},
    "resource": {"type": "ml_job", "labels": {"job_id": "777", "project_id": PROJECT, "task_name": "workerpool0-0"}},
    "timestamp": "2026-01-05T10:03:04.567891Z",
    "severity": "INFO",
    "labels": {"ml.googleapis.com/endpoint": "", "ml.googleapis.com/job_id/log_area": "root"},
    "logName": f"projects/{PROJECT}/logs/workerpool0-0",
    "receiveTimestamp": "2026-01-05T10:03:05.012345678Z",
}


def test_a_json_entry_keeps_its_fields_as_the_local_component_log_writes_them(apis: tuple[GoogleApis, str]) -> None:
    """Issue 15: a JSON entry kept only its message ("epoch finished"), so epochs lost their numbers on Vertex."""
    from experiments_platform.domain.log_summary import summarize

    state, host = apis
    state.pipeline_job = {"name": JOB_NAME, "jobDetail": {"taskDetails": [
        {"taskName": "Trainer", "executorDetail": {"containerDetail": {
            "mainJob": "projects/123/locations/europe-west1/customJobs/777"}}}]}}
    warning = {**VERTEX_EPOCH, "insertId": "2", "timestamp": "2026-01-05T10:03:05Z", "severity": "WARNING",
               "jsonPayload": {"message": "Skipping 3 rows", "logger": "experiments_platform.pipeline.trainer"}}
    state.entries = [VERTEX_EPOCH, warning]
    lines = cloud_store(host).tail(E1, "Trainer")
    assert lines == [
        '2026-01-05 10:03:04,567 INFO experiments_platform.pipeline.trainer: epoch finished '
        '{"epoch": 2, "loss": 812.4, "val_loss": 90.5}',
        "2026-01-05 10:03:05,000 WARNING experiments_platform.pipeline.trainer: Skipping 3 rows"]
    assert [(e.kind, e.text) for e in summarize(lines).entries] == [
        ("epoch", "Epoch 2: loss 812.4, validation loss 90.5"), ("warning", "Skipping 3 rows")]
