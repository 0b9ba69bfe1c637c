"""Child jobs of an experiment on GCP (issue 13 item 6): the Trainer's Vertex AI custom job over the
real JobServiceClient and gRPC (a recorder server on 127.0.0.1), Dataflow jobs over the real REST
calls (a recorder HTTP server), found by the experiment label and cancelled with the pipeline."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc
import pytest
import requests
from experiments_platform.adapters.vertex_children import CUSTOM_JOB, DATAFLOW_JOB, VertexChildJobs
from google.cloud import aiplatform_v1
from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport
from google.protobuf import empty_pb2
from grpc_recorder import GrpcRecorder, Method, serving

PROJECT, REGION, EXPERIMENT = "demo-project", "europe-west1", "e42"
TRAINER_JOB = f"projects/123456789012/locations/{REGION}/customJobs/777"


class JobServiceRecorder(GrpcRecorder):
    """ListCustomJobs answers the jobs in ``jobs`` whose labels match the filter; CancelCustomJob
    turns a job JOB_STATE_CANCELLING, as Vertex AI does (the job ends later)."""

    def __init__(self) -> None:
        self.jobs: dict[str, aiplatform_v1.CustomJob] = {}
        super().__init__("google.cloud.aiplatform.v1.JobService", {
            "ListCustomJobs": Method(aiplatform_v1.ListCustomJobsRequest,
                                     aiplatform_v1.ListCustomJobsResponse.serialize, self.list_jobs),
            "CancelCustomJob": Method(aiplatform_v1.CancelCustomJobRequest, empty_pb2.Empty.SerializeToString,
                                      self.cancel_job),
        })

    def list_jobs(self, request: Any, context: grpc.ServicerContext) -> aiplatform_v1.ListCustomJobsResponse:
        key, value = request.filter.removeprefix("labels.").split("=", 1)
        return aiplatform_v1.ListCustomJobsResponse(custom_jobs=[
            job for job in self.jobs.values() if job.labels.get(key) == json.loads(value)])

    def cancel_job(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.jobs[request.name].state = aiplatform_v1.JobState.JOB_STATE_CANCELLING
        return empty_pb2.Empty()


class Dataflow:
    """The Dataflow v1b3 jobs list (filter=ACTIVE) and update (requestedState) over HTTP."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.lists: list[dict[str, list[str]]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        dataflow = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def answer(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                assert url.path == f"/v1b3/projects/{PROJECT}/locations/{REGION}/jobs", url.path
                dataflow.lists.append(parse_qs(url.query))
                self.answer({"jobs": [j for j in dataflow.jobs if j["currentState"] not in ("JOB_STATE_CANCELLED",)]})

            def do_PUT(self) -> None:
                job_id = self.path.rsplit("/", 1)[-1]
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                dataflow.updates.append((job_id, body))
                [job] = [j for j in dataflow.jobs if j["id"] == job_id]
                job["currentState"] = "JOB_STATE_CANCELLING"
                self.answer(job)

        return Handler


@pytest.fixture
def jobs() -> Iterator[JobServiceRecorder]:
    with serving(JobServiceRecorder()) as recorder:
        yield recorder


@pytest.fixture
def dataflow() -> Iterator[tuple[Dataflow, str]]:
    recorder = Dataflow()
    server = ThreadingHTTPServer(("127.0.0.1", 0), recorder.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield recorder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture
def children(jobs: JobServiceRecorder, dataflow: tuple[Dataflow, str]) -> VertexChildJobs:
    factory: Callable[[], aiplatform_v1.JobServiceClient] = lambda: aiplatform_v1.JobServiceClient(  # noqa: E731
        transport=JobServiceGrpcTransport(channel=grpc.insecure_channel(jobs.address)))
    return VertexChildJobs(PROJECT, REGION, jobs_client_factory=factory, session_factory=requests.Session,
                           dataflow_endpoint=dataflow[1], retry_first_wait_s=0.01)


def test_cancelling_an_experiments_children_stops_its_trainer_job_and_dataflow_jobs_only(
    children: VertexChildJobs, jobs: JobServiceRecorder, dataflow: tuple[Dataflow, str]
) -> None:
    flow, _ = dataflow
    jobs.jobs[TRAINER_JOB] = aiplatform_v1.CustomJob(name=TRAINER_JOB, state=aiplatform_v1.JobState.JOB_STATE_RUNNING,
                                                     labels={"experiment_id": EXPERIMENT})
    other = f"projects/123456789012/locations/{REGION}/customJobs/778"
    jobs.jobs[other] = aiplatform_v1.CustomJob(name=other, state=aiplatform_v1.JobState.JOB_STATE_RUNNING,
                                               labels={"experiment_id": "e43"})
    flow.jobs += [{"id": "2026-01-01_01_00_00-1", "currentState": "JOB_STATE_RUNNING",
                   "labels": {"experiment_id": EXPERIMENT}},
                  {"id": "2026-01-01_01_00_00-2", "currentState": "JOB_STATE_RUNNING",
                   "labels": {"experiment_id": "e43"}}]

    found = children.cancel(EXPERIMENT)

    assert {(c.kind, c.name, c.active) for c in found} == {
        (CUSTOM_JOB, TRAINER_JOB, True), (DATAFLOW_JOB, "2026-01-01_01_00_00-1", True)}
    assert [r.name for r in jobs.of("CancelCustomJob")] == [TRAINER_JOB]
    assert jobs.of("ListCustomJobs")[0].filter == f'labels.experiment_id="{EXPERIMENT}"'
    assert jobs.of("ListCustomJobs")[0].parent == f"projects/{PROJECT}/locations/{REGION}"
    assert flow.updates == [("2026-01-01_01_00_00-1", {"requestedState": "JOB_STATE_CANCELLED"})]
    assert flow.lists[0]["filter"] == ["ACTIVE"]

    # cancel is asynchronous: both are still active (cancelling) and are not asked twice
    again = children.cancel(EXPERIMENT)
    assert {c.state for c in again} == {"JOB_STATE_CANCELLING"} and all(c.active for c in again)
    assert len(jobs.of("CancelCustomJob")) == 1 and len(flow.updates) == 1

    jobs.jobs[TRAINER_JOB].state = aiplatform_v1.JobState.JOB_STATE_CANCELLED
    flow.jobs[0]["currentState"] = "JOB_STATE_CANCELLED"
    assert [c for c in children.find(EXPERIMENT) if c.active] == []
