"""Pipeline service port (Vertex AI Pipelines; TFX LocalDagRunner in a subprocess locally)."""

from __future__ import annotations

from typing import Protocol


class PipelineService(Protocol):
    def submit(self, experiment_id: str, compiled_uri: str) -> str:
        """Start a run of the compiled pipeline; return its job name.

        Job and task state changes are published on ``Topics.PIPELINE_STATE`` in the shape of
        the Vertex AI log-sink entries.
        """
        ...

    def cancel(self, job_name: str) -> None:
        """Stop the job and its compute; idempotent."""
        ...

    def state(self, job_name: str) -> str:
        """The job's PipelineState name (``PIPELINE_STATE_RUNNING``, ...), for reconciliation."""
        ...
