"""An experiment's MLflow run, seen from the services: delayed until MLflow holds the whole journal.

The trainer writes its run's journal (``domain.tracking``, ``tracking.json`` beside ``metrics.json``)
first and MLflow gets it when it answers. When an experiment ends, ``settle`` records (without
calling MLflow) whether MLflow holds all of it with the run ended as the experiment ended
(``END_STATUS``: completed → FINISHED, failed → FAILED, cancelled → KILLED): ``tracking.state``
``synced``, or ``delayed`` (shown on the card). Reconcile ``sync``s every delayed experiment:
the journal is delivered again with that end status (the trainer of a cancelled or killed run
never ended it) and the experiment records the run.
"""

from __future__ import annotations

from datetime import datetime

from experiments_platform.bootstrap import Platform
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.tracking import END_STATUS, TRACKING_FILE, TrackingJournal, TrackingState
from experiments_platform.errors import NotFound
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.documents import Filter
from experiments_platform.ports.tracker import DeliveryStopped
from experiments_platform.repositories.experiments import Change, ExperimentRepository

log = get_logger(__name__)

DELAYED = [Filter("tracking.state", "==", "delayed")]
"""The experiments reconcile syncs."""


def read_journal(platform: Platform, experiment_id: str) -> TrackingJournal | None:
    """The experiment's tracking journal, or None before its trainer started."""
    try:
        raw = platform.blobs.read_bytes(platform.experiment_artifacts_uri(experiment_id, TRACKING_FILE))
    except NotFound:
        return None
    return TrackingJournal.model_validate_json(raw)


def ended(journal: TrackingJournal, experiment: Experiment) -> TrackingJournal:
    """The journal with the run ended as the experiment ended (at its ``finished_at``)."""
    status = END_STATUS[experiment.status.value]
    if journal.status == status:
        return journal
    finished = experiment.finished_at or utcnow()
    return journal.model_copy(update={"status": status, "ended_ms": int(finished.timestamp() * 1000)})


def _record(state: TrackingState) -> Change:
    def change(experiment: Experiment) -> bool:
        before = experiment.tracking
        experiment.tracking = state
        if state.run_id and experiment.mlflow_run_id is None:
            experiment.mlflow_run_id = state.run_id
        same = before is not None and before.model_dump(exclude={"checked_at"}) == state.model_dump(
            exclude={"checked_at"})
        return not same
    return change


def settle(platform: Platform, experiment: Experiment, now: datetime | None = None) -> TrackingState | None:
    """After ``experiment`` ended: record whether MLflow holds its run (no call to MLflow)."""
    if not experiment.status.terminal:
        return None
    journal = read_journal(platform, experiment.id)
    if journal is None:
        return None
    end = ended(journal, experiment)
    complete = end is journal and not journal.pending
    state = TrackingState(
        state="synced" if complete else "delayed", run_id=journal.run_id, checked_at=now or utcnow(),
        reason=None if complete else (journal.last_error or "MLflow does not hold the whole run yet"))
    ExperimentRepository(platform.documents).update(experiment.id, _record(state))
    if not complete:
        log.info("experiment ended with its MLflow tracking delayed", extra=fields(
            experiment_id=experiment.id, reason=state.reason, run_id=journal.run_id))
    return state


def sync(platform: Platform, experiment: Experiment, now: datetime | None = None) -> bool:
    """Deliver the ended experiment's journal to MLflow; True once MLflow holds all of it."""
    journal = read_journal(platform, experiment.id)
    if journal is None or not experiment.status.terminal:
        return False
    try:
        delivered = platform.tracker.deliver(ended(journal, experiment), platform.blobs.read_bytes)
    except DeliveryStopped as exc:
        state = TrackingState(state="delayed", run_id=exc.journal.run_id, reason=exc.message,
                              checked_at=now or utcnow())
        ExperimentRepository(platform.documents).update(experiment.id, _record(state))
        log.info("MLflow tracking still delayed", extra=fields(experiment_id=experiment.id, reason=exc.message))
        return False
    state = TrackingState(state="synced", run_id=delivered.run_id, checked_at=now or utcnow())
    ExperimentRepository(platform.documents).update(experiment.id, _record(state))
    log.info("MLflow tracking synced", extra=fields(
        experiment_id=experiment.id, run_id=delivered.run_id, epochs=len(delivered.epochs),
        status=delivered.status))
    return True
