"""The lifecycle moves (``domain.lifecycle``) on experiment models alone: no store, no compute."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from experiments_platform.domain import lifecycle
from experiments_platform.domain.error_patterns import classify
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.metrics_report import MetricsReport
from experiments_platform.domain.status import STAGE_ORDER, Stage, StageStatus, Status
from experiments_platform.events.messages import BuildFinished, PipelineJobStateChanged, PipelineTaskStateChanged
from integration.lifecycle_support import make_experiment

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
JOB = "projects/p/locations/r/pipelineJobs/qt-e1-20260101120000"
TASK_STAGES = {"ExampleGen": Stage.EXAMPLES, "StatisticsGen": Stage.STATS, "SchemaGen": Stage.SCHEMA,
               "Transform": Stage.TRANSFORM, "Trainer": Stage.TRAIN}
RESULTS = MetricsReport(final={"recall_at_100": 0.4}, mlflow_run_id="run-7")


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def experiment(**values: Any) -> Experiment:
    return make_experiment("file:///tiny.csv", id="e1", **values)


def submitting() -> Experiment:
    subject = experiment()
    assert lifecycle.admitted(subject, at(0))
    assert lifecycle.build_started(subject, "b1", at(0))
    return subject


def running() -> Experiment:
    subject = submitting()
    assert lifecycle.apply_build(subject, build("SUCCESS", pipeline_job_name=JOB), at(1))
    return subject


def build(status: Any, build_id: str = "b1", **values: Any) -> BuildFinished:
    return BuildFinished(experiment_id="e1", build_id=build_id, status=status, **values)


def task(name: str, state: Any, job: str = JOB, **values: Any) -> PipelineTaskStateChanged:
    return PipelineTaskStateChanged(experiment_id="e1", job_name=job, task_name=name, stage=TASK_STAGES.get(name),
                                    state=state, **values)


def job(state: Any, job_name: str = JOB, **values: Any) -> PipelineJobStateChanged:
    return PipelineJobStateChanged(experiment_id="e1", job_name=job_name, state=state, **values)


def stages(subject: Experiment) -> dict[str, str]:
    return {stage.value: subject.stages[stage].status.value for stage in STAGE_ORDER}


# --- the moves ---------------------------------------------------------------------------------


def test_status_moves_stamp_the_start_and_the_end_and_never_go_back() -> None:
    subject = experiment()
    assert lifecycle.move_status(subject, Status.SUBMITTING, at(0))
    assert lifecycle.move_status(subject, Status.RUNNING, at(1)) and subject.started_at == at(1)
    assert not lifecycle.move_status(subject, Status.SUBMITTING, at(2))
    assert lifecycle.move_status(subject, Status.COMPLETED, at(3)) and subject.finished_at == at(3)
    assert not lifecycle.move_status(subject, Status.FAILED, at(4))
    assert (subject.status, subject.started_at, subject.finished_at) == (Status.COMPLETED, at(1), at(3))


def test_stage_moves_go_forward_once_and_keep_their_first_start() -> None:
    subject = experiment()
    assert lifecycle.move_stage(subject, Stage.STATS, StageStatus.RUNNING, at(0))
    assert lifecycle.move_stage(subject, Stage.STATS, StageStatus.SUCCEEDED, at(5), cached=True,
                                message="x" * 5000)
    assert not lifecycle.move_stage(subject, Stage.STATS, StageStatus.FAILED, at(6))
    state = subject.stages[Stage.STATS]
    assert (state.status, state.started_at, state.finished_at, state.cached) == (
        StageStatus.SUCCEEDED, at(0), at(5), True)
    assert state.message is not None and len(state.message) == lifecycle.STAGE_MESSAGE_MAX_CHARS


def test_closing_open_stages_touches_running_ones_and_pending_ones_unless_told() -> None:
    subject = experiment()
    lifecycle.move_stage(subject, Stage.COMPILE, StageStatus.SUCCEEDED, at(0))
    lifecycle.move_stage(subject, Stage.EXAMPLES, StageStatus.RUNNING, at(1))
    assert lifecycle.close_open_stages(subject, StageStatus.CANCELLED, at(2), only_running=True)
    assert stages(subject)["examples"] == "cancelled" and stages(subject)["stats"] == "pending"
    assert lifecycle.close_open_stages(subject, StageStatus.SUCCEEDED, at(3))
    assert set(stages(subject).values()) == {"succeeded", "cancelled"}
    assert not lifecycle.close_open_stages(subject, StageStatus.SUCCEEDED, at(4))


def test_fail_keeps_the_first_error_fails_its_stage_and_cancels_the_running_ones() -> None:
    subject = running()
    lifecycle.move_stage(subject, Stage.EXAMPLES, StageStatus.RUNNING, at(2))
    lifecycle.move_stage(subject, Stage.STATS, StageStatus.RUNNING, at(2))
    first = classify("OOM when allocating tensor", Stage.STATS)
    assert lifecycle.fail(subject, first, at(3))
    assert not lifecycle.fail(subject, classify("Killed", Stage.TRAIN), at(4))
    assert subject.error == first and subject.status is Status.FAILED and subject.finished_at == at(3)
    assert stages(subject) == {"compile": "succeeded", "examples": "cancelled", "stats": "failed",
                               "schema": "pending", "transform": "pending", "train": "pending"}


def test_a_cancel_is_requested_once_and_confirmed_unless_the_experiment_ended() -> None:
    subject = submitting()
    assert lifecycle.request_cancel(subject) and not lifecycle.request_cancel(subject)
    assert lifecycle.wants_cancel(subject)
    assert lifecycle.cancel_confirmed(subject, at(2))
    assert subject.status is Status.CANCELLED and stages(subject)["compile"] == "cancelled"
    assert not lifecycle.cancel_confirmed(subject, at(3))

    done = running()
    assert lifecycle.apply_job(done, job("PIPELINE_STATE_SUCCEEDED"), at(5), results=RESULTS)
    assert not lifecycle.cancel_confirmed(done, at(6)) and done.status is Status.COMPLETED


def test_admission_queues_or_admits_a_waiting_experiment_never_a_cancelled_one() -> None:
    waiting = experiment()
    assert lifecycle.queued(waiting, at(0)) and waiting.status is Status.QUEUED
    assert not lifecycle.queued(waiting, at(1))
    assert lifecycle.admitted(waiting, at(2)) and waiting.status is Status.SUBMITTING
    assert not lifecycle.admitted(waiting, at(3)) and not lifecycle.queued(waiting, at(3))
    assert waiting.started_at is None, "started when its build is recorded"

    at_once = experiment()
    assert lifecycle.admitted(at_once, at(0)) and at_once.status is Status.SUBMITTING

    for status in (Status.PENDING, Status.QUEUED):
        cancelling = experiment(status=status, cancel_requested=True)
        assert not lifecycle.admitted(cancelling, at(0)) and cancelling.status is status
    cancelled = experiment(status=Status.CANCELLED)
    assert not lifecycle.admitted(cancelled, at(0)) and not lifecycle.queued(cancelled, at(0))


def test_a_build_is_taken_only_by_an_admitted_experiment_without_a_cancel() -> None:
    subject = experiment()
    lifecycle.admitted(subject, at(0))
    assert lifecycle.build_started(subject, "b1", at(0))
    assert (subject.status, subject.cloud_build_id, subject.started_at) == (Status.SUBMITTING, "b1", at(0))
    assert stages(subject)["compile"] == "running"
    assert not lifecycle.build_started(subject, "b1", at(1))
    assert not lifecycle.build_started(subject, "b2", at(1)) and subject.cloud_build_id == "b1"

    cancelling = experiment(status=Status.SUBMITTING, cancel_requested=True)
    assert not lifecycle.build_started(cancelling, "b3", at(0)) and cancelling.cloud_build_id is None


# --- build notifications -----------------------------------------------------------------------


def test_a_successful_build_starts_the_pipeline_it_submitted() -> None:
    subject = submitting()
    assert lifecycle.apply_build(subject, build("WORKING"), at(1)) is False  # Compile already running
    assert lifecycle.apply_build(subject, build("SUCCESS", pipeline_job_name=JOB), at(2))
    assert (subject.status, subject.pipeline_job_name) == (Status.RUNNING, JOB)
    assert stages(subject)["compile"] == "succeeded" and subject.started_at == at(0)


def test_a_build_of_another_experiment_changes_nothing() -> None:
    subject = submitting()
    before = subject.model_copy(deep=True)
    assert not lifecycle.apply_build(subject, build("FAILURE", build_id="b9", log_excerpt="Build failed"), at(1))
    assert subject == before


def test_a_build_that_submitted_no_job_fails_compile() -> None:
    subject = submitting()
    assert lifecycle.apply_build(subject, build("SUCCESS", log_excerpt="step 1 done"), at(1))
    assert subject.error is not None
    assert (subject.error.code, subject.error.stage, subject.error.excerpt) == (
        "BUILD_WITHOUT_JOB", Stage.COMPILE, "step 1 done")


def test_a_failed_build_is_classified_from_its_log() -> None:
    subject = submitting()
    excerpt = "ModuleNotFoundError: No module named 'tfx'"
    assert lifecycle.apply_build(subject, build("FAILURE", log_excerpt=excerpt), at(1))
    assert subject.error is not None and (subject.error.code, subject.error.stage) == ("MISSING_MODULE", Stage.COMPILE)
    assert stages(subject)["compile"] == "failed"

    timed_out = submitting()
    assert lifecycle.apply_build(timed_out, build("TIMEOUT"), at(1))
    assert timed_out.error is not None and timed_out.error.excerpt == "Cloud Build TIMEOUT"


def test_a_build_finishing_while_a_cancel_is_in_flight_records_its_job_without_running() -> None:
    subject = submitting()
    lifecycle.request_cancel(subject)
    assert lifecycle.apply_build(subject, build("SUCCESS", pipeline_job_name=JOB), at(1))
    assert (subject.status, subject.pipeline_job_name) == (Status.SUBMITTING, JOB)
    assert stages(subject)["compile"] == "succeeded"


def test_a_cancelled_build_cancels_the_experiment() -> None:
    subject = submitting()
    assert lifecycle.apply_build(subject, build("CANCELLED"), at(1))
    assert subject.status is Status.CANCELLED and stages(subject)["compile"] == "cancelled"


# --- pipeline events ---------------------------------------------------------------------------


def test_task_events_move_their_stages_and_a_skipped_task_is_cached() -> None:
    subject = running()
    assert lifecycle.apply_task(subject, task("ExampleGen", "RUNNING"), at(2))
    assert lifecycle.apply_task(subject, task("ExampleGen", "SKIPPED"), at(3))
    assert lifecycle.apply_task(subject, task("StatisticsGen", "SUCCEEDED"), at(4))
    assert stages(subject)["examples"] == "succeeded" and subject.stages[Stage.EXAMPLES].cached
    assert stages(subject)["stats"] == "succeeded" and not subject.stages[Stage.STATS].cached
    assert not lifecycle.apply_task(subject, task("ExampleGen", "RUNNING"), at(5))


def test_a_task_event_of_another_job_changes_nothing() -> None:
    subject = running()
    before = subject.model_copy(deep=True)
    assert not lifecycle.apply_task(subject, task("Trainer", "FAILED", job="projects/p/other"), at(2))
    assert subject == before


def test_a_failed_task_fails_its_stage_with_the_classified_error() -> None:
    subject = running()
    lifecycle.apply_task(subject, task("Trainer", "RUNNING"), at(2))
    oom = "tensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM when allocating tensor"
    assert lifecycle.apply_task(subject, task("Trainer", "FAILED", error_message=oom), at(3))
    assert subject.error is not None and (subject.error.code, subject.error.stage) == ("OUT_OF_MEMORY", Stage.TRAIN)
    assert subject.stages[Stage.TRAIN].message == oom
    assert not lifecycle.apply_job(subject, job("PIPELINE_STATE_FAILED", error_message="task failed"), at(4))


def test_a_task_event_does_not_restart_an_ended_or_cancelling_experiment() -> None:
    subject = submitting()
    lifecycle.request_cancel(subject)
    lifecycle.apply_task(subject, task("ExampleGen", "RUNNING"), at(1))
    assert subject.status is Status.SUBMITTING


def test_a_succeeded_job_completes_with_its_results_and_comparison() -> None:
    subject = running()
    lifecycle.apply_task(subject, task("Trainer", "RUNNING"), at(2))
    comparison = {"summary": "↑ 1.2 % vs Exp #2"}
    assert lifecycle.apply_job(subject, job("PIPELINE_STATE_SUCCEEDED"), at(3), results=RESULTS,
                               comparison=comparison)
    assert (subject.status, subject.finished_at, subject.mlflow_run_id) == (Status.COMPLETED, at(3), "run-7")
    assert subject.results == RESULTS and subject.comparison == comparison
    assert set(stages(subject).values()) == {"succeeded"}


def test_a_succeeded_job_without_metrics_fails_train() -> None:
    subject = running()
    assert lifecycle.apply_job(subject, job("PIPELINE_STATE_SUCCEEDED"), at(3))
    assert subject.error is not None and (subject.error.code, subject.error.stage) == ("METRICS_MISSING", Stage.TRAIN)


@pytest.mark.parametrize(("running_task", "stage"), [("Transform", Stage.TRANSFORM), (None, Stage.TRAIN)])
def test_a_failed_job_fails_the_stage_that_was_running(running_task: str | None, stage: Stage) -> None:
    subject = running()
    if running_task:
        lifecycle.apply_task(subject, task(running_task, "RUNNING"), at(2))
    assert lifecycle.apply_job(subject, job("PIPELINE_STATE_FAILED"), at(3))
    assert subject.error is not None and subject.error.stage is stage and stages(subject)[stage.value] == "failed"


def test_job_states_start_cancel_or_leave_alone() -> None:
    adopted = submitting()
    assert not lifecycle.apply_job(adopted, job("PIPELINE_STATE_RUNNING"), at(1)), "not adopted yet"
    lifecycle.request_cancel(adopted)
    assert lifecycle.apply_build(adopted, build("SUCCESS", pipeline_job_name=JOB), at(1))
    assert not lifecycle.apply_job(adopted, job("PIPELINE_STATE_RUNNING"), at(1)), "a cancel is in flight"
    adopted.cancel_requested = False
    assert lifecycle.apply_job(adopted, job("PIPELINE_STATE_RUNNING"), at(1))
    assert (adopted.status, adopted.pipeline_job_name) == (Status.RUNNING, JOB)
    assert lifecycle.apply_job(adopted, job("PIPELINE_STATE_CANCELLED"), at(2)) and adopted.status is Status.CANCELLED
    assert not lifecycle.apply_job(adopted, job("PIPELINE_STATE_RUNNING"), at(3))
    assert not lifecycle.apply_job(adopted, job("PIPELINE_STATE_PAUSED"), at(3))


def test_every_event_replayed_twice_in_any_order_leaves_the_experiment_as_it_was() -> None:
    events: list[Any] = [build("WORKING"), build("SUCCESS", pipeline_job_name=JOB), job("PIPELINE_STATE_RUNNING")]
    for name in TASK_STAGES:
        events += [task(name, "RUNNING"), task(name, "SUCCEEDED")]
    events.append(job("PIPELINE_STATE_SUCCEEDED"))

    def apply(subject: Experiment, event: Any, now: datetime) -> bool:
        if isinstance(event, BuildFinished):
            return lifecycle.apply_build(subject, event, now)
        if isinstance(event, PipelineTaskStateChanged):
            return lifecycle.apply_task(subject, event, now)
        return lifecycle.apply_job(subject, event, now, results=RESULTS)

    subject = submitting()
    for second, event in enumerate(events, start=1):
        apply(subject, event, at(second))
    assert subject.status is Status.COMPLETED
    finished = subject.model_copy(deep=True)
    replay = events * 2
    random.Random(7).shuffle(replay)
    assert not any(apply(subject, event, at(100 + i)) for i, event in enumerate(replay))
    assert subject == finished


# --- event integrity (issue 10 section 3) ------------------------------------------------------

OTHER_JOB = "projects/p/locations/r/pipelineJobs/made-up"


def every_event() -> list[Any]:
    """Every build, task and job event, for the experiment's own build and job and for others."""
    events: list[Any] = []
    for build_id in ("b1", "b9"):
        events += [build("WORKING", build_id), build("SUCCESS", build_id, pipeline_job_name=OTHER_JOB),
                   build("FAILURE", build_id, log_excerpt="boom"), build("CANCELLED", build_id)]
    for name in (JOB, OTHER_JOB):
        for task_name in TASK_STAGES:
            events += [task(task_name, state, job=name, error_message="boom")
                       for state in ("RUNNING", "SUCCEEDED", "SKIPPED", "FAILED", "CANCELLED")]
        events += [job(state, job_name=name, error_message="boom") for state in (
            "PIPELINE_STATE_RUNNING", "PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED")]
    return events


