"""Event integrity (issue 10 section 3) through the status watcher's handlers and the push routes.

Each test reproduces an attack that worked before: a forged task event bound a pending experiment
to a made-up job, events rewrote ended experiments, and a push whose experiment id is no valid id
answered 500 until Pub/Sub dead-lettered it. The store is the real SQLite adapter; builds and
pipelines are recorded (``fakes``).
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.status import Stage, Status
from experiments_platform.errors import TransientError
from experiments_platform.events import google_events as ge
from experiments_platform.events.messages import (
    BuildFinished,
    CancelExperiment,
    PipelineJobStateChanged,
    PipelineTaskStateChanged,
    SubmitExperiment,
    Topics,
)
from experiments_platform.events.topology import SUBSCRIPTIONS
from experiments_platform.handlers import compute, reconcile
from experiments_platform.web.app import create_app

from .lifecycle_support import make_experiment, make_platform, store, stored, write_interactions

JOB = "projects/p/locations/europe-west1/pipelineJobs/qt-real-20260101120000"
FORGED = "projects/p/locations/europe-west1/pipelineJobs/made-up"


@pytest.fixture
def platform(tmp_path: Path):
    platform = make_platform(tmp_path)
    yield platform
    platform.close()


def seed(platform, tmp_path: Path, **values: Any):
    return store(platform, make_experiment(write_interactions(tmp_path), **values))


def task(experiment_id: str, job: str, state: Any = "RUNNING", name: str = "ExampleGen") -> PipelineTaskStateChanged:
    return PipelineTaskStateChanged(experiment_id=experiment_id, job_name=job, task_name=name,
                                    stage=ge.stage_of_task(name), state=state, error_message="boom")


def job_event(experiment_id: str, job: str, state: Any) -> PipelineJobStateChanged:
    return PipelineJobStateChanged(experiment_id=experiment_id, job_name=job, state=state, error_message="boom")


def test_a_forged_task_event_binds_no_job_to_a_pending_experiment(platform, tmp_path):
    """Before: the experiment became running on the made-up job; reconcile then failed every 30 s (the job
    does not exist) and the experiment sat in running for 6 hours while its real results were lost."""
    experiment = seed(platform, tmp_path)
    before = stored(platform, experiment.id)
    compute.apply_task(platform, task(experiment.id, FORGED))
    compute.apply_job(platform, job_event(experiment.id, FORGED, "PIPELINE_STATE_RUNNING"))
    assert stored(platform, experiment.id) == before

    report = reconcile.reconcile(platform, now=utcnow() + timedelta(minutes=5))
    assert report.repaired == [experiment.id], "a pending experiment without a build gets its submit again"
    assert platform.bus.published[-1][0] == Topics.SUBMIT
    assert stored(platform, experiment.id)["status"] == "pending"


def test_an_event_naming_another_job_than_the_recorded_one_is_ignored_and_logged(platform, tmp_path, caplog):
    experiment = seed(platform, tmp_path, status=Status.RUNNING, cloud_build_id="b1", pipeline_job_name=JOB)
    before = stored(platform, experiment.id)
    with caplog.at_level(logging.WARNING):
        compute.apply_job(platform, job_event(experiment.id, FORGED, "PIPELINE_STATE_FAILED"))
        compute.apply_task(platform, task(experiment.id, FORGED, "FAILED", "Trainer"))
    assert stored(platform, experiment.id) == before
    ignored = [r for r in caplog.records if "another job" in r.getMessage()]
    assert len(ignored) == 2 and all(
        r.fields["pipeline_job_name"] == FORGED and r.fields["recorded_job"] == JOB for r in ignored)
    assert platform.pipelines.cancelled == [], "a forged event stops nothing"


def test_an_early_event_of_the_job_its_build_submitted_is_adopted_from_the_build_result(platform, tmp_path):
    """Pub/Sub does not order topics: the job's first events may arrive before the build notification.
    The job is then adopted from the build's own result (asked of the build service), never from the event."""
    experiment = seed(platform, tmp_path, status=Status.SUBMITTING, cloud_build_id="b1")
    platform.builds.states["b1"] = "WORKING"
    with pytest.raises(TransientError, match="has not reported its pipeline job yet"):
        compute.apply_task(platform, task(experiment.id, JOB))
    assert stored(platform, experiment.id)["pipeline_job_name"] is None

    platform.builds.states["b1"] = "SUCCESS"
    platform.builds.job_names["b1"] = JOB
    compute.apply_task(platform, task(experiment.id, FORGED))
    assert stored(platform, experiment.id)["pipeline_job_name"] is None, "the build submitted another job"
    compute.apply_task(platform, task(experiment.id, JOB))
    doc = stored(platform, experiment.id)
    assert (doc["status"], doc["pipeline_job_name"]) == ("running", JOB)
    assert doc["stages"]["compile"]["status"] == "succeeded" and doc["stages"]["examples"]["status"] == "running"


def test_stage_times_are_the_events_own_times_in_whatever_order_they_arrive(platform, tmp_path):
    """Before: a stage was stamped when its event was processed. Events retried while the build was still
    working came back in the bus's jittered order, and the emulated end-to-end run showed a stage starting
    before the one ahead of it."""
    experiment = seed(platform, tmp_path, status=Status.RUNNING, cloud_build_id="b1", pipeline_job_name=JOB)
    t0 = utcnow() - timedelta(minutes=5)
    happened = [("ExampleGen", "RUNNING", 0), ("ExampleGen", "SUCCEEDED", 4), ("StatisticsGen", "RUNNING", 5),
                ("StatisticsGen", "SUCCEEDED", 9), ("SchemaGen", "RUNNING", 10), ("SchemaGen", "SUCCEEDED", 11)]
    for name, state, second in reversed(happened):
        event = task(experiment.id, JOB, state, name).model_copy(update={"occurred_at": t0 + timedelta(seconds=second)})
        compute.apply_task(platform, event)
    stages = stored(platform, experiment.id)["stages"]
    seconds = {stage: [(datetime.fromisoformat(stages[stage][key]) - t0).total_seconds()
                       for key in ("started_at", "finished_at")] for stage in ("examples", "stats", "schema")}
    assert seconds == {"examples": [0, 4], "stats": [5, 9], "schema": [10, 11]}


