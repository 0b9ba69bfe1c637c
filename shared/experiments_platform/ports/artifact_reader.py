"""Artifact reader port: what the UI shows of an experiment's artifacts (the artifact_reader service).

The service over HTTP on Cloud Run (``PLATFORM_ARTIFACT_READER_URL``), ``handlers.artifact_reader``
in-process on one machine. Both answer the same JSON and the same errors (``NotFound`` for an
unknown experiment or a missing artifact, ``InvalidInput`` naming a bad argument).
"""

from __future__ import annotations

from typing import Any, Protocol

DEFAULT_LOG_LINES = 200
"""How many log lines a caller gets when it names no number."""


class ArtifactReader(Protocol):
    def metrics(self, experiment_id: str) -> dict[str, Any]: ...

    def training_history(self, experiment_id: str) -> dict[str, Any]:
        """Per-epoch series from the tracker, or ``available: false`` with the reason."""
        ...

    def artifacts(self, experiment_id: str) -> dict[str, Any]:
        """Each pipeline component with its stage, the stage's status and its output artifacts."""
        ...

    def statistics(self, experiment_id: str) -> dict[str, Any]: ...

    def schema(self, experiment_id: str) -> dict[str, Any]: ...

    def component_logs(self, experiment_id: str, component: str, lines: int) -> dict[str, Any]:
        """The last ``lines`` log lines of one component (``Compile`` or a pipeline component)."""
        ...

    def statistics_report(self, experiment_id: str) -> str:
        """The statistics report page (HTML; serve it with ``tfdv.report.CSP``)."""
        ...
