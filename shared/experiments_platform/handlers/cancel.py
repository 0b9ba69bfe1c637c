"""Cancel an experiment in either phase, and leave no compute running.

The gateway calls ``experiments.cancel_experiment``: it marks ``cancel_requested`` in a transaction
and publishes ``CancelExperiment``. ``on_cancel`` (status watcher) stops the work: during Compile it
cancels the build, during the pipeline it cancels the job; then the status turns cancelled and
the running stages with it. A build that completes while the cancel is in flight submits a
pipeline the status watcher then cancels (``compute.apply_build``); the submitter starts
nothing for an experiment whose cancel was requested.
"""

from __future__ import annotations

from experiments_platform.bootstrap import Platform
from experiments_platform.domain.status import Status
from experiments_platform.events.messages import CancelExperiment
from experiments_platform.handlers.compute import confirm_cancel, stop_compute
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.repositories.experiments import ExperimentRepository

log = get_logger(__name__)


def on_cancel(platform: Platform, command: CancelExperiment) -> None:
    """Stop the build or the pipeline of the experiment, then mark it cancelled."""
    context = fields(experiment_id=command.experiment_id)
    experiment = ExperimentRepository(platform.documents).find(command.experiment_id)
    if experiment is None:
        log.warning("cancel for an unknown experiment", extra=context)
        return
    if experiment.status in (Status.COMPLETED, Status.FAILED):
        log.info("cancel after the experiment ended: nothing to stop", extra=context)
        return
    stop_compute(platform, experiment)
    confirm_cancel(platform, command.experiment_id)
