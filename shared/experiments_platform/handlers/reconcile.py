"""Reconcile: repair experiments whose events were lost, so none stays active forever.

A sweep (every 30 s in the local stack; a Cloud Scheduler job calling the status watcher's
``/tasks/reconcile`` on GCP) asks the build and pipeline services for the real state of every
active experiment not updated for a while, and applies what it learns as the lost events
would have been applied (``handlers.compute``; so the status machine and idempotency still hold):

* pending or admitted (submitting) without a build: the submit command is published again (the
  submitter is idempotent);
* queued: nothing per experiment; every sweep hands the free run slots to the queue
  (``handlers.admission.admit_next``), so a run slot whose release was lost is not lost;
* submitting: a finished build is applied as its notification would have been, with the pipeline
  job name and failure excerpt the build service reports (``BuildService.result``), so a lost
  SUCCESS notification still starts following the job it submitted;
* running (polled on every sweep, however recently updated; issue 13 item 5): the job as
  ``GetPipelineJob`` reports it (``handlers.job_poll``): task states its stages do not show yet, and
  a finished job with the job's own error text, applied as their events would have been;
* cancelled with a job or build still working: the compute is cancelled again, including a job
  that a build submitted after the cancel, unnoticed, and (for an hour after the cancel) any child
  job still active (decision 087);
* anything active past ``max_age`` since it started (queued experiments wait as long as the queue
  does): the compute is cancelled and the experiment fails (timeout);
* an ended experiment whose MLflow tracking is delayed: its run's journal is delivered to MLflow
  (``handlers.tracking.sync``), the run ended as the experiment ended;
* a completed full training whose model registration is pending (MLflow was down when it pushed): the
  pushed model is registered (``handlers.full_training.retry_pending_registrations``, decision 079).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from experiments_platform.bootstrap import Platform
from experiments_platform.domain import error_codes, lifecycle
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.status import Status
from experiments_platform.events.google_events import TERMINAL_BUILD_STATES, TERMINAL_PIPELINE_STATES
from experiments_platform.events.messages import SubmitExperiment, Topics
from experiments_platform.handlers import admission, full_training, job_poll, tracking
from experiments_platform.handlers.compute import apply_build, build_notification, ended, stop_compute
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.documents import Filter, Order
from experiments_platform.repositories.experiments import ExperimentRepository

log = get_logger(__name__)

ACTIVE = [Status.PENDING.value, Status.SUBMITTING.value, Status.RUNNING.value]
CHILD_JOBS_WATCH = timedelta(hours=1)
"""How long after a cancel the sweeps still ask the experiment's child jobs (custom, Dataflow) to stop."""


@dataclass
class ReconcileReport:
    checked: int = 0
    repaired: list[str] = field(default_factory=list)
    tracking_synced: list[str] = field(default_factory=list)
    tracking_delayed: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)
    """Full trainings whose pending model registration this sweep did (MLflow was down when they pushed)."""

    def to_dict(self) -> dict[str, object]:
        tracked = {"tracking_synced": self.tracking_synced, "tracking_delayed": self.tracking_delayed}
        return {"checked": self.checked, "repaired": self.repaired,
                **(tracked if self.tracking_synced or self.tracking_delayed else {}),
                **({"registered": self.registered} if self.registered else {})}


def reconcile(
    platform: Platform,
    *,
    quiet_for: timedelta = timedelta(minutes=2),
    max_age: timedelta = timedelta(hours=6),
    now: datetime | None = None,
) -> ReconcileReport:
    """Check every active experiment not updated for ``quiet_for`` (and recently cancelled ones)."""
    now = now or utcnow()
    report = ReconcileReport()
    repository = ExperimentRepository(platform.documents)
    active = repository.query([Filter("status", "in", ACTIVE)])
    recently_cancelled = repository.query(
        [Filter("status", "==", Status.CANCELLED.value)], [Order("updated_at", "desc")], limit=20
    )
    for experiment in [*active, *recently_cancelled]:
        polled = experiment.status is Status.RUNNING and experiment.pipeline_job_name is not None
        if experiment.status is not Status.CANCELLED and not polled and now - experiment.updated_at < quiet_for:
            continue
        report.checked += 1
        try:
            if reconcile_one(platform, experiment, now=now, max_age=max_age):
                report.repaired.append(experiment.id)
        except Exception:
            log.exception("reconcile failed for one experiment", extra=fields(experiment_id=experiment.id))
    admission.admit_next(platform)  # the safety net of a run slot whose release was lost
    sync_tracking(platform, report, now)
    report.registered = full_training.retry_pending_registrations(platform)
    if report.repaired or report.tracking_synced or report.registered:
        log.info("reconcile repaired experiments", extra=fields(**report.to_dict()))
    return report


