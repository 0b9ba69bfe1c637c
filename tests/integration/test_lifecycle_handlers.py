"""The lifecycle handlers on the real SQLite store and DuckDB warehouse, compute recorded."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.status import STAGE_ORDER, Stage
from experiments_platform.events import google_events as ge
from experiments_platform.events.messages import (
    CancelExperiment,
    PipelineJobStateChanged,
    PipelineTaskStateChanged,
    SubmitExperiment,
    Topics,
)
from experiments_platform.handlers import cancel, experiments, reconcile, status_watcher, submitter

from .lifecycle_support import make_experiment, make_platform, store, stored, write_interactions

JOB = "projects/local/locations/local/pipelineJobs/qt-{}-20250101120000"
TASKS = ["ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer"]


@pytest.fixture
def platform(tmp_path: Path):
    platform = make_platform(tmp_path)
    yield platform
    platform.close()


@pytest.fixture
def experiment(platform, tmp_path: Path):
    return store(platform, make_experiment(write_interactions(tmp_path)))


def submit(platform, experiment_id: str) -> None:
    submitter.on_submit(platform, SubmitExperiment(experiment_id=experiment_id))


def finished_events(platform, experiment_id: str) -> list:
    job = JOB.format(experiment_id)
    build = stored(platform, experiment_id)["cloud_build_id"]
    events: list = [ge.parse_build(ge.build_resource(build, experiment_id, "WORKING", project="local")),
                    ge.parse_build(ge.build_resource(build, experiment_id, "SUCCESS", project="local",
                                                     pipeline_job_name=job)),
                    PipelineJobStateChanged(experiment_id=experiment_id, job_name=job, state="PIPELINE_STATE_RUNNING")]
    for task in TASKS:
        for state in ("RUNNING", "SUCCEEDED"):
            events.append(PipelineTaskStateChanged(experiment_id=experiment_id, job_name=job, task_name=task,
                                                   stage=ge.stage_of_task(task), state=state))
    events.append(PipelineJobStateChanged(experiment_id=experiment_id, job_name=job, state="PIPELINE_STATE_SUCCEEDED"))
    return events


def apply(platform, event) -> None:
    if isinstance(event, PipelineTaskStateChanged):
        status_watcher.on_task(platform, event)
    elif isinstance(event, PipelineJobStateChanged):
        status_watcher.on_job(platform, event)
    else:
        status_watcher.on_build(platform, event)


def write_metrics(platform, experiment_id: str, recall: float) -> None:
    uri = platform.experiment_artifacts_uri(experiment_id, "metrics.json")
    platform.blobs.write_bytes(uri, json.dumps({"final": {"recall_at_100": recall}, "mlflow_run_id": "run-1"}).encode())


def test_submit_writes_the_spec_starts_one_build_and_records_it(platform, experiment):
    submit(platform, experiment.id)
    doc = stored(platform, experiment.id)
    assert doc["status"] == "submitting" and doc["cloud_build_id"] == "build-1"
    assert doc["stages"]["compile"]["status"] == "running" and doc["stages"]["compile"]["started_at"]
    spec_uri = platform.experiment_artifacts_uri(experiment.id, "spec.json")
    assert platform.builds.started == [(experiment.id, spec_uri)]
    spec = json.loads(platform.blobs.read_bytes(spec_uri))
    assert spec["experiment_id"] == experiment.id and "user_id" in spec["queries"]["train"]

    submit(platform, experiment.id)
    assert len(platform.builds.started) == 1, "a redelivered submit must not start a second build"


def test_submit_of_a_cancelled_experiment_starts_nothing(platform, experiment):
    experiments.cancel_experiment(platform.documents, platform.bus, experiment.id)
    submit(platform, experiment.id)
    assert platform.builds.started == []


def test_a_build_that_loses_the_race_with_a_cancel_is_cancelled(platform, experiment):
    def cancel_meanwhile(experiment_id: str) -> None:
        experiments.cancel_experiment(platform.documents, platform.bus, experiment_id)

    platform.builds.on_start = cancel_meanwhile
    submit(platform, experiment.id)
    assert platform.builds.cancelled == ["build-1"]
    assert stored(platform, experiment.id)["cloud_build_id"] is None


def test_a_typo_in_a_column_fails_with_the_closest_real_names(platform, tmp_path):
    typo = store(platform, make_experiment(write_interactions(tmp_path), query_column="ratng", number=2))
    submit(platform, typo.id)
    doc = stored(platform, typo.id)
    assert doc["status"] == "failed" and platform.builds.started == []
    assert doc["error"]["code"] == "UNKNOWN_COLUMN" and doc["error"]["stage"] == "compile"
    assert "'rating'" in doc["error"]["suggestion"] and "ratng" in doc["error"]["excerpt"]


def test_a_date_column_stored_as_text_is_a_type_problem_not_a_missing_column(platform, tmp_path):
    """The file's date column became text after registration: the real schema says so at submit."""
    from experiments_platform.domain.experiment import QuickTestParameters, StrictTimeSplit

    source = tmp_path / "retyped.csv"
    source.write_text("user_id,item_id,rating,ts\n" + "".join(f"u{i},i{i},3,day {i}\n" for i in range(6)))
    split = StrictTimeSplit(date_column="ts", train_days=30, val_days=7, test_days=7)
    retyped = store(platform, make_experiment(source.as_uri(), number=2,
                                              parameters=QuickTestParameters(sample_percent=100, split=split)))
    submit(platform, retyped.id)
    error = stored(platform, retyped.id)["error"]
    assert error["code"] == "COLUMN_TYPE_MISMATCH" and error["stage"] == "compile"
    assert "does not exist" not in error["title"] and "'ts' has type string" in error["suggestion"]