def apply_any(subject: Experiment, event: Any, now: datetime) -> bool:
    if isinstance(event, BuildFinished):
        return lifecycle.apply_build(subject, event, now)
    if isinstance(event, PipelineTaskStateChanged):
        return lifecycle.apply_task(subject, event, now)
    return lifecycle.apply_job(subject, event, now, results=RESULTS)


def failed_in_compile() -> Experiment:
    subject = submitting()
    assert lifecycle.apply_build(subject, build("FAILURE", log_excerpt="No module named 'tfx'"), at(1))
    return subject


def cancelled_in_compile() -> Experiment:
    subject = submitting()
    lifecycle.request_cancel(subject)
    assert lifecycle.cancel_confirmed(subject, at(1))
    return subject


def cancelled_in_train() -> Experiment:
    subject = running()
    lifecycle.apply_task(subject, task("Trainer", "RUNNING"), at(2))
    assert lifecycle.cancel_confirmed(subject, at(3))
    return subject


def completed_run() -> Experiment:
    subject = running()
    assert lifecycle.apply_job(subject, job("PIPELINE_STATE_SUCCEEDED"), at(3), results=RESULTS)
    return subject


@pytest.mark.parametrize("ended", [failed_in_compile, cancelled_in_compile, cancelled_in_train, completed_run],
                         ids=lambda f: f.__name__)
