"""Polling a running experiment's pipeline job: reconcile's safety net under the log sink (issue 13 item 5).

The log sink is the low-latency path for task and job states; when its entries are lost (sink
misconfigured, push retries exhausted, a dead letter) the experiment would stay where it was.
Reconcile calls ``poll_job`` for every running experiment on each sweep (every minute on GCP):
``PipelineService.describe`` reads the job as ``GetPipelineJob`` reports it, each task whose
stage does not show that state yet is applied as its task event would have been, and a finished
job as its state event, with the job's own error text (the failed tasks' errors), so the failure
is classified exactly as the sink's event would have had it. Everything goes through
``handlers.compute``, so ownership (``lifecycle.is_own_job``), forward-only moves and
idempotency hold; a poll that finds nothing new writes nothing.

An experiment being cancelled (item 6) is confirmed only when its job has ended and no child job
(the Trainer's custom job, Dataflow jobs) is active: each poll asks the active ones to stop again.
"""

from __future__ import annotations

from experiments_platform.bootstrap import Platform
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.status import StageStatus
from experiments_platform.events.google_events import TERMINAL_PIPELINE_STATES, stage_of_task
from experiments_platform.events.messages import PipelineJobStateChanged, PipelineTaskStateChanged
from experiments_platform.handlers.compute import apply_job, apply_task
from experiments_platform.jsonlog import fields, get_logger

log = get_logger(__name__)

TASK_STAGE_STATUS = {"RUNNING": StageStatus.RUNNING, "SUCCEEDED": StageStatus.SUCCEEDED,
                     "SKIPPED": StageStatus.SUCCEEDED, "FAILED": StageStatus.FAILED, "CANCELLED": StageStatus.CANCELLED}
"""The task states a poll applies, and the stage status each leads to (``lifecycle.apply_task``)."""


def poll_job(platform: Platform, experiment: Experiment, job_name: str) -> bool:
    """Apply what the pipeline service reports of ``job_name`` that its events did not bring;
    True when something was applied."""
    status = platform.pipelines.describe(job_name)
    facts = {"experiment_id": experiment.id, "pipeline_job_name": job_name}
    changed = False
    for task in status.tasks:
        stage = stage_of_task(task.task_name)
        target = TASK_STAGE_STATUS.get(task.state)
        state = experiment.stages.get(stage) if stage is not None else None
        if stage is None or state is None or target is None or state.status is target:
            continue
        log.info("task state found by polling the job", extra=fields(task=task.task_name, state=task.state, **facts))
        apply_task(platform, PipelineTaskStateChanged(
            experiment_id=experiment.id, job_name=job_name, task_name=task.task_name, stage=stage,
            state=task.state, error_message=task.error_message,  # type: ignore[arg-type]
        ))
        changed = True
    if status.state in TERMINAL_PIPELINE_STATES and experiment.cancel_requested:
        active = [child.name for child in platform.pipelines.cancel_children(experiment.id) if child.active]
        if active:
            log.info("job ended, child jobs still stopping: not confirmed yet",
                     extra=fields(child_jobs=active, **facts))
            return changed
    if status.state in TERMINAL_PIPELINE_STATES:
        log.info("pipeline job ended unnoticed: applying its state", extra=fields(state=status.state, **facts))
        apply_job(platform, PipelineJobStateChanged(
            experiment_id=experiment.id, job_name=job_name, state=status.state,  # type: ignore[arg-type]
            error_message=status.error_message or f"pipeline job ended {status.state} (found by reconcile)",
        ))
        changed = True
    return changed
