"""A training run's tracking as the trainer writes it first: the journal (``tracking.json``).

The trainer writes every epoch's metrics to the run's artifact store (local folder or GCS, next to
``metrics.json``) before anything else, then hands them to MLflow when MLflow answers. The journal
holds everything the MLflow run must end up with (params, tags, per-epoch metrics with their
original timestamps, final metrics, artifacts, end status) and how far delivery got, so a run that
saw an MLflow outage is completed later by whoever delivers it again (the trainer's own background
delivery, the evaluator, or reconcile), with the same numbers: replaying a metric MLflow already
holds (same key, step, timestamp and value) adds nothing.

Only the pipeline writes the journal (one writer at a time: the trainer, then the evaluator).
The experiment document carries a ``TrackingState``: whether MLflow holds all of it yet.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from experiments_platform.domain.base import DomainModel, Timestamp

TRACKING_FILE = "tracking.json"
RUN_KEY_TAG = "platform_run_key"
"""MLflow tag naming the journal's ``key``: the run is found again by it, never created twice."""

RunStatus = Literal["RUNNING", "FINISHED", "FAILED", "KILLED"]
END_STATUS: dict[str, RunStatus] = {"completed": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}
"""The MLflow run status that ends each terminal experiment status."""


class JournalEntry(DomainModel):
    """Metrics of one step, stamped when the trainer produced them (milliseconds since the epoch)."""

    step: int = Field(ge=0)
    timestamp_ms: int = Field(ge=0)
    metrics: dict[str, float]


class Delivered(DomainModel):
    """How much of the journal MLflow holds."""

    params: bool = False
    epochs: int = Field(default=0, ge=0, description="journal epochs delivered, in order")
    final: bool = False
    artifacts: list[str] = Field(default_factory=list)
    status: RunStatus | None = None


class TrackingJournal(DomainModel):
    version: Literal[1] = 1
    key: str = Field(min_length=1, max_length=250, pattern=r"^[A-Za-z0-9_.:-]+$",
                     description="unique per run; the MLflow tag RUN_KEY_TAG")
    tracking_uri: str = Field(min_length=1)
    experiment_name: str = Field(min_length=1, max_length=200)
    run_name: str = Field(min_length=1, max_length=250)
    tags: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    started_ms: int = Field(ge=0)
    epochs: list[JournalEntry] = Field(default_factory=list)
    final: JournalEntry | None = None
    artifacts: list[str] = Field(default_factory=list, description="blob URIs logged as run artifacts")
    status: RunStatus = "RUNNING"
    ended_ms: int | None = None
    run_id: str | None = None
    mlflow_experiment_id: str | None = None
    delivered: Delivered = Field(default_factory=Delivered)
    last_error: str | None = Field(default=None, description="why the last delivery stopped")

    @property
    def pending(self) -> bool:
        """Something of the journal is not in MLflow yet (an open run counts as pending only for its data)."""
        d = self.delivered
        return (self.run_id is None or not d.params or d.epochs < len(self.epochs)
                or (self.final is not None and not d.final) or bool(set(self.artifacts) - set(d.artifacts))
                or (self.status != "RUNNING" and d.status != self.status))

    def series(self) -> dict[str, list[dict[str, float | int]]]:
        """Per-epoch series in the tracker port's ``history`` shape: name → [{step, value, timestamp}]."""
        out: dict[str, list[dict[str, float | int]]] = {}
        for entry in self.epochs:
            for name, value in sorted(entry.metrics.items()):
                out.setdefault(name, []).append({"step": entry.step, "value": value, "timestamp": entry.timestamp_ms})
        return out

    def to_json(self) -> str:
        return self.model_dump_json(indent=1)


class TrackingState(DomainModel):
    """On the experiment: ``delayed`` while MLflow lacks part of the run's journal, then ``synced``."""

    state: Literal["delayed", "synced"]
    run_id: str | None = None
    reason: str | None = Field(default=None, max_length=2000)
    checked_at: Timestamp | None = None
