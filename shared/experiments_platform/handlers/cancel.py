"""Cancel an experiment in either phase, and leave no compute running.

The gateway calls ``experiments.cancel_experiment``: it marks ``cancel_requested`` in a transaction
and publishes ``CancelExperiment``. ``on_cancel`` (status watcher) stops the work: during Compile it
cancels the build, during the pipeline it cancels the job; then the status turns cancelled and
the running stages with it. A build that completes while the cancel is in flight submits a
pipeline the status watcher then cancels (``status_watcher.on_build``); the submitter starts
nothing for an experiment whose cancel was requested.
"""

from __future__ import annotations

from experiments_platform.bootstrap import Platform
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.status import Status
from experiments_platform.events.google_events import TERMINAL_BUILD_STATES
from experiments_platform.events.messages import CancelExperiment
from experiments_platform.handlers.status_watcher import cancelled, load_experiment, update_experiment
from experiments_platform.jsonlog import fields, get_logger

log = get_logger(__name__)


def on_cancel(platform: Platform, command: CancelExperiment) -> None:
    """Stop the build or the pipeline of the experiment, then mark it cancelled."""
    context = fields(experiment_id=command.experiment_id)
    experiment = load_experiment(platform.documents, command.experiment_id)
    if experiment is None:
        log.warning("cancel for an unknown experiment", extra=context)
        return
    if experiment.status in (Status.COMPLETED, Status.FAILED):
        log.info("cancel after the experiment ended: nothing to stop", extra=context)
        return
    stop_compute(platform, experiment)
    finish_cancel(platform, command.experiment_id)


def stop_compute(platform: Platform, experiment: Experiment) -> None:
    """Cancel whatever compute the experiment has started (idempotent)."""
    context = fields(experiment_id=experiment.id, build_id=experiment.cloud_build_id,
                     pipeline_job_name=experiment.pipeline_job_name)
    if experiment.pipeline_job_name:
        log.info("cancelling the pipeline job", extra=context)
        platform.pipelines.cancel(experiment.pipeline_job_name)
    elif experiment.cloud_build_id:
        if platform.builds.status(experiment.cloud_build_id) not in TERMINAL_BUILD_STATES:
            log.info("cancelling the build", extra=context)
            platform.builds.cancel(experiment.cloud_build_id)
        latest = load_experiment(platform.documents, experiment.id)
        if latest is not None and latest.pipeline_job_name:
            log.info("the build submitted a pipeline meanwhile: cancelling it", extra=context)
            platform.pipelines.cancel(latest.pipeline_job_name)


def finish_cancel(platform: Platform, experiment_id: str) -> Experiment | None:
    """Status cancelled, running stages cancelled (no-op when it already ended)."""
    now = utcnow()

    def apply(experiment: Experiment) -> bool:
        if experiment.status in (Status.COMPLETED, Status.FAILED):
            return False
        changed = not experiment.cancel_requested
        experiment.cancel_requested = True
        return cancelled(experiment, now) or changed

    experiment, changed = update_experiment(platform.documents, experiment_id, apply)
    if changed:
        log.info("experiment cancelled", extra=fields(experiment_id=experiment_id))
    return experiment
