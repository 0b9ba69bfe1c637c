"""Emulated mode: submitter and status watcher as their own processes, Pub/Sub emulator push
subscriptions to their ports, documents in the Firestore emulator (as on Cloud Run)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.firestore_documents import FirestoreDocumentStore
from experiments_platform.adapters.pubsub_bus import PubSubBus
from experiments_platform.config import Settings
from experiments_platform.domain.status import Status
from experiments_platform.events import google_events as ge
from experiments_platform.events.messages import CancelExperiment, SubmitExperiment, Topics
from experiments_platform.local.stack import EmulatedStack

from .lifecycle_support import make_experiment, write_interactions

pytestmark = pytest.mark.emulators


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def stack(emulators: Any, tmp_path: Path) -> Iterator[EmulatedStack]:
    project = f"{emulators.project}-routing"
    settings = Settings(data_dir=tmp_path, gcp_project=project)
    environ = {**os.environ, "PLATFORM_GCP_PROJECT": project}
    ports = {"submitter": free_port(), "status_watcher": free_port()}
    with EmulatedStack(settings, ports=ports, with_mlflow=False, load_data=False, environ=environ,
                       services=("submitter", "status_watcher"), reconcile_every_s=3600) as running:
        yield running


def wait_until(read: Callable[[], dict[str, Any] | None], check: Callable[[dict[str, Any]], bool],
               timeout_s: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        doc = read()
        if doc and check(doc):
            return doc
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout_s} s; last document: {read()}")


def test_commands_and_google_events_reach_the_service_processes(stack, tmp_path):
    documents = FirestoreDocumentStore(project=stack.project)
    bus = PubSubBus(project=stack.project)
    warehouse = tmp_path / "warehouse"  # file sources are read only inside the warehouse roots (issue 10 section 1)
    warehouse.mkdir(exist_ok=True)
    uri = write_interactions(warehouse)
    typo = make_experiment(uri, number=1, query_column="ratng")
    running = make_experiment(uri, number=2, status=Status.SUBMITTING, cloud_build_id="b-2")
    waiting = make_experiment(uri, number=3)
    for experiment in (typo, running, waiting):
        documents.create("experiments", experiment.id, experiment.to_document())

    def read(experiment_id: str) -> Callable[[], dict[str, Any] | None]:
        return lambda: documents.get("experiments", experiment_id)

    bus.publish(Topics.SUBMIT, *SubmitExperiment(experiment_id=typo.id).encode())
    failed = wait_until(read(typo.id), lambda d: d["status"] == "failed")
    assert failed["error"]["code"] == "UNKNOWN_COLUMN" and "rating" in failed["error"]["suggestion"]

    job = ge.pipeline_job_name(stack.project, "europe-west1", ge.new_pipeline_job_id(running.id))
    bus.publish(Topics.BUILDS, *ge.build_notification(
        ge.build_resource("b-2", running.id, "SUCCESS", project=stack.project, pipeline_job_name=job)))
    # The job is adopted from its build's notification (decision 053); "b-2" is no build the local build
    # service knows, so a task event arriving first could not be checked against the build's result.
    wait_until(read(running.id), lambda d: d["pipeline_job_name"] == job)
    bus.publish(Topics.PIPELINE_STATE, *ge.log_sink_message(ge.pipeline_task_log_entry(job, "ExampleGen", "RUNNING")))
    doc = wait_until(read(running.id), lambda d: d["stages"]["examples"]["status"] == "running")
    assert doc["status"] == "running" and doc["pipeline_job_name"] == job

    documents.set("experiments", waiting.id, {**waiting.to_document(), "cancel_requested": True})
    bus.publish(Topics.CANCEL, *CancelExperiment(experiment_id=waiting.id).encode())
    assert wait_until(read(waiting.id), lambda d: d["status"] == "cancelled")["cancel_requested"] is True

    bus.publish(Topics.PIPELINE_STATE, b"not json at all", {})
    stats = ge.pipeline_task_log_entry(job, "StatisticsGen", "RUNNING")
    bus.publish(Topics.PIPELINE_STATE, *ge.log_sink_message(stats))
    wait_until(read(running.id), lambda d: d["stages"]["stats"]["status"] == "running")


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tfdv" / "movielens"


def test_data_insights_travel_gateway_to_artifact_reader_to_tfdv_parser_processes(emulators: Any, tmp_path: Path):
    import json
    import shutil

    import requests
    from experiments_platform.adapters.local_blobs import LocalBlobStore

    project = f"{emulators.project}-insights"
    settings = Settings(data_dir=tmp_path, gcp_project=project)
    environ = {**os.environ, "PLATFORM_GCP_PROJECT": project}
    services = ("api_gateway", "artifact_reader", "tfdv_parser")
    ports = {service: free_port() for service in services}
    experiment = make_experiment(write_interactions(tmp_path), number=1, status=Status.RUNNING)
    run = tmp_path / "pipelines" / "qt-1"
    shutil.copytree(FIXTURES / "statistics", run / "StatisticsGen" / "statistics" / "3")
    shutil.copytree(FIXTURES / "schema", run / "SchemaGen" / "schema" / "4")
    index = {"StatisticsGen": {"statistics": (run / "StatisticsGen" / "statistics" / "3").as_uri()},
             "SchemaGen": {"schema": (run / "SchemaGen" / "schema" / "4").as_uri()}}
    LocalBlobStore(tmp_path).write_bytes(
        (tmp_path / "artifacts" / "experiments" / experiment.id / "artifacts.json").resolve().as_uri(),
        json.dumps(index).encode())

    with EmulatedStack(settings, ports=ports, with_mlflow=False, load_data=False, environ=environ,
                       services=services, reconcile_every_s=3600) as stack:
        FirestoreDocumentStore(project=project).create("experiments", experiment.id, experiment.to_document())
        insights = requests.get(f"{stack.url}/api/experiments/{experiment.id}/data-insights", timeout=30).json()
        page = requests.get(f"{stack.url}/api/experiments/{experiment.id}/statistics-report", timeout=30)
        parser_log = (tmp_path / "logs" / "services" / "tfdv_parser.log").read_text()

        stack.processes["tfdv_parser"].terminate()
        stack.processes["tfdv_parser"].wait(10)
        down = requests.get(f"{stack.url}/api/experiments/{experiment.id}/data-insights", timeout=60)

    assert insights["missing"] == {} and [s["split"] for s in insights["statistics"]["splits"]] == ["train", "eval"]
    assert page.status_code == 200 and "user_id" in page.text
    assert "statistics parsed" in parser_log and "schema parsed" in parser_log
    assert down.status_code == 503, down.text
    assert f"tfdv_parser at {stack.base_url('tfdv_parser')} cannot be reached" in down.json()["message"]
