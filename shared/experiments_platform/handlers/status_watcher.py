"""Status watcher: build notifications and pipeline state events move an experiment forward.

Every change goes through ``update_experiment``: one store transaction reads the document,
applies the event through the status machine (status and stage statuses only move forward)
and writes only when something changed. A duplicate, stale or out-of-order event therefore
changes nothing, and replaying every event of a finished experiment leaves it as it was.
Side effects on compute (cancelling a pipeline that a build submitted while a cancel was in
flight) happen after the transaction, and are idempotent themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.domain import error_codes
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.experiment import ClassifiedError, Experiment
from experiments_platform.domain.status import STAGE_ORDER, Stage, StageStatus, Status, can_transition, stage_can_move
from experiments_platform.events.google_events import TERMINAL_PIPELINE_STATES
from experiments_platform.events.messages import BuildFinished, PipelineJobStateChanged, PipelineTaskStateChanged
from experiments_platform.handlers.results import compare_with_previous_best, read_metrics
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.documents import DocumentStore
from experiments_platform.repositories.experiments import COLLECTION

log = get_logger(__name__)

Change = Callable[[Experiment], bool]


def update_experiment(store: DocumentStore, experiment_id: str, change: Change) -> tuple[Experiment | None, bool]:
    """Apply ``change`` to the experiment inside a transaction; write only when it returns True.

    ``change`` mutates the model it is given and must be free of side effects (it is re-run on
    contention). Returns the experiment as stored afterwards and whether it changed.
    """

    def attempt(tx: Any) -> tuple[Experiment | None, bool]:
        document = tx.get(COLLECTION, experiment_id)
        if document is None:
            return None, False
        experiment = Experiment.model_validate(document)
        if not change(experiment):
            return experiment, False
        experiment.updated_at = utcnow()
        tx.set(COLLECTION, experiment_id, experiment.to_document())
        return experiment, True

    return store.run_transaction(attempt)  # type: ignore[no-any-return]


def load_experiment(store: DocumentStore, experiment_id: str) -> Experiment | None:
    document = store.get(COLLECTION, experiment_id)
    return Experiment.model_validate(document) if document else None


# --- pure moves of the status machine ---------------------------------------------------------


def move_status(experiment: Experiment, target: Status, now: datetime) -> bool:
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
    state = experiment.stages[stage]
    if not stage_can_move(state.status, target):
        return False
    state.status = target
    state.started_at = state.started_at or now
    if target is not StageStatus.RUNNING:
        state.finished_at = now
        state.cached = state.cached or cached
    if message:
        state.message = message[:2000]
    return True


def close_open_stages(
    experiment: Experiment, target: StageStatus, now: datetime, *, only_running: bool = False
) -> bool:
    changed = False
    for stage in STAGE_ORDER:
        status = experiment.stages[stage].status
        if status is StageStatus.RUNNING or (status is StageStatus.PENDING and not only_running):
            changed = move_stage(experiment, stage, target, now) or changed
    return changed


def classify_failure(text: str, stage: Stage | None) -> ClassifiedError:
    from experiments_platform.domain.error_patterns import classify

    return classify(text, stage=stage)


def _failed_stage(experiment: Experiment) -> Stage | None:
    for stage in STAGE_ORDER:
        if experiment.stages[stage].status in (StageStatus.RUNNING, StageStatus.FAILED):
            return stage
    return None


def fail(experiment: Experiment, error: ClassifiedError, now: datetime) -> bool:
    if not move_status(experiment, Status.FAILED, now):
        return False
    experiment.error = error
    if error.stage is not None:
        move_stage(experiment, error.stage, StageStatus.FAILED, now)
    close_open_stages(experiment, StageStatus.CANCELLED, now, only_running=True)
    return True


def cancelled(experiment: Experiment, now: datetime) -> bool:
    if not move_status(experiment, Status.CANCELLED, now):
        return False
    close_open_stages(experiment, StageStatus.CANCELLED, now, only_running=True)
    return True


def _pipeline_started(experiment: Experiment, job_name: str, now: datetime) -> bool:
    changed = False
    if experiment.pipeline_job_name is None:
        experiment.pipeline_job_name = job_name
        changed = True
    changed = move_stage(experiment, Stage.COMPILE, StageStatus.SUCCEEDED, now) or changed
    return move_status(experiment, Status.RUNNING, now) or changed


# --- build notifications ----------------------------------------------------------------------


def on_build(platform: Platform, event: BuildFinished) -> None:
    now = utcnow()

    def apply(experiment: Experiment) -> bool:
        if experiment.cloud_build_id not in (None, event.build_id):
            return False
        if event.status in ("QUEUED", "WORKING"):
            return move_stage(experiment, Stage.COMPILE, StageStatus.RUNNING, now)
        if event.status == "SUCCESS":
            if event.pipeline_job_name is None:
                error = error_codes.BUILD_WITHOUT_JOB.error(stage=Stage.COMPILE, excerpt=event.log_excerpt)
                return fail(experiment, error, now)
            if experiment.status.terminal or experiment.cancel_requested:
                changed = experiment.pipeline_job_name is None
                experiment.pipeline_job_name = experiment.pipeline_job_name or event.pipeline_job_name
                return move_stage(experiment, Stage.COMPILE, StageStatus.SUCCEEDED, now) or changed
            return _pipeline_started(experiment, event.pipeline_job_name, now)
        if event.status == "CANCELLED":
            changed = move_stage(experiment, Stage.COMPILE, StageStatus.CANCELLED, now)
            return cancelled(experiment, now) or changed
        excerpt = event.log_excerpt or f"Cloud Build {event.status}"
        return fail(experiment, classify_failure(excerpt, Stage.COMPILE), now)

    with_log = fields(experiment_id=event.experiment_id, stage=Stage.COMPILE.value, build_id=event.build_id,
                      build_status=event.status)
    experiment, changed = update_experiment(platform.documents, event.experiment_id, apply)
    if experiment is None:
        log.warning("build notification for an unknown experiment", extra=with_log)
        return
    log.info("build notification applied" if changed else "build notification changed nothing", extra=with_log)
    if event.status == "SUCCESS" and event.pipeline_job_name and _cancel_in_flight(experiment):
        log.info("build finished while a cancel was in flight: cancelling its pipeline", extra=with_log)
        platform.pipelines.cancel(event.pipeline_job_name)
        from experiments_platform.handlers.cancel import finish_cancel

        finish_cancel(platform, event.experiment_id)


def _cancel_in_flight(experiment: Experiment) -> bool:
    return experiment.cancel_requested or experiment.status is Status.CANCELLED


# --- pipeline state events --------------------------------------------------------------------


def on_task(platform: Platform, event: PipelineTaskStateChanged) -> None:
    now = utcnow()
    stage = event.stage

    def apply(experiment: Experiment) -> bool:
        if experiment.pipeline_job_name not in (None, event.job_name):
            return False
        changed = False
        if not experiment.status.terminal and not experiment.cancel_requested:
            changed = _pipeline_started(experiment, event.job_name, now)
        if stage is None:
            return changed
        if event.state == "RUNNING":
            return move_stage(experiment, stage, StageStatus.RUNNING, now) or changed
        if event.state in ("SUCCEEDED", "SKIPPED"):
            cached = event.state == "SKIPPED"
            return move_stage(experiment, stage, StageStatus.SUCCEEDED, now, cached=cached) or changed
        if event.state == "CANCELLED":
            return move_stage(experiment, stage, StageStatus.CANCELLED, now) or changed
        if event.state == "FAILED":
            changed = move_stage(experiment, stage, StageStatus.FAILED, now, message=event.error_message) or changed
            return fail(experiment, classify_failure(event.error_message or "task failed", stage), now) or changed
        return changed

    _apply_pipeline_event(platform, event.experiment_id, event.job_name, apply, event.state, task=event.task_name,
                          stage=stage)


def on_job(platform: Platform, event: PipelineJobStateChanged) -> None:
    now = utcnow()
    results: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None
    if event.state == "PIPELINE_STATE_SUCCEEDED":
        current = load_experiment(platform.documents, event.experiment_id)
        if current is not None and not current.status.terminal:
            results = read_metrics(platform, event.experiment_id)
            if results is not None:
                comparison = compare_with_previous_best(platform.documents, current.id, current.dataset_id, results)

    def apply(experiment: Experiment) -> bool:
        if experiment.pipeline_job_name not in (None, event.job_name):
            return False
        if event.state in ("PIPELINE_STATE_QUEUED", "PIPELINE_STATE_PENDING", "PIPELINE_STATE_RUNNING"):
            if experiment.status.terminal or experiment.cancel_requested:
                return False
            return _pipeline_started(experiment, event.job_name, now)
        if event.state == "PIPELINE_STATE_SUCCEEDED":
            if results is None:
                return fail(experiment, error_codes.METRICS_MISSING.error(stage=Stage.TRAIN), now)
            if experiment.pipeline_job_name is None:
                experiment.pipeline_job_name = event.job_name
            if not move_status(experiment, Status.COMPLETED, now):
                return False
            close_open_stages(experiment, StageStatus.SUCCEEDED, now)
            experiment.results = results
            experiment.comparison = comparison
            run_id = results.get("mlflow_run_id")
            if isinstance(run_id, str) and run_id:
                experiment.mlflow_run_id = run_id
            return True
        if event.state == "PIPELINE_STATE_FAILED":
            stage = _failed_stage(experiment) or Stage.TRAIN
            return fail(experiment, classify_failure(event.error_message or "pipeline failed", stage), now)
        if event.state == "PIPELINE_STATE_CANCELLED":
            return cancelled(experiment, now)
        return False

    _apply_pipeline_event(platform, event.experiment_id, event.job_name, apply, event.state)


def _apply_pipeline_event(
    platform: Platform, experiment_id: str, job_name: str, apply: Change, state: str, task: str | None = None,
    stage: Stage | None = None,
) -> None:
    context = fields(experiment_id=experiment_id, stage=stage.value if stage else None, pipeline_job_name=job_name,
                     state=state, task=task)
    experiment, changed = update_experiment(platform.documents, experiment_id, apply)
    if experiment is None:
        log.warning("pipeline event for an unknown experiment", extra=context)
        return
    log.info("pipeline event applied" if changed else "pipeline event changed nothing", extra=context)
    still_running = state not in TERMINAL_PIPELINE_STATES and state not in ("SUCCEEDED", "FAILED", "CANCELLED")
    if still_running and experiment.status is Status.CANCELLED and experiment.pipeline_job_name == job_name:
        log.info("pipeline of a cancelled experiment still reports work: cancelling it", extra=context)
        platform.pipelines.cancel(job_name)
