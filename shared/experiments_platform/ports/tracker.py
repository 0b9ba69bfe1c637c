"""Experiment tracker port (MLflow, tracking URI from configuration)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from experiments_platform.domain.tracking import TrackingJournal
from experiments_platform.errors import TransientError


class DeliveryStopped(TransientError):
    """The tracker stopped answering part-way through a delivery; ``journal`` holds the progress made."""

    def __init__(self, message: str, journal: TrackingJournal) -> None:
        super().__init__(message, details={"run_id": journal.run_id})
        self.journal = journal


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

    def deliver(self, journal: TrackingJournal, read_blob: Callable[[str], bytes]) -> TrackingJournal:
        """Give the tracker whatever of ``journal`` it lacks and return the journal with ``run_id`` and
        ``delivered`` brought up to date.

        The run is found by the journal's key (tag ``RUN_KEY_TAG``) or created with the journal's start
        time, so a run is never created twice; metrics keep the journal's steps and timestamps, so a
        replay of what the tracker already holds changes nothing. ``read_blob`` reads the journal's
        artifacts. Raises ``DeliveryStopped`` (a ``TransientError``) with the progress made when the
        tracker stops answering.
        """
        ...
