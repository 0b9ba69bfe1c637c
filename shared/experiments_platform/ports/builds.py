"""Build service port: the compile-and-submit step (Cloud Build; a subprocess locally)."""

from __future__ import annotations

from typing import Protocol


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