def sync_tracking(platform: Platform, report: ReconcileReport, now: datetime) -> None:
    """Deliver the MLflow tracking of every ended experiment whose tracking is delayed."""
    for experiment in ExperimentRepository(platform.documents).query(tracking.DELAYED):
        try:
            synced = tracking.sync(platform, experiment, now)
        except Exception:
            log.exception("tracking sync failed for one experiment", extra=fields(experiment_id=experiment.id))
            synced = False
        (report.tracking_synced if synced else report.tracking_delayed).append(experiment.id)


def reconcile_one(platform: Platform, experiment: Experiment, *, now: datetime, max_age: timedelta) -> bool:
    """Repair one experiment from the real state of its compute; True when something was done."""
    facts = {"experiment_id": experiment.id, "status": experiment.status.value}
    context = fields(**facts)
    if experiment.status is Status.CANCELLED:
        return _stop_leftover_compute(platform, experiment, now)
    if now - (experiment.started_at or experiment.updated_at) > max_age:
        log.warning("experiment active past its maximum age: stopping it", extra=context)
        stop_compute(platform, experiment)
        error = error_codes.TIMEOUT.error(excerpt=f"still {experiment.status.value} after {max_age}")
        failed, changed = ExperimentRepository(platform.documents).update(experiment.id,
                                                                          lambda e: lifecycle.fail(e, error, now))
        if changed and failed is not None:
            ended(platform, failed, now)
        return changed
    if experiment.status in (Status.PENDING, Status.SUBMITTING) and experiment.cloud_build_id is None:
        log.info("pending or admitted experiment without a build: publishing its submit command again",
                 extra=context)
        platform.bus.publish(Topics.SUBMIT, *SubmitExperiment(experiment_id=experiment.id).encode())
        return True
    if experiment.pipeline_job_name:
        return job_poll.poll_job(platform, experiment, experiment.pipeline_job_name)
    if experiment.cloud_build_id:
        result = platform.builds.result(experiment.cloud_build_id)
        if result.status in TERMINAL_BUILD_STATES:
            log.info("build ended unnoticed: applying it", extra=fields(
                build_status=result.status, pipeline_job_name=result.pipeline_job_name, **facts))
            apply_build(platform, build_notification(experiment.id, experiment.cloud_build_id, result, "reconcile"))
            return True
    return False


def _stop_leftover_compute(platform: Platform, experiment: Experiment, now: datetime) -> bool:
    children_stopping = False
    if now - experiment.updated_at < CHILD_JOBS_WATCH:  # a child job may outlive the confirmed cancel
        children_stopping = any(child.active for child in platform.pipelines.cancel_children(experiment.id))
    return _stop_leftover_job(platform, experiment) or children_stopping


def _stop_leftover_job(platform: Platform, experiment: Experiment) -> bool:
    if experiment.pipeline_job_name:
        if platform.pipelines.state(experiment.pipeline_job_name) not in TERMINAL_PIPELINE_STATES:
            platform.pipelines.cancel(experiment.pipeline_job_name)
            return True
        return False
    if not experiment.cloud_build_id:
        return False
    result = platform.builds.result(experiment.cloud_build_id)
    if result.status not in TERMINAL_BUILD_STATES:
        platform.builds.cancel(experiment.cloud_build_id)
        return True
    job = result.pipeline_job_name
    if job and platform.pipelines.state(job) not in TERMINAL_PIPELINE_STATES:
        # The experiment has ended, so it records nothing more (decision 053): the job is only stopped.
        log.info("the build of a cancelled experiment submitted a pipeline unnoticed: cancelling it",
                 extra=fields(experiment_id=experiment.id, pipeline_job_name=job))
        platform.pipelines.cancel(job)
        return True
    return False