def test_a_log_entry_carries_the_time_its_task_changed_state():
    moment = datetime(2026, 12, 6, 2, 48, 47, 123456, tzinfo=timezone.utc)
    entry = ge.pipeline_task_log_entry(JOB, "Trainer", "RUNNING", experiment_id="e1", timestamp=moment)
    event = ge.parse_log_entry({**entry, "receiveTimestamp": "2026-12-06T02:49:00.000000Z"})
    assert isinstance(event, PipelineTaskStateChanged) and event.occurred_at == moment
    job = ge.parse_log_entry(ge.pipeline_job_log_entry(JOB, "PIPELINE_STATE_RUNNING", experiment_id="e1",
                                                       timestamp=moment))
    assert isinstance(job, PipelineJobStateChanged) and job.occurred_at == moment


@pytest.mark.parametrize("status", [Status.FAILED, Status.CANCELLED])
def test_an_ended_experiment_is_changed_by_no_event(platform, tmp_path, status):
    """Before: task and build events rewrote the stages and the job name of failed and cancelled experiments."""
    experiment = seed(platform, tmp_path, status=status, cloud_build_id="b1")
    before = stored(platform, experiment.id)
    events: list[Any] = [
        BuildFinished(experiment_id=experiment.id, build_id="b1", status="SUCCESS", pipeline_job_name=JOB),
        task(experiment.id, JOB, "RUNNING"), task(experiment.id, JOB, "SUCCEEDED", "Trainer"),
        task(experiment.id, FORGED, "FAILED"), job_event(experiment.id, JOB, "PIPELINE_STATE_RUNNING"),
        job_event(experiment.id, JOB, "PIPELINE_STATE_FAILED"),
    ]
    for event in events:
        {BuildFinished: compute.apply_build, PipelineTaskStateChanged: compute.apply_task,
         PipelineJobStateChanged: compute.apply_job}[type(event)](platform, event)
    assert stored(platform, experiment.id) == before
    if status is Status.CANCELLED:
        assert platform.pipelines.cancelled == [JOB], "the job its build submitted after the cancel is stopped"
    else:
        assert platform.pipelines.cancelled == []


def test_a_build_event_of_another_build_stops_nothing(platform, tmp_path):
    experiment = seed(platform, tmp_path, status=Status.CANCELLED, cloud_build_id="b1")
    compute.apply_build(platform, BuildFinished(experiment_id=experiment.id, build_id="b-forged", status="SUCCESS",
                                                pipeline_job_name=FORGED))
    assert platform.pipelines.cancelled == []


INVALID_IDS = ["../../etc/passwd", "a/b", "__x__", "x" * 300, "."]


def envelope(data: bytes, attributes: dict[str, str]) -> dict[str, Any]:
    return {"message": {"data": base64.b64encode(data).decode(), "attributes": attributes, "messageId": "1"},
            "subscription": "projects/p/subscriptions/s", "deliveryAttempt": 1}


def messages_with(experiment_id: str) -> dict[str, tuple[bytes, dict[str, str]]]:
    """One message per subscription naming ``experiment_id``, typed and Google-shaped, as an attacker writes them."""
    job = f"projects/p/locations/r/pipelineJobs/qt-x-{1}"
    return {
        "submitter-experiment-submit": (json.dumps({"experiment_id": experiment_id}).encode(),
                                        {"type": SubmitExperiment.__name__}),
        "status-watcher-experiment-cancel": (json.dumps({"experiment_id": experiment_id}).encode(),
                                             {"type": CancelExperiment.__name__}),
        "status-watcher-cloud-builds": ge.build_notification(
            ge.build_resource("b1", experiment_id, "SUCCESS", project="p", pipeline_job_name=job)),
        "status-watcher-pipeline-state": ge.log_sink_message(ge.pipeline_task_log_entry(
            job, "Trainer", "FAILED", experiment_id=experiment_id, error_message="boom")),
    }


@pytest.mark.parametrize("bad_id", INVALID_IDS)
def test_a_push_whose_experiment_id_is_not_a_valid_id_is_acknowledged_as_ignored(platform, bad_id, caplog):
    """Before: 500, five redeliveries, then the dead-letter topic."""
    for subscription in SUBSCRIPTIONS:
        data, attributes = messages_with(bad_id)[subscription.name]
        client = create_app(subscription.service, platform).test_client()
        with caplog.at_level(logging.WARNING):
            answer = client.post(subscription.push_path, json=envelope(data, attributes))
        assert answer.status_code == 200, (subscription.name, answer.get_data(as_text=True))
        assert answer.get_json()["status"] == "ignored" and "is no valid id" in answer.get_json()["reason"]
    assert platform.builds.started == [] and platform.pipelines.cancelled == []
    logged = [r for r in caplog.records if "is no valid id" in str(getattr(r, "fields", {}).get("problem"))]
    assert len(logged) == len(SUBSCRIPTIONS)


def test_stages_are_named_for_the_tasks_used_here():
    assert ge.stage_of_task("Trainer") is Stage.TRAIN and ge.stage_of_task("ExampleGen") is Stage.EXAMPLES
