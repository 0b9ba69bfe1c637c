"""Pipeline service port (Vertex AI Pipelines; TFX LocalDagRunner in a subprocess locally)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TaskStatus:
    """One task of a pipeline job as the service reports it (Vertex AI ``PipelineTaskDetail``)."""

    task_name: str
    state: str
    """``PipelineTaskDetail.State`` name: ``RUNNING``, ``SUCCEEDED``, ``FAILED``, ``SKIPPED``, ..."""
    error_message: str = ""


@dataclass(frozen=True)
class JobStatus:
    """A pipeline job as ``GetPipelineJob`` reports it: what reconcile polls (issue 13 item 5)."""

    job_name: str
    state: str
    """``PipelineState`` name (``PIPELINE_STATE_RUNNING``, ...)."""
    error_message: str = ""
    """The job's own error text (``PipelineJob.error.message``), else the first failed task's."""
    tasks: tuple[TaskStatus, ...] = ()


@dataclass(frozen=True)
class ChildJob:
    """Compute a pipeline's task started outside the pipeline job (a Dataflow job, the Trainer's
    Vertex AI custom job), found by the experiment label; cancelling the pipeline does not stop it."""

    kind: str
    name: str
    state: str
    active: bool


class PipelineService(Protocol):
    def submit(self, experiment_id: str, compiled_uri: str) -> str:
        """Start a run of the compiled pipeline; return its job name.

        Job and task state changes are published on ``Topics.PIPELINE_STATE`` in the shape of
        the Vertex AI log-sink entries.
        """
        ...

    def cancel(self, job_name: str) -> None:
        """Ask the job to stop; idempotent. Asynchronous as on Vertex AI: the job may report
        ``PIPELINE_STATE_CANCELLING`` for a while, and its ``PIPELINE_STATE_CANCELLED`` event (or
        ``state``) confirms it."""
        ...

    def state(self, job_name: str) -> str:
        """The job's PipelineState name (``PIPELINE_STATE_RUNNING``, ...), for reconciliation."""
        ...

    def describe(self, job_name: str) -> JobStatus:
        """The job's state, its tasks' states and its error text (``GetPipelineJob``)."""
        ...

    def children(self, experiment_id: str) -> list[ChildJob]:
        """The child jobs labelled with the experiment id (none locally: Beam and training run in the worker)."""
        ...

    def cancel_children(self, experiment_id: str) -> list[ChildJob]:
        """Ask every active child job of the experiment to stop; return them all as found before."""
        ...