def test_events_move_the_experiment_to_completed_with_results_and_comparison(platform, experiment, tmp_path):
    earlier = store(platform, make_experiment(write_interactions(tmp_path), number=2))
    submit(platform, earlier.id)
    write_metrics(platform, earlier.id, 0.40)
    for event in finished_events(platform, earlier.id):
        apply(platform, event)
    submit(platform, experiment.id)
    write_metrics(platform, experiment.id, 0.412)
    for event in finished_events(platform, experiment.id):
        apply(platform, event)
    doc = stored(platform, experiment.id)
    assert doc["status"] == "completed" and doc["finished_at"] and doc["pipeline_job_name"]
    assert doc["results"]["final"]["recall_at_100"] == 0.412 and doc["mlflow_run_id"] == "run-1"
    assert doc["comparison"]["summary"] == "↑ 1.2 pp vs Exp #2"
    starts = [doc["stages"][s.value]["started_at"] for s in STAGE_ORDER]
    assert all(starts) and starts == sorted(starts)
    assert all(doc["stages"][s.value]["status"] == "succeeded" for s in STAGE_ORDER)


def test_metrics_that_are_not_a_report_fail_the_experiment_naming_the_field(platform, experiment):
    submit(platform, experiment.id)
    uri = platform.experiment_artifacts_uri(experiment.id, "metrics.json")
    platform.blobs.write_bytes(uri, b'{"final": {"recall_at_100": "high"}}')
    for event in finished_events(platform, experiment.id):
        apply(platform, event)
    doc = stored(platform, experiment.id)
    assert doc["status"] == "failed" and doc["error"]["code"] == "METRICS_MALFORMED"
    assert "final.recall_at_100" in doc["error"]["excerpt"] and doc["error"]["stage"] == "train"


def test_replaying_every_event_twice_shuffled_changes_nothing(platform, experiment):
    submit(platform, experiment.id)
    write_metrics(platform, experiment.id, 0.3)
    events = finished_events(platform, experiment.id)
    for event in events:
        apply(platform, event)
    before = stored(platform, experiment.id)
    replay = events * 2
    random.Random(7).shuffle(replay)
    for event in replay:
        apply(platform, event)
    assert stored(platform, experiment.id) == before


def test_out_of_order_events_never_move_backwards(platform, experiment):
    submit(platform, experiment.id)
    job = JOB.format(experiment.id)
    platform.builds.states["build-1"], platform.builds.job_names["build-1"] = "SUCCESS", job  # notification not in yet
    trainer = dict(experiment_id=experiment.id, job_name=job, task_name="Trainer", stage=Stage.TRAIN)
    status_watcher.on_task(platform, PipelineTaskStateChanged(**trainer, state="SUCCEEDED"))
    status_watcher.on_task(platform, PipelineTaskStateChanged(**trainer, state="RUNNING"))
    doc = stored(platform, experiment.id)
    assert doc["status"] == "running" and doc["pipeline_job_name"] == job
    assert doc["stages"]["train"]["status"] == "succeeded" and doc["stages"]["compile"]["status"] == "succeeded"


