"""Experiment tracker port (MLflow, tracking URI from configuration)."""

from __future__ import annotations

from typing import Any, Protocol


class ExperimentTracker(Protocol):
    def check_reachable(self) -> None:
        """Raise ``errors.TransientError`` naming the tracking URI when it cannot be reached."""
        ...

    def history(self, run_id: str) -> dict[str, list[dict[str, Any]]]:
        """Per-epoch series of every metric of a run: name → [{step, value}], by step."""
        ...

    def run(self, run_id: str) -> dict[str, Any]:
        """Params, final metrics and tags of a run."""
        ...

    def ui_url(self, run_id: str | None = None, experiment_id: str | None = None) -> str:
        """Link to the MLflow UI: the run's page when given (no request to MLflow when its MLflow
        ``experiment_id`` is given too, e.g. from ``metrics.json``)."""
        ...