def test_an_ended_experiment_ignores_every_event(ended: Any) -> None:
    """Before: task and build events rewrote the stages and the job name of failed and cancelled experiments."""
    subject = ended()
    before = subject.model_copy(deep=True)
    changed = [event for i, event in enumerate(every_event()) if apply_any(subject, event, at(10 + i))]
    assert changed == [] and subject == before


@pytest.mark.parametrize("status", [Status.PENDING, Status.QUEUED, Status.SUBMITTING])
def test_no_task_or_job_event_adopts_a_job(status: Status) -> None:
    """Before: one forged task event bound a pending experiment to a made-up job (then reconcile failed it
    every 30 s until the 6-hour timeout)."""
    subject = experiment(status=status, cloud_build_id="b1" if status is Status.SUBMITTING else None)
    before = subject.model_copy(deep=True)
    for i, event in enumerate(every_event()):
        if not isinstance(event, BuildFinished):
            assert not apply_any(subject, event, at(i)), event
    assert subject == before and subject.pipeline_job_name is None


def test_only_the_submitting_build_adopts_a_job() -> None:
    subject = submitting()
    assert not lifecycle.apply_build(subject, build("SUCCESS", "b9", pipeline_job_name=OTHER_JOB), at(1))
    assert lifecycle.apply_build(subject, build("SUCCESS", pipeline_job_name=JOB), at(2))
    assert subject.pipeline_job_name == JOB
    assert not lifecycle.apply_build(subject, build("SUCCESS", pipeline_job_name=OTHER_JOB), at(3))
    assert subject.pipeline_job_name == JOB
