"""Build service port: the compile-and-submit step (Cloud Build; a subprocess locally)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BuildResult:
    """What a build reports when asked (``BuildService.result``), as its notification would have."""

    status: str
    """Cloud Build status name: QUEUED, WORKING, SUCCESS, FAILURE, CANCELLED, TIMEOUT, ..."""
    pipeline_job_name: str | None = None
    """The pipeline job the build submitted (SUCCESS only): its submit step's output."""
    log_excerpt: str = ""
    """Why it failed (status detail, failure detail); empty when it did not."""


class BuildService(Protocol):
    def start(self, experiment_id: str, spec_uri: str) -> str:
        """Start compiling the pipeline for the quick-test spec at ``spec_uri`` and submitting it.

        Returns the build id. When the build ends, a Cloud Build-shaped notification is
        published on ``Topics.BUILDS`` carrying the submitted pipeline job name.
        """
        ...

    def cancel(self, build_id: str) -> None:
        """Stop the build; idempotent (cancelling a finished build does nothing)."""
        ...

    def status(self, build_id: str) -> str:
        """Cloud Build status name: QUEUED, WORKING, SUCCESS, FAILURE, CANCELLED, TIMEOUT, ..."""
        ...

    def result(self, build_id: str) -> BuildResult:
        """The build's status with the pipeline job name it submitted and its failure excerpt, read
        from the build service itself: what reconcile needs when the notification was lost."""
        ...