def test_cancel_during_compile_cancels_the_build(platform, experiment):
    submit(platform, experiment.id)
    experiments.cancel_experiment(platform.documents, platform.bus, experiment.id)
    assert platform.bus.published[-1][0] == Topics.CANCEL
    cancel.on_cancel(platform, CancelExperiment(experiment_id=experiment.id))
    doc = stored(platform, experiment.id)
    assert platform.builds.cancelled == ["build-1"] and doc["status"] == "cancelled"
    assert doc["stages"]["compile"]["status"] == "cancelled"


def test_cancel_during_the_pipeline_cancels_the_job(platform, experiment):
    submit(platform, experiment.id)
    for event in finished_events(platform, experiment.id)[:8]:
        apply(platform, event)
    experiments.cancel_experiment(platform.documents, platform.bus, experiment.id)
    cancel.on_cancel(platform, CancelExperiment(experiment_id=experiment.id))
    doc = stored(platform, experiment.id)
    assert platform.pipelines.cancelled == [JOB.format(experiment.id)] and doc["status"] == "cancelled"
    assert doc["stages"]["schema"]["status"] == "cancelled" and doc["stages"]["stats"]["status"] == "succeeded"


def test_a_build_finishing_while_a_cancel_is_in_flight_has_its_pipeline_cancelled(platform, experiment):
    submit(platform, experiment.id)
    experiments.cancel_experiment(platform.documents, platform.bus, experiment.id)
    success = finished_events(platform, experiment.id)[1]
    status_watcher.on_build(platform, success)
    assert platform.pipelines.cancelled == [success.pipeline_job_name]
    assert stored(platform, experiment.id)["status"] == "cancelled"


def test_reconcile_completes_an_experiment_whose_events_were_lost(platform, experiment):
    submit(platform, experiment.id)
    for event in finished_events(platform, experiment.id)[:3]:
        apply(platform, event)
    job = JOB.format(experiment.id)
    platform.pipelines.states[job] = "PIPELINE_STATE_SUCCEEDED"
    write_metrics(platform, experiment.id, 0.25)
    report = reconcile.reconcile(platform, now=utcnow() + timedelta(minutes=5))
    assert report.repaired == [experiment.id]
    assert stored(platform, experiment.id)["status"] == "completed"


def test_reconcile_republishes_a_lost_submit_and_times_out_stuck_runs(platform, experiment, tmp_path):
    reconcile.reconcile(platform, now=utcnow() + timedelta(minutes=5))
    assert platform.bus.published == [(Topics.SUBMIT, *SubmitExperiment(experiment_id=experiment.id).encode())]
    submit(platform, experiment.id)
    reconcile.reconcile(platform, now=utcnow() + timedelta(hours=7))
    doc = stored(platform, experiment.id)
    assert doc["status"] == "failed" and doc["error"]["code"] == "TIMEOUT"
    assert platform.builds.cancelled == ["build-1"]


def test_a_failed_task_stores_a_classified_error_and_the_job_failure_changes_nothing(platform, experiment):
    submit(platform, experiment.id)
    events = finished_events(platform, experiment.id)[:11]
    for event in events:
        apply(platform, event)
    job = JOB.format(experiment.id)
    oom = "Traceback ...\ntensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM when allocating tensor"
    status_watcher.on_task(platform, PipelineTaskStateChanged(
        experiment_id=experiment.id, job_name=job, task_name="Trainer", stage=Stage.TRAIN, state="FAILED",
        error_message=oom))
    doc = stored(platform, experiment.id)
    assert doc["status"] == "failed" and doc["stages"]["train"]["status"] == "failed"
    assert doc["error"]["code"] == "OUT_OF_MEMORY" and doc["error"]["stage"] == "train"
    status_watcher.on_job(platform, PipelineJobStateChanged(
        experiment_id=experiment.id, job_name=job, state="PIPELINE_STATE_FAILED", error_message="task failed"))
    assert stored(platform, experiment.id) == doc


def test_a_failed_build_fails_the_compile_stage(platform, experiment):
    submit(platform, experiment.id)
    build = ge.build_resource("build-1", experiment.id, "FAILURE", project="local",
                              failure_detail="ModuleNotFoundError: No module named 'tfx'")
    event = ge.parse_build(build)
    assert event is not None
    status_watcher.on_build(platform, event)
    doc = stored(platform, experiment.id)
    assert doc["status"] == "failed" and doc["stages"]["compile"]["status"] == "failed"
    assert doc["error"]["stage"] == "compile" and doc["error"]["code"] == "MISSING_MODULE"
