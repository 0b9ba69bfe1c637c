"""Each shape GCP delivers, posted to the services' real entry points (``services/*/main.py``).

Payloads follow the documented formats: Pub/Sub push envelopes, Eventarc CloudEvents in binary
mode (``ce-*`` headers) and structured mode, Cloud Build notifications (Build resource in
``message.data``, attributes ``buildId``/``status``) and Vertex AI pipeline log-sink entries.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain.status import StageStatus, Status
from experiments_platform.errors import ContentionError
from experiments_platform.events import google_events as ge
from experiments_platform.events.messages import SubmitExperiment
from experiments_platform.web.app import create_app

from .lifecycle_support import make_experiment, write_interactions

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "demo-project"


def load_main(service: str) -> Any:
    path = ROOT / "services" / service / "main.py"
    name = f"main_{service}_{uuid.uuid4().hex[:6]}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def documents(data_dir: Path):
    store = SqliteDocumentStore(data_dir / "documents.sqlite")
    yield store
    store.close()


def seed(documents, data_dir: Path, **values: Any):
    experiment = make_experiment(write_interactions(data_dir), **values)
    documents.create("experiments", experiment.id, experiment.to_document())
    return experiment


def push_envelope(message: tuple[bytes, dict[str, str]], subscription: str, attempt: int = 1) -> dict[str, Any]:
    data, attributes = message
    message_id = str(uuid.uuid4().int)[:16]
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes,
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": "2025-01-01T12:00:00.000Z",
            "publish_time": "2025-01-01T12:00:00.000Z",
        },
        "subscription": f"projects/{PROJECT}/subscriptions/{subscription}",
        "deliveryAttempt": attempt,
    }


def binary_cloudevent_headers(event_type: str, source: str, subject: str | None = None) -> dict[str, str]:
    headers = {
        "ce-id": str(uuid.uuid4().int)[:16],
        "ce-source": source,
        "ce-specversion": "1.0",
        "ce-type": event_type,
        "ce-time": "2025-01-01T12:00:00.000Z",
        "Content-Type": "application/json",
    }
    if subject:
        headers["ce-subject"] = subject
    return headers


def job_name(experiment_id: str) -> str:
    return f"projects/{PROJECT}/locations/europe-west1/pipelineJobs/{ge.new_pipeline_job_id(experiment_id)}"


def test_cloud_build_notification_in_a_push_envelope(documents, data_dir):
    experiment = seed(documents, data_dir, status=Status.SUBMITTING, cloud_build_id="b-7")
    job = job_name(experiment.id)
    build = ge.build_resource("b-7", experiment.id, "SUCCESS", project=PROJECT, pipeline_job_name=job)
    body = push_envelope(ge.build_notification(build), "status-watcher-cloud-builds")
    client = load_main("status_watcher").app.test_client()
    answer = client.post("/pubsub/cloud-builds", json=body,
                         headers={"X-Cloud-Trace-Context": "0123456789abcdef/1;o=1"})
    assert answer.status_code == 204
    doc = documents.get("experiments", experiment.id)
    assert doc["status"] == "running" and doc["pipeline_job_name"] == job
    assert doc["stages"]["compile"]["status"] == "succeeded"


def test_cloud_build_statuschanged_cloudevent_in_binary_mode(documents, data_dir):
    experiment = seed(documents, data_dir, status=Status.SUBMITTING, cloud_build_id="b-8")
    build = ge.build_resource("b-8", experiment.id, "CANCELLED", project=PROJECT)
    headers = binary_cloudevent_headers(ge.CLOUD_BUILD_EVENT_TYPE,
                                        f"//cloudbuild.googleapis.com/projects/{PROJECT}/builds/b-8", "CANCELLED")
    answer = load_main("status_watcher").app.test_client().post(
        "/pubsub/cloud-builds", data=json.dumps(build), headers=headers)
    assert answer.status_code == 204
    assert documents.get("experiments", experiment.id)["status"] == "cancelled"


def test_vertex_log_sink_entry_through_eventarc_pubsub_binary_mode(documents, data_dir):
    job = job_name("e9")
    experiment = seed(documents, data_dir, id="e9", status=Status.SUBMITTING, cloud_build_id="b-9",
                      pipeline_job_name=job)
    entry = ge.pipeline_task_log_entry(job, "ExampleGen", "RUNNING")
    envelope = push_envelope(ge.log_sink_message(entry), "eventarc-europe-west1-pipeline-state-sub-123")
    headers = binary_cloudevent_headers(ge.PUBSUB_EVENT_TYPE,
                                        f"//pubsub.googleapis.com/projects/{PROJECT}/topics/pipeline-state")
    answer = load_main("status_watcher").app.test_client().post(
        "/pubsub/pipeline-state", data=json.dumps(envelope), headers=headers)
    assert answer.status_code == 204
    doc = documents.get("experiments", experiment.id)
    assert doc["status"] == "running" and doc["stages"]["examples"]["status"] == StageStatus.RUNNING.value


def test_structured_cloudevent_and_the_functions_framework_target(documents, data_dir):
    import functions_framework

    job = job_name("e10")
    experiment = seed(documents, data_dir, id="e10", status=Status.RUNNING, cloud_build_id="b-10",
                      pipeline_job_name=job)
    entry = ge.pipeline_task_log_entry(job, "Trainer", "FAILED", error_message="Killed")
    event = {
        "specversion": "1.0", "id": "1", "type": ge.PUBSUB_EVENT_TYPE,
        "source": f"//pubsub.googleapis.com/projects/{PROJECT}/topics/pipeline-state",
        "datacontenttype": "application/json",
        "data": push_envelope(ge.log_sink_message(entry), "pipeline-state-sub"),
    }
    app = functions_framework.create_app(target="status_watcher",
                                         source=str(ROOT / "services" / "status_watcher" / "main.py"))
    answer = app.test_client().post("/pubsub/pipeline-state", data=json.dumps(event),
                                    headers={"Content-Type": "application/cloudevents+json"})
    assert answer.status_code == 204
    doc = documents.get("experiments", experiment.id)
    assert doc["status"] == "failed" and doc["stages"]["train"]["status"] == "failed"
    assert doc["error"]["stage"] == "train" and "Killed" in doc["error"]["excerpt"]


def test_submit_command_in_a_push_envelope_rejects_a_typo(documents, data_dir):
    experiment = seed(documents, data_dir, query_column="ratng")
    body = push_envelope(SubmitExperiment(experiment_id=experiment.id).encode(), "submitter-experiment-submit")
    answer = load_main("submitter").app.test_client().post("/pubsub/experiment-submit", json=body)
    assert answer.status_code == 204
    doc = documents.get("experiments", experiment.id)
    assert doc["status"] == "failed" and doc["error"]["code"] == "UNKNOWN_COLUMN"


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"{not json", {"Content-Type": "application/json"}, "not JSON"),
        (json.dumps({"hello": "world"}).encode(), {"Content-Type": "application/json"}, "push envelope"),
        (json.dumps({"message": {"data": "***"}}).encode(), {"Content-Type": "application/json"}, "base64"),
        (b"{}", binary_cloudevent_headers("google.cloud.storage.object.v1.finalized", "//storage"), "not routed"),
    ],
)
def test_malformed_requests_are_acknowledged(data_dir, body, headers, reason):
    answer = load_main("status_watcher").app.test_client().post("/pubsub/cloud-builds", data=body, headers=headers)
    assert answer.status_code == 200
    assert answer.get_json()["status"] == "ignored" and reason in answer.get_json()["reason"]


def test_a_message_of_the_wrong_type_or_about_no_experiment_is_acknowledged(data_dir):
    client = load_main("status_watcher").app.test_client()
    wrong = push_envelope(SubmitExperiment(experiment_id="x").encode(), "status-watcher-cloud-builds")
    answer = client.post("/pubsub/cloud-builds", json=wrong)
    assert answer.status_code == 200 and answer.get_json() == {
        "status": "ignored", "reason": "SubmitExperiment does not belong on this subscription"}
    foreign = {"id": "b", "status": "SUCCESS", "tags": ["nightly-deploy"]}
    other = push_envelope((json.dumps(foreign).encode(), {"buildId": "b", "status": "SUCCESS"}), "x")
    assert client.post("/pubsub/cloud-builds", json=other).status_code == 204


class ContendedDocuments(SqliteDocumentStore):
    def run_transaction(self, fn):  # type: ignore[override]
        raise ContentionError("too much contention on experiments/x")


def test_transient_failures_ask_for_redelivery(tmp_path):
    platform = Platform(Settings(data_dir=tmp_path), documents=ContendedDocuments(tmp_path / "d.sqlite"))
    build = ge.build_resource("b", "e1", "WORKING", project=PROJECT)
    body = push_envelope(ge.build_notification(build), "status-watcher-cloud-builds", attempt=2)
    answer = create_app("status_watcher", platform).test_client().post("/pubsub/cloud-builds", json=body)
    assert answer.status_code == 503 and answer.get_json()["error_code"] == "CONTENTION"


def test_health_and_reconcile_endpoints(data_dir):
    client = load_main("status_watcher").app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok", "service": "status_watcher"}
    assert client.post("/tasks/reconcile").get_json() == {"checked": 0, "repaired": []}


def test_repeated_pushes_without_delivery_attempt_are_numbered_as_the_emulator_omits_it(tmp_path, caplog):
    platform = Platform(Settings(data_dir=tmp_path), documents=ContendedDocuments(tmp_path / "d.sqlite"))
    client = create_app("status_watcher", platform).test_client()
    build = ge.build_resource("b", "e1", "WORKING", project=PROJECT)
    body = push_envelope(ge.build_notification(build), "status-watcher-cloud-builds")
    del body["deliveryAttempt"]
    other = push_envelope(ge.build_notification(build), "status-watcher-cloud-builds")
    del other["deliveryAttempt"]

    with caplog.at_level("WARNING", logger="experiments_platform.web.routes.push"):
        answers = [client.post("/pubsub/cloud-builds", json=body) for _ in range(5)]
        first_of_other = client.post("/pubsub/cloud-builds", json=other)

    assert [a.status_code for a in answers] == [503] * 5
    assert [a.get_json()["delivery_attempt"] for a in answers] == [1, 2, 3, 4, 5]
    assert first_of_other.get_json()["delivery_attempt"] == 1
    failures = [r for r in caplog.records if "delivery attempt" in r.getMessage()]
    assert [r.levelname for r in failures] == ["WARNING"] * 4 + ["ERROR", "WARNING"]
    assert failures[4].getMessage() == (
        "delivery attempt 5 of 5 failed: Pub/Sub moves the message to cloud-builds-dead-letter")


def test_a_delivery_attempt_in_the_envelope_is_taken_as_pubsub_sends_it(tmp_path):
    platform = Platform(Settings(data_dir=tmp_path), documents=ContendedDocuments(tmp_path / "d.sqlite"))
    client = create_app("status_watcher", platform).test_client()
    build = ge.build_resource("b", "e1", "WORKING", project=PROJECT)
    body = push_envelope(ge.build_notification(build), "status-watcher-cloud-builds", attempt=4)
    assert [client.post("/pubsub/cloud-builds", json=body).get_json()["delivery_attempt"] for _ in range(2)] == [4, 4]
