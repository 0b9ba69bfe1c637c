"""Ended experiments end their MLflow runs, and a delayed tracking is synced by reconcile.

The journal is what a trainer leaves in the artifact store (``domain.tracking``); MLflow is a real
``mlflow server``; documents and blobs are the real local adapters; builds and pipelines are
recorded. Before: a cancelled experiment's MLflow run stayed RUNNING forever, and MLflow's outage
lost the training (tests/fixtures/failures/mlflow_unreachable/).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.adapters.mlflow_tracker import MlflowTracker
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain.tracking import TRACKING_FILE, JournalEntry, TrackingJournal
from experiments_platform.events.messages import CancelExperiment, PipelineJobStateChanged, SubmitExperiment
from experiments_platform.handlers import artifact_reader, cancel, experiments, reconcile, status_watcher, submitter
from fakes import recording_ports

from .lifecycle_support import make_experiment, store, stored, write_interactions
from .test_lifecycle_handlers import JOB, apply, finished_events

EPOCHS = 3


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def platform_on(tmp: Path, mlflow_uri: str, documents: SqliteDocumentStore | None = None) -> Platform:
    ports = {k: v for k, v in recording_ports().items() if k != "blobs"}
    return Platform(Settings(data_dir=tmp, mlflow_tracking_uri=mlflow_uri, mlflow_http_max_retries=0,
                             mlflow_http_timeout_s=2),
                    documents=documents or SqliteDocumentStore(tmp / "documents.sqlite"), warehouse=DuckDBWarehouse(),
                    **ports)


@pytest.fixture
def platform(tmp_path: Path, mlflow_server: str) -> Iterator[Platform]:
    platform = platform_on(tmp_path, mlflow_server)
    yield platform
    platform.close()


def journal(experiment_id: str, mlflow_uri: str, epochs: int = EPOCHS) -> TrackingJournal:
    now = int(time.time() * 1000)
    return TrackingJournal(
        key=experiment_id, tracking_uri=mlflow_uri, experiment_name="sync-tests", run_name=f"run {experiment_id}",
        tags={"experiment_id": experiment_id}, params={"epochs": str(EPOCHS)}, started_ms=now,
        epochs=[JournalEntry(step=step, timestamp_ms=now + step, metrics={"loss": 10.0 / step, "val_loss": 11.0 / step})
                for step in range(1, epochs + 1)])


def leave_journal(platform: Platform, experiment_id: str, partly_delivered: bool = True) -> TrackingJournal:
    """What a trainer killed after its third epoch leaves: MLflow got the first epoch only."""
    uri = platform.settings.mlflow_tracking_uri
    written = journal(experiment_id, uri)
    if partly_delivered:
        first = platform.tracker.deliver(journal(experiment_id, uri, epochs=1), platform.blobs.read_bytes)
        written = written.model_copy(update={"run_id": first.run_id, "mlflow_experiment_id": first.mlflow_experiment_id,
                                             "delivered": first.delivered})
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment_id, TRACKING_FILE),
                               written.to_json().encode())
    return written


def running(platform: Platform, tmp_path: Path) -> str:
    experiment = store(platform, make_experiment(write_interactions(tmp_path)))
    submitter.on_submit(platform, SubmitExperiment(experiment_id=experiment.id))
    for event in finished_events(platform, experiment.id)[:12]:
        apply(platform, event)
    assert stored(platform, experiment.id)["status"] == "running"
    return experiment.id


def steps(history: dict[str, list[dict[str, Any]]], name: str) -> list[tuple[int, float]]:
    return [(p["step"], p["value"]) for p in history[name]]


def test_a_cancelled_experiment_ends_its_mlflow_run_killed_with_its_partial_history(
    platform: Platform, tmp_path: Path, mlflow_server: str
) -> None:
    experiment_id = running(platform, tmp_path)
    left = leave_journal(platform, experiment_id)
    live = artifact_reader.training_history(platform, experiment_id)
    assert live["source"] == "artifact store" and [p for p, _ in steps(live["series"], "loss")] == [1, 2, 3]

    experiments.cancel_experiment(platform.documents, platform.bus, experiment_id)
    cancel.on_cancel(platform, CancelExperiment(experiment_id=experiment_id))
    doc = stored(platform, experiment_id)
    assert doc["status"] == "cancelled" and doc["tracking"]["state"] == "delayed"
    assert MlflowTracker(mlflow_server).run(str(left.run_id))["status"] == "RUNNING"

    report = reconcile.reconcile(platform)
    assert report.tracking_synced == [experiment_id]
    doc = stored(platform, experiment_id)
    assert doc["tracking"]["state"] == "synced" and doc["mlflow_run_id"] == left.run_id
    run = MlflowTracker(mlflow_server).run(str(left.run_id))
    assert run["status"] == "KILLED"
    kind = MlflowTracker(mlflow_server).client.get_experiment(run["experiment_id"]).tags.get("mlflow.experimentKind")
    assert kind == "custom_model_development", "MLflow's UI would open the platform's experiment in its GenAI view"
    history = artifact_reader.training_history(platform, experiment_id)
    assert history["source"] == "mlflow" and steps(history["series"], "loss") == [(1, 10.0), (2, 5.0), (3, 10 / 3)]
    assert reconcile.reconcile(platform).tracking_synced == [], "a synced experiment is not synced again"


def test_mlflow_down_leaves_the_tracking_delayed_with_the_reason_until_reconcile_syncs_it(
    platform: Platform, tmp_path: Path, mlflow_server: str
) -> None:
    down = platform_on(tmp_path, f"http://127.0.0.1:{closed_port()}", documents=platform.documents)  # type: ignore[arg-type]
    experiment_id = running(platform, tmp_path)
    leave_journal(down, experiment_id, partly_delivered=False)
    job = JOB.format(experiment_id)
    status_watcher.on_job(down, PipelineJobStateChanged(experiment_id=experiment_id, job_name=job,
                                                        state="PIPELINE_STATE_FAILED", error_message="Trainer: OOM"))
    doc = stored(platform, experiment_id)
    assert doc["status"] == "failed" and doc["tracking"]["state"] == "delayed"

    assert reconcile.reconcile(down).tracking_delayed == [experiment_id]
    reason = stored(platform, experiment_id)["tracking"]["reason"]
    assert "did not answer" in reason and "127.0.0.1" in reason
    shown = artifact_reader.training_history(down, experiment_id)
    assert shown["source"] == "artifact store" and "delayed" in shown["notice"]
    assert [p for p, _ in steps(shown["series"], "val_loss")] == [1, 2, 3]

    assert reconcile.reconcile(platform).tracking_synced == [experiment_id]
    doc = stored(platform, experiment_id)
    run = MlflowTracker(mlflow_server).run(str(doc["mlflow_run_id"]))
    assert run["status"] == "FAILED" and run["tags"]["experiment_id"] == experiment_id
    assert steps(MlflowTracker(mlflow_server).history(doc["mlflow_run_id"]), "loss")[-1] == (3, 10 / 3)


def test_a_completed_run_that_mlflow_holds_whole_is_synced_without_a_call(
    platform: Platform, tmp_path: Path, mlflow_server: str
) -> None:
    experiment_id = running(platform, tmp_path)
    written = journal(experiment_id, mlflow_server).model_copy(update={"status": "FINISHED", "ended_ms": 1})
    delivered = platform.tracker.deliver(written, platform.blobs.read_bytes)
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment_id, TRACKING_FILE),
                               delivered.to_json().encode())
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment_id, "metrics.json"),
                               b'{"final": {"recall_at_100": 0.3}}')
    apply(platform, finished_events(platform, experiment_id)[-1])
    doc = stored(platform, experiment_id)
    assert doc["status"] == "completed" and doc["tracking"] == {
        "state": "synced", "run_id": delivered.run_id, "reason": None, "checked_at": doc["tracking"]["checked_at"]}
