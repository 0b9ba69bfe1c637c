"""An experiment's compute (its build, its pipeline job): what its events change, and stopping it.

``apply_build``, ``apply_task`` and ``apply_job`` apply an event to the stored experiment (the
moves of ``domain.lifecycle`` in one repository transaction), then stop compute the experiment
no longer wants: a pipeline that a build submitted while a cancel was in flight, or one that
still reports work after its experiment was cancelled. The status watcher applies the events it
receives, reconcile the ones that were lost, so both take the same path. A task or job event is
applied at its own time (``occurred_at``, the log entry's timestamp), so a redelivered event stamps its
stage as if it had arrived at once; one found by a poll is applied at the time it was found. ``stop_compute``
cancels whatever an experiment has started; every compute call is idempotent.

Event integrity (decision 053): a task or job event counts only for the job the experiment
adopted. One that arrives before the build notification (topics are not ordered) makes the
handler ask the build service for the build's own result: the job is adopted from that result
when the build submitted this very job, the event is retried (``TransientError``) while the
build is still working, and ignored and logged otherwise, as is an event naming another job than
the recorded one. An experiment that has ended takes no event at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.domain import lifecycle, pipeline_jobs
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.metrics_report import MalformedReport, MetricsReport
from experiments_platform.domain.status import Stage, Status
from experiments_platform.errors import NotFound, TransientError
from experiments_platform.events.google_events import TERMINAL_BUILD_STATES, TERMINAL_PIPELINE_STATES
from experiments_platform.events.messages import BuildFinished, PipelineJobStateChanged, PipelineTaskStateChanged
from experiments_platform.handlers import admission, tracking
from experiments_platform.handlers.results import compare_with_previous_best, read_metrics
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.builds import BuildResult
from experiments_platform.repositories.experiments import Change, ExperimentRepository

log = get_logger(__name__)

TERMINAL_TASK_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


def apply_build(platform: Platform, event: BuildFinished) -> None:
    now = utcnow()
    facts = {"experiment_id": event.experiment_id, "stage": Stage.COMPILE.value, "build_id": event.build_id,
             "build_status": event.status}
    context = fields(**facts)
    experiment, changed = ExperimentRepository(platform.documents).update(
        event.experiment_id, lambda e: lifecycle.apply_build(e, event, now))
    if experiment is None:
        log.warning("build notification for an unknown experiment", extra=context)
        return
    log.info("build notification applied" if changed else "build notification changed nothing", extra=context)
    if changed and experiment.status.terminal:
        ended(platform, experiment, now)
    if not lifecycle.is_own_build(experiment, event.build_id):
        log.warning("build notification of another build than the experiment's: ignored",
                    extra=fields(recorded_build=experiment.cloud_build_id, **facts))
        return
    if event.status == "SUCCESS" and event.pipeline_job_name and lifecycle.wants_cancel(experiment):
        log.info("build finished while a cancel was in flight: cancelling its pipeline", extra=context)
        platform.pipelines.cancel(event.pipeline_job_name)
        confirm_cancel(platform, event.experiment_id)


def build_notification(experiment_id: str, build_id: str, result: BuildResult, found_by: str) -> BuildFinished:
    """The build notification of a build's result (asked of the build service), as the status watcher
    would have received it."""
    return BuildFinished(
        experiment_id=experiment_id, build_id=build_id, status=result.status,  # type: ignore[arg-type]
        pipeline_job_name=result.pipeline_job_name,
        log_excerpt=result.log_excerpt or f"Cloud Build {result.status} (found by {found_by})",
    )


def apply_task(platform: Platform, event: PipelineTaskStateChanged) -> None:
    now = event.occurred_at or utcnow()
    _apply_pipeline_event(platform, event.experiment_id, event.job_name, lambda e: lifecycle.apply_task(e, event, now),
                          event.state, task=event.task_name, stage=event.stage)


def apply_job(platform: Platform, event: PipelineJobStateChanged) -> None:
    """A succeeded job completes the experiment with ``metrics.json`` and its comparison, read first."""
    now = event.occurred_at or utcnow()
    results: MetricsReport | None = None
    comparison: dict[str, Any] | None = None
    metrics_error: str | None = None
    if event.state == "PIPELINE_STATE_SUCCEEDED":
        current = ExperimentRepository(platform.documents).find(event.experiment_id)
        if current is not None and not current.status.terminal:
            try:
                results = read_metrics(platform, event.experiment_id)
            except MalformedReport as exc:
                metrics_error = exc.message
            if results is not None:
                comparison = compare_with_previous_best(platform.documents, current.id, current.dataset_id, results)
    _apply_pipeline_event(
        platform, event.experiment_id, event.job_name,
        lambda e: lifecycle.apply_job(e, event, now, results=results, comparison=comparison,
                                      metrics_error=metrics_error), event.state)


def _apply_pipeline_event(
    platform: Platform, experiment_id: str, job_name: str, change: Change, state: str, task: str | None = None,
    stage: Stage | None = None,
) -> None:
    facts = {"experiment_id": experiment_id, "stage": stage.value if stage else None, "pipeline_job_name": job_name,
             "state": state, "task": task}
    context = fields(**facts)
    if not _is_own_job(platform, experiment_id, job_name, facts):
        return
    experiment, changed = ExperimentRepository(platform.documents).update(experiment_id, change)
    if experiment is None:
        log.warning("pipeline event for an unknown experiment", extra=context)
        return
    log.info("pipeline event applied" if changed else "pipeline event changed nothing", extra=context)
    if changed and experiment.status.terminal:
        ended(platform, experiment)
    still_working = state not in TERMINAL_PIPELINE_STATES and state not in TERMINAL_TASK_STATES
    if still_working and experiment.status is Status.CANCELLED and lifecycle.is_own_job(experiment, job_name):
        log.info("pipeline of a cancelled experiment still reports work: cancelling it", extra=context)
        platform.pipelines.cancel(job_name)


def _is_own_job(platform: Platform, experiment_id: str, job_name: str, facts: dict[str, Any]) -> bool:
    """Whether a pipeline event is about the experiment's own job, adopting that job from the build's
    result first when the event came before the build notification."""
    experiment = ExperimentRepository(platform.documents).find(experiment_id)
    if experiment is None or experiment.status.terminal or lifecycle.is_own_job(experiment, job_name):
        return True  # the lifecycle's own guards answer these
    if experiment.pipeline_job_name is not None:
        log.warning("pipeline event names another job than the experiment's: ignored",
                    extra=fields(recorded_job=experiment.pipeline_job_name, **facts))
        return False
    if experiment.cloud_build_id is None:
        log.warning("pipeline event for an experiment that started no build: ignored",
                    extra=fields(status=experiment.status.value, **facts))
        return False
    try:
        result = platform.builds.result(experiment.cloud_build_id)
    except NotFound:
        log.warning("pipeline event for an experiment whose build the build service does not know: ignored",
                    extra=fields(build_id=experiment.cloud_build_id, **facts))
        return False
    if result.status not in TERMINAL_BUILD_STATES:
        raise TransientError(
            f"the build {experiment.cloud_build_id} of experiment {experiment_id} has not reported its pipeline job "
            f"yet (build {result.status}); the event about job {job_name} is retried")
    if not pipeline_jobs.same_job(result.pipeline_job_name, job_name):
        log.warning("pipeline event names another job than the experiment's build submitted: ignored",
                    extra=fields(recorded_job=result.pipeline_job_name, build_status=result.status, **facts))
        return False
    log.info("pipeline event arrived before its build notification: adopting the job from the build's result",
             extra=fields(**facts))
    apply_build(platform, build_notification(experiment_id, experiment.cloud_build_id, result, "the status watcher"))
    return True


def stop_compute(platform: Platform, experiment: Experiment) -> None:
    """Cancel whatever compute the experiment has started: its job, else its build and any job that
    build submitted meanwhile."""
    context = fields(experiment_id=experiment.id, build_id=experiment.cloud_build_id,
                     pipeline_job_name=experiment.pipeline_job_name)
    if experiment.pipeline_job_name:
        log.info("cancelling the pipeline job", extra=context)
        platform.pipelines.cancel(experiment.pipeline_job_name)
    elif experiment.cloud_build_id:
        if platform.builds.status(experiment.cloud_build_id) not in TERMINAL_BUILD_STATES:
            log.info("cancelling the build", extra=context)
            platform.builds.cancel(experiment.cloud_build_id)
        latest = ExperimentRepository(platform.documents).find(experiment.id)
        if latest is not None and latest.pipeline_job_name:
            log.info("the build submitted a pipeline meanwhile: cancelling it", extra=context)
            platform.pipelines.cancel(latest.pipeline_job_name)


def confirm_cancel(platform: Platform, experiment_id: str) -> Experiment | None:
    """Its compute stopped: the experiment cancelled, unless it completed or failed first."""
    now = utcnow()
    experiment, changed = ExperimentRepository(platform.documents).update(
        experiment_id, lambda e: lifecycle.cancel_confirmed(e, now))
    if changed and experiment is not None:
        log.info("experiment cancelled", extra=fields(experiment_id=experiment_id))
        ended(platform, experiment, now)
    return experiment


def ended(platform: Platform, experiment: Experiment, now: datetime | None = None) -> None:
    """After ``experiment`` ended: its MLflow tracking settled, and its run slot handed to the queue."""
    tracking.settle(platform, experiment, now)
    admission.admit_next(platform)
