"""The experiment lifecycle: every move of an experiment's status and stages, as pure functions.

Each function takes the experiment (a model it mutates), what happened and ``now``, and returns
True when the experiment changed. None reads or writes a store or touches compute: the
experiments repository runs them inside a transaction (where they may be re-run on contention)
and the service layer acts on compute afterwards. Status and stage statuses only move forward
(``domain.status``), so a duplicate, stale or out-of-order event changes nothing.

Event integrity (decision 053): an event for an experiment that has ended changes nothing at all;
a pipeline job is adopted (``job_adopted``) only from the result of the experiment's own build
(``apply_build``) or the platform's own submit, never from a task or job event, and a task or job
event of any job other than the recorded one changes nothing.

Events arrive as the shapes below (``events.messages`` defines the messages that have them), so
the domain stays below the events tier. Their states are Cloud Build's and Vertex AI's names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from experiments_platform.domain import error_codes, pipeline_jobs
from experiments_platform.domain.error_patterns import classify
from experiments_platform.domain.experiment import ClassifiedError, Experiment
from experiments_platform.domain.metrics_report import MetricsReport
from experiments_platform.domain.status import (
    WAITING,
    Stage,
    StageStatus,
    Status,
    can_transition,
    stage_can_move,
    stage_order,
)

STAGE_MESSAGE_MAX_CHARS = 2000
JOB_ACTIVE_STATES = frozenset({"PIPELINE_STATE_QUEUED", "PIPELINE_STATE_PENDING", "PIPELINE_STATE_RUNNING"})


class BuildEvent(Protocol):
    """The compile-and-submit build reached a state (``messages.BuildFinished``)."""

    @property
    def build_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def pipeline_job_name(self) -> str | None: ...
    @property
    def log_excerpt(self) -> str: ...


class TaskEvent(Protocol):
    """A pipeline task changed state (``messages.PipelineTaskStateChanged``)."""

    @property
    def job_name(self) -> str: ...
    @property
    def stage(self) -> Stage | None: ...
    @property
    def state(self) -> str: ...
    @property
    def error_message(self) -> str: ...


class JobEvent(Protocol):
    """The pipeline job changed state (``messages.PipelineJobStateChanged``)."""

    @property
    def job_name(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def error_message(self) -> str: ...


# --- the moves ---------------------------------------------------------------------------------


def move_status(experiment: Experiment, target: Status, now: datetime) -> bool:
    """Status ``target`` if the status machine allows it; stamps ``started_at`` and ``finished_at``."""
    if not can_transition(experiment.status, target):
        return False
    experiment.status = target
    if target is Status.RUNNING and experiment.started_at is None:
        experiment.started_at = now
    if target.terminal:
        experiment.finished_at = now
    return True


def move_stage(
    experiment: Experiment, stage: Stage, target: StageStatus, now: datetime, *, cached: bool = False,
    message: str | None = None,
) -> bool:
    """Stage status ``target`` if it is a step forward; stamps the stage's times. A stage the
    experiment does not have (Push of a quick test) does not move."""
    state = experiment.stages.get(stage)
    if state is None or not stage_can_move(state.status, target):
        return False
    state.status = target
    state.started_at = state.started_at or now
    if target is not StageStatus.RUNNING:
        state.finished_at = now
        state.cached = state.cached or cached
    if message:
        state.message = message[:STAGE_MESSAGE_MAX_CHARS]
    return True


def _started_earlier(experiment: Experiment, stage: Stage, at: datetime) -> bool:
    """A stage's start is the earliest time it was seen running: a RUNNING event redelivered after the
    stage ended moves its start back to when the task really started."""
    state = experiment.stages.get(stage)
    if state is None or state.started_at is None or at >= state.started_at:
        return False
    state.started_at = at
    return True


def close_open_stages(
    experiment: Experiment, target: StageStatus, now: datetime, *, only_running: bool = False
) -> bool:
    """Every running stage (and every pending one unless ``only_running``) to ``target``."""
    changed = False
    for stage in stage_order(experiment.run_kind):
        status = experiment.stages[stage].status
        if status is StageStatus.RUNNING or (status is StageStatus.PENDING and not only_running):
            changed = move_stage(experiment, stage, target, now) or changed
    return changed


def failed_stage(experiment: Experiment) -> Stage | None:
    """The first stage that is running or failed: where a failure without a stage happened."""
    for stage in stage_order(experiment.run_kind):
        if experiment.stages[stage].status in (StageStatus.RUNNING, StageStatus.FAILED):
            return stage
    return None


def fail(experiment: Experiment, error: ClassifiedError, now: datetime) -> bool:
    """Status failed with ``error``; its stage failed, the other running stages cancelled."""
    if not move_status(experiment, Status.FAILED, now):
        return False
    experiment.error = error
    if error.stage is not None:
        move_stage(experiment, error.stage, StageStatus.FAILED, now)
    close_open_stages(experiment, StageStatus.CANCELLED, now, only_running=True)
    return True


def cancelled(experiment: Experiment, now: datetime) -> bool:
    """Status cancelled, running stages cancelled."""
    if not move_status(experiment, Status.CANCELLED, now):
        return False
    close_open_stages(experiment, StageStatus.CANCELLED, now, only_running=True)
    return True


def request_cancel(experiment: Experiment) -> bool:
    """Mark ``cancel_requested`` (the caller checks that the status is cancellable)."""
    if experiment.cancel_requested:
        return False
    experiment.cancel_requested = True
    return True


def cancel_confirmed(experiment: Experiment, now: datetime) -> bool:
    """The compute is stopped: cancelled, unless the experiment ended first."""
    if experiment.status.terminal:
        return False
    changed = request_cancel(experiment)
    return cancelled(experiment, now) or changed


def wants_cancel(experiment: Experiment) -> bool:
    """A cancel was requested or done: any compute the experiment still has must be stopped."""
    return experiment.cancel_requested or experiment.status is Status.CANCELLED


def queued(experiment: Experiment, now: datetime) -> bool:
    """Pending → queued: no run slot was free when admission looked at it."""
    return experiment.status is Status.PENDING and move_status(experiment, Status.QUEUED, now)


def admitted(experiment: Experiment, now: datetime) -> bool:
    """Pending or queued → submitting: it holds a run slot and may start its build. A cancelled
    or cancelling experiment is never admitted."""
    if experiment.status not in WAITING or experiment.cancel_requested:
        return False
    return move_status(experiment, Status.SUBMITTING, now)


def build_started(experiment: Experiment, build_id: str, now: datetime) -> bool:
    """The submitter's build is recorded: Compile running.

    Only an admitted experiment (submitting, no build yet) whose cancel was not requested takes a
    build; afterwards ``experiment.cloud_build_id == build_id`` tells whether this build is the
    experiment's.
    """
    if experiment.cloud_build_id is not None or experiment.status not in (Status.PENDING, Status.SUBMITTING):
        return False
    if experiment.cancel_requested:
        return False
    move_status(experiment, Status.SUBMITTING, now)
    experiment.cloud_build_id = build_id
    experiment.started_at = experiment.started_at or now
    move_stage(experiment, Stage.COMPILE, StageStatus.RUNNING, now)
    return True


def job_adopted(experiment: Experiment, job_name: str, now: datetime) -> bool:
    """The pipeline job is recorded (when none is yet) and Compile, which submitted it, succeeded."""
    changed = False
    if experiment.pipeline_job_name is None:
        experiment.pipeline_job_name = job_name
        changed = True
    return move_stage(experiment, Stage.COMPILE, StageStatus.SUCCEEDED, now) or changed


def pipeline_started(experiment: Experiment, job_name: str, now: datetime) -> bool:
    """The job is adopted and the experiment running."""
    changed = job_adopted(experiment, job_name, now)
    return move_status(experiment, Status.RUNNING, now) or changed


def completed(experiment: Experiment, results: MetricsReport, comparison: dict[str, Any] | None,
              now: datetime) -> bool:
    """Status completed with the results (``metrics.json``) and "vs previous best"; open stages succeeded."""
    if not move_status(experiment, Status.COMPLETED, now):
        return False
    close_open_stages(experiment, StageStatus.SUCCEEDED, now)
    experiment.results = results
    experiment.comparison = comparison
    if results.mlflow_run_id:
        experiment.mlflow_run_id = results.mlflow_run_id
    return True


# --- events ------------------------------------------------------------------------------------


def is_own_build(experiment: Experiment, build_id: str) -> bool:
    """The build the experiment recorded (``build_started``): the only one whose events count."""
    return experiment.cloud_build_id is not None and experiment.cloud_build_id == build_id


def is_own_job(experiment: Experiment, job_name: str) -> bool:
    """The job the experiment adopted: the only one whose task and job events count. Compared by job
    id: Vertex AI names it by project number, the platform by project id, a log entry by the bare id."""
    return pipeline_jobs.same_job(experiment.pipeline_job_name, job_name)


def apply_build(experiment: Experiment, event: BuildEvent, now: datetime) -> bool:
    """A build notification of the experiment's own build; it adopts the job the build submitted.

    Any other build, or any build once the experiment has ended, changes nothing."""
    if experiment.status.terminal or not is_own_build(experiment, event.build_id):
        return False
    if event.status in ("QUEUED", "WORKING"):
        return move_stage(experiment, Stage.COMPILE, StageStatus.RUNNING, now)
    if event.status == "SUCCESS":
        if event.pipeline_job_name is None:
            return fail(experiment, error_codes.BUILD_WITHOUT_JOB.error(stage=Stage.COMPILE, excerpt=event.log_excerpt),
                        now)
        if experiment.pipeline_job_name is not None and not is_own_job(experiment, event.pipeline_job_name):
            return False
        if experiment.cancel_requested:
            return job_adopted(experiment, event.pipeline_job_name, now)
        return pipeline_started(experiment, event.pipeline_job_name, now)
    if event.status == "CANCELLED":
        changed = move_stage(experiment, Stage.COMPILE, StageStatus.CANCELLED, now)
        return cancelled(experiment, now) or changed
    excerpt = event.log_excerpt or f"Cloud Build {event.status}"
    return fail(experiment, classify(excerpt, Stage.COMPILE), now)


def apply_task(experiment: Experiment, event: TaskEvent, now: datetime) -> bool:
    """A task state event of the experiment's job: its stage moves. A task of any other job (or of a
    job not adopted yet), or any task once the experiment has ended, changes nothing."""
    if experiment.status.terminal or not is_own_job(experiment, event.job_name):
        return False
    changed = False
    if not experiment.cancel_requested:
        changed = pipeline_started(experiment, event.job_name, now)
    stage = event.stage
    if stage is None:
        return changed
    if event.state == "RUNNING":
        return move_stage(experiment, stage, StageStatus.RUNNING, now) or _started_earlier(experiment, stage, now) \
            or changed
    if event.state in ("SUCCEEDED", "SKIPPED"):
        cached = event.state == "SKIPPED"
        return move_stage(experiment, stage, StageStatus.SUCCEEDED, now, cached=cached) or changed
    if event.state == "CANCELLED":
        return move_stage(experiment, stage, StageStatus.CANCELLED, now) or changed
    if event.state == "FAILED":
        changed = move_stage(experiment, stage, StageStatus.FAILED, now, message=event.error_message) or changed
        return fail(experiment, classify(event.error_message or "task failed", stage), now) or changed
    return changed


def apply_job(
    experiment: Experiment, event: JobEvent, now: datetime, *, results: MetricsReport | None = None,
    comparison: dict[str, Any] | None = None, metrics_error: str | None = None,
) -> bool:
    """A job state event of the experiment's job (any other job, or any job once the experiment has
    ended, changes nothing). A succeeded job completes the experiment with ``results`` (read by the
    caller from ``metrics.json``) and ``comparison``, or fails it without them: METRICS_MALFORMED
    with ``metrics_error`` when the file was not a report, METRICS_MISSING otherwise."""
    if experiment.status.terminal or not is_own_job(experiment, event.job_name):
        return False
    if event.state in JOB_ACTIVE_STATES:
        if experiment.cancel_requested:
            return False
        return pipeline_started(experiment, event.job_name, now)
    if event.state == "PIPELINE_STATE_SUCCEEDED":
        if results is None:
            missing = (error_codes.METRICS_MALFORMED.error(stage=Stage.TRAIN, excerpt=metrics_error) if metrics_error
                       else error_codes.METRICS_MISSING.error(stage=Stage.TRAIN))
            return fail(experiment, missing, now)
        return completed(experiment, results, comparison, now)
    if event.state == "PIPELINE_STATE_FAILED":
        stage = failed_stage(experiment) or Stage.TRAIN
        return fail(experiment, classify(event.error_message or "pipeline failed", stage), now)
    if event.state == "PIPELINE_STATE_CANCELLED":
        return cancelled(experiment, now)
    return False
