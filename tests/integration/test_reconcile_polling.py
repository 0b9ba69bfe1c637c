"""Reconcile as the safety net (issue 13 item 5): it polls every running experiment's pipeline job
(``GetPipelineJob``: state, task details, error text) on each sweep, not only quiet ones, and applies
what it reads as the lost log-sink events would have been; the error text is the job's own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from experiments_platform.domain.base import utcnow
from experiments_platform.events import google_events as ge
from experiments_platform.events.messages import CancelExperiment, PipelineJobStateChanged, SubmitExperiment
from experiments_platform.handlers import cancel, experiments, reconcile, status_watcher, submitter
from experiments_platform.ports.pipelines import ChildJob, TaskStatus

from .lifecycle_support import make_experiment, make_platform, store, stored, write_interactions

JOB = "projects/local/locations/local/pipelineJobs/qt-{}-20250101120000"


@pytest.fixture
def platform(tmp_path: Path):
    platform = make_platform(tmp_path)
    yield platform
    platform.close()


@pytest.fixture
def running(platform, tmp_path: Path) -> str:
    """An experiment whose job runs, with its job event received just now."""
    experiment = store(platform, make_experiment(write_interactions(tmp_path)))
    submitter.on_submit(platform, SubmitExperiment(experiment_id=experiment.id))
    job = JOB.format(experiment.id)
    build = stored(platform, experiment.id)["cloud_build_id"]
    status_watcher.on_build(platform, ge.parse_build(ge.build_resource(build, experiment.id, "SUCCESS", project="local",
                                                                       pipeline_job_name=job)))
    status_watcher.on_job(platform, PipelineJobStateChanged(experiment_id=experiment.id, job_name=job,
                                                            state="PIPELINE_STATE_RUNNING"))
    assert stored(platform, experiment.id)["status"] == "running"
    return experiment.id


def test_a_running_experiment_gets_its_task_states_from_the_job_on_every_sweep(platform, running: str) -> None:
    """The sink lost the task events: one sweep a minute later shows the stages the job reports."""
    job = JOB.format(running)
    platform.pipelines.tasks[job] = [
        TaskStatus("quick-test-pipeline", "RUNNING"),  # the DAG's own task names no stage
        TaskStatus("examplegen", "SUCCEEDED"), TaskStatus("statisticsgen", "SUCCEEDED"),
        TaskStatus("schemagen", "SKIPPED"), TaskStatus("transform", "RUNNING"), TaskStatus("trainer", "PENDING"),
    ]

    report = reconcile.reconcile(platform, now=utcnow() + timedelta(minutes=1))

    stages = stored(platform, running)["stages"]
    shown = {stage: stages[stage]["status"] for stage in ("examples", "stats", "schema", "transform", "train")}
    assert shown == {"examples": "succeeded", "stats": "succeeded", "schema": "succeeded", "transform": "running",
                     "train": "pending"}
    assert stages["schema"]["cached"] is True
    assert report.repaired == [running]

    again = reconcile.reconcile(platform, now=utcnow() + timedelta(minutes=2))
    assert again.repaired == [], "a second sweep with nothing new writes nothing"


def test_a_job_that_failed_unnoticed_fails_the_experiment_with_the_jobs_own_error(platform, running: str) -> None:
    job = JOB.format(running)
    oom = "The replica workerpool0-0 exited with a non-zero status of 137. Out of memory."
    platform.pipelines.states[job] = "PIPELINE_STATE_FAILED"
    platform.pipelines.tasks[job] = [TaskStatus("examplegen", "SUCCEEDED"), TaskStatus("trainer", "FAILED", oom)]
    platform.pipelines.errors[job] = f"The DAG failed because some tasks failed.\ntrainer: {oom}"

    reconcile.reconcile(platform, now=utcnow() + timedelta(minutes=1))

    doc = stored(platform, running)
    assert doc["status"] == "failed"
    assert doc["error"]["code"] == "OUT_OF_MEMORY", doc["error"]
    assert doc["error"]["stage"] == "train"
    assert oom in doc["error"]["excerpt"], "the job's own text, not 'pipeline job ended ... (found by reconcile)'"


def test_a_bare_job_id_from_a_log_entry_is_the_experiments_job(platform, running: str) -> None:
    """The log sink may name only the job id (resource.labels.pipeline_job_id), the store the full name."""
    job_id = JOB.format(running).rsplit("/", 1)[-1]
    entry = ge.pipeline_task_log_entry(JOB.format(running), "Trainer", "RUNNING", experiment_id=running)
    entry["jsonPayload"].pop("pipelineJobName", None)
    entry["resource"]["labels"]["pipeline_job_id"] = job_id
    event = ge.parse_log_entry(entry)
    assert event is not None and event.job_name == job_id

    status_watcher.on_task(platform, event)

    assert stored(platform, running)["stages"]["train"]["status"] == "running"


def test_cancel_stops_the_child_jobs_and_waits_for_them(platform, running: str) -> None:
    """The Trainer's custom job is cancelled with the pipeline; while it is still cancelling the
    experiment is not confirmed (reconcile's poll neither), and the poll confirms it once it ended."""
    experiment_id, job = running, JOB.format(running)
    trainer = "projects/1/locations/europe-west1/customJobs/7"
    platform.pipelines.child_jobs[experiment_id] = [ChildJob("Vertex AI custom job", trainer, "JOB_STATE_RUNNING",
                                                             True)]

    experiments.cancel_experiment(platform.documents, platform.bus, experiment_id)
    cancel.on_cancel(platform, CancelExperiment(experiment_id=experiment_id))

    assert platform.pipelines.cancelled == [job] and platform.pipelines.children_cancelled == [trainer]
    assert stored(platform, experiment_id)["status"] == "running", "the custom job is still cancelling"

    platform.pipelines.child_jobs[experiment_id] = [ChildJob("Vertex AI custom job", trainer,
                                                             "JOB_STATE_CANCELLING", True)]
    reconcile.reconcile(platform, now=utcnow() + timedelta(minutes=1))
    assert stored(platform, experiment_id)["status"] == "running", "still cancelling"
    assert platform.pipelines.children_cancelled == [trainer, trainer], "asked again (the adapter skips "\
        "one already cancelling)"

    platform.pipelines.child_jobs[experiment_id] = [ChildJob("Vertex AI custom job", trainer,
                                                             "JOB_STATE_CANCELLED", False)]
    reconcile.reconcile(platform, now=utcnow() + timedelta(minutes=2))
    assert stored(platform, experiment_id)["status"] == "cancelled"


def test_a_child_job_still_running_after_the_experiment_was_cancelled_is_cancelled_again(
    platform, running: str
) -> None:
    """The job's CANCELLED event confirms the experiment even while the Trainer's custom job is
    still stopping; the sweeps keep asking it to stop while the cancel is recent."""
    trainer = "projects/1/locations/europe-west1/customJobs/8"
    platform.pipelines.child_jobs[running] = [ChildJob("Vertex AI custom job", trainer, "JOB_STATE_RUNNING", True)]
    status_watcher.on_job(platform, PipelineJobStateChanged(experiment_id=running, job_name=JOB.format(running),
                                                            state="PIPELINE_STATE_CANCELLED"))
    assert stored(platform, running)["status"] == "cancelled"

    reconcile.reconcile(platform, now=utcnow() + timedelta(minutes=1))
    assert platform.pipelines.children_cancelled == [trainer]

    platform.pipelines.child_jobs[running] = [ChildJob("Vertex AI custom job", trainer, "JOB_STATE_CANCELLED", False)]
    reconcile.reconcile(platform, now=utcnow() + timedelta(minutes=2))
    assert platform.pipelines.children_cancelled == [trainer], "an ended child is not asked again"
