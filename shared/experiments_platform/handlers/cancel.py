"""Cancel an experiment in either phase, and leave no compute running.

The gateway calls ``experiments.cancel_experiment``: it marks ``cancel_requested`` in a transaction
and publishes ``CancelExperiment``. ``on_cancel`` (status watcher) stops the work: during Compile it
cancels the build, during the pipeline it cancels the job; then the status turns cancelled and
the running stages with it. A build that completes while the cancel is in flight submits a
pipeline the status watcher then cancels (``compute.apply_build``); the submitter starts
nothing for an experiment whose cancel was requested.

Cancel is asynchronous on Vertex AI (issue 13 item 6): the job turns CANCELLING and ends later, and
what its tasks started (the Trainer's custom job, Dataflow jobs; ``PipelineService.children``, by
the experiment label) runs on unless cancelled too. So ``on_cancel`` cancels the job and the child
jobs, and confirms the experiment cancelled only when the job has ended and no child job is
active; until then it shows "cancelling" (``cancel_requested``, still active). The job's CANCELLED
event (status watcher) or reconcile's poll (``handlers.job_poll``, which asks the child jobs again
and waits for them) confirms it.
"""

from __future__ import annotations

from experiments_platform.bootstrap import Platform
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.status import Status
from experiments_platform.events.google_events import TERMINAL_PIPELINE_STATES
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
    if compute_stopped(platform, experiment):
        confirm_cancel(platform, command.experiment_id)
    else:
        log.info("cancel requested: the experiment shows cancelling until its compute confirms", extra=context)


def compute_stopped(platform: Platform, experiment: Experiment) -> bool:
    """Cancel the experiment's child jobs; whether its pipeline job (if any) ended and none of them is active."""
    active = [child.name for child in platform.pipelines.cancel_children(experiment.id) if child.active]
    latest = ExperimentRepository(platform.documents).find(experiment.id) or experiment
    job_ended = latest.pipeline_job_name is None or (
        platform.pipelines.state(latest.pipeline_job_name) in TERMINAL_PIPELINE_STATES)
    if active:
        log.info("child jobs still stopping", extra=fields(experiment_id=experiment.id, child_jobs=active))
    return job_ended and not active
