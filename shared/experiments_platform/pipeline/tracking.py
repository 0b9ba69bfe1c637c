"""Tracking from the pipeline: the artifact store first, MLflow in the background.

``TrackedRun`` writes each epoch's metrics to the run's journal (``tracking.json`` in the
experiment's artifact folder, through the blob port: a local folder or GCS) before returning,
then a background thread hands MLflow what it lacks (``ExperimentTracker.deliver``), retrying
with bounded exponential backoff while MLflow does not answer. Training never waits on MLflow
and nothing is lost: what is still undelivered when the process ends is delivered by the next
writer of the journal (the evaluator) or by reconcile (``handlers.tracking``).

    run = TrackedRun.start(spec.mlflow, journal_uri, key=spec.experiment_id, tags=..., params=...)
    run.log_epoch(1, {"loss": 0.9})          # journal written; MLflow gets it when it answers
    run.close(wait_s=5)                      # one last delivery attempt, bounded

``TrackedRun.resume(journal_uri, target)`` continues a run another process started (the
evaluator after the trainer: separate containers on Vertex AI).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from experiments_platform.adapters.mlflow_tracker import MlflowTracker
from experiments_platform.domain.pipeline_spec import MlflowTarget
from experiments_platform.domain.tracking import JournalEntry, RunStatus, TrackingJournal
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.blobs import BlobStore
from experiments_platform.ports.tracker import DeliveryStopped, ExperimentTracker

log = get_logger(__name__)

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
"""Pauses between delivery attempts while MLflow does not answer double from the first to this."""
HTTP_TIMEOUT_S = 10
"""Seconds one MLflow request of the background delivery may take (MLflow's own retries off)."""


def blobs_for(uri: str) -> BlobStore:
    """The blob store adapter of a ``file://`` or ``gs://`` URI."""
    if uri.startswith("gs://"):
        from experiments_platform.adapters.gcs_blobs import GcsBlobStore

        return GcsBlobStore()
    from experiments_platform.adapters.local_blobs import LocalBlobStore

    return LocalBlobStore()


def now_ms() -> int:
    return int(time.time() * 1000)


def tracker_for(target: MlflowTarget) -> ExperimentTracker:
    """The MLflow adapter for the pipeline: one attempt per request; ``TrackedRun`` retries."""
    return MlflowTracker(target.tracking_uri, http_max_retries=0, http_timeout_s=HTTP_TIMEOUT_S)


class TrackedRun:
    """One run's journal and its background delivery to MLflow. Thread-safe."""

    def __init__(self, journal: TrackingJournal, uri: str, *, blobs: BlobStore | None = None,
                 tracker: ExperimentTracker | None = None, retry_max_s: float = RETRY_MAX_S) -> None:
        self.uri = uri
        self.blobs = blobs or blobs_for(uri)
        self.tracker = tracker or tracker_for(MlflowTarget(
            tracking_uri=journal.tracking_uri, experiment_name=journal.experiment_name, run_name=journal.run_name))
        self._journal = journal
        self._lock = threading.Condition()
        self._wanted = 0
        self._attempted = 0
        self._closed = False
        self._urgent = False
        self.retry_max_s = retry_max_s
        self._failures = 0
        self._save()
        self._thread = threading.Thread(target=self._deliver_forever, name="mlflow-delivery", daemon=True)
        self._thread.start()
        self._request()

    @classmethod
    def start(cls, target: MlflowTarget, uri: str, *, key: str, tags: Mapping[str, str],
              params: Mapping[str, Any], **options: Any) -> TrackedRun:
        """A new run: its journal written at ``uri`` at once, MLflow's run created in the background."""
        journal = TrackingJournal(
            key=key, tracking_uri=target.tracking_uri, experiment_name=target.experiment_name,
            run_name=target.run_name, tags=dict(tags), params={k: str(v) for k, v in params.items()},
            started_ms=now_ms())
        return cls(journal, uri, **options)

    @classmethod
    def resume(cls, uri: str, **options: Any) -> TrackedRun:
        """The run whose journal is at ``uri`` (``NotFound`` when there is none)."""
        blobs = options.pop("blobs", None) or blobs_for(uri)
        journal = TrackingJournal.model_validate_json(blobs.read_bytes(uri))
        return cls(journal, uri, blobs=blobs, **options)

    @property
    def journal(self) -> TrackingJournal:
        with self._lock:
            return self._journal.model_copy(deep=True)

    @property
    def run_id(self) -> str | None:
        with self._lock:
            return self._journal.run_id

    @property
    def experiment_id(self) -> str | None:
        with self._lock:
            return self._journal.mlflow_experiment_id

    def log_epoch(self, step: int, metrics: Mapping[str, float]) -> None:
        """Written to the journal before returning; delivered to MLflow in the background."""
        entry = JournalEntry(step=step, timestamp_ms=now_ms(), metrics={k: float(v) for k, v in metrics.items()})
        with self._lock:
            self._journal.epochs = [*self._journal.epochs, entry]
            self._save()
        self._request()

    def log_final(self, metrics: Mapping[str, float], step: int) -> None:
        entry = JournalEntry(step=step, timestamp_ms=now_ms(), metrics={k: float(v) for k, v in metrics.items()})
        with self._lock:
            self._journal.final = entry
            self._save()
        self._request()

    def add_artifact(self, uri: str) -> None:
        with self._lock:
            if uri not in self._journal.artifacts:
                self._journal.artifacts = [*self._journal.artifacts, uri]
                self._save()
        self._request()

    def end(self, status: RunStatus) -> None:
        with self._lock:
            if self._journal.status == "RUNNING":
                self._journal.status = status
                self._journal.ended_ms = now_ms()
                self._save()
        self._request()

    def flush(self, wait_s: float) -> bool:
        """Wait (at most ``wait_s``) for one delivery attempt that starts after now; True when MLflow holds
        the whole journal. An unreachable MLflow answers at once, so this returns without waiting long."""
        with self._lock:
            self._urgent = True
            target = self._request_locked()
            self._lock.wait_for(lambda: self._attempted >= target, timeout=wait_s)
            return not self._journal.pending

    def close(self, wait_s: float = 5.0) -> bool:
        """A last bounded delivery attempt, then the background thread stops; True when MLflow holds it all."""
        delivered = self.flush(wait_s)
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if not delivered:
            log.warning("MLflow tracking delayed: the journal keeps what MLflow lacks", extra=fields(
                journal=self.uri, error=self._journal.last_error, epochs=len(self._journal.epochs),
                delivered_epochs=self._journal.delivered.epochs))
        return delivered

    # --- internals ---------------------------------------------------------------------------

    def _save(self) -> None:
        self.blobs.write_bytes(self.uri, self._journal.to_json().encode(), "application/json")

    def _request(self) -> None:
        with self._lock:
            self._request_locked()

    def _request_locked(self) -> int:
        self._wanted += 1
        self._lock.notify_all()
        return self._wanted

    def _deliver_forever(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._closed or self._attempted < self._wanted)
                if self._closed:
                    return
                wanted, self._urgent = self._wanted, False
                snapshot = self._journal.model_copy(deep=True)
            try:
                result, error = self.tracker.deliver(snapshot, self.blobs.read_bytes), None
            except DeliveryStopped as exc:
                result, error = exc.journal, exc.message
            except Exception as exc:  # noqa: BLE001 - the delivery thread never stops training
                result, error = snapshot.model_copy(update={"last_error": repr(exc)}), repr(exc)
            with self._lock:
                self._keep_progress(result)
                self._attempted = max(self._attempted, wanted)
                self._failures = self._failures + 1 if error else 0
                self._lock.notify_all()
                if not error:
                    continue
                pause = min(self.retry_max_s, RETRY_FIRST_S * 2 ** min(self._failures - 1, 16))
                log.info("MLflow did not take the run's tracking; retrying", extra=fields(
                    journal=self.uri, error=error, retry_in_s=round(pause, 1)))
                self._lock.wait_for(lambda: self._closed or self._urgent, timeout=pause)
                self._wanted += 1

    def _keep_progress(self, result: TrackingJournal) -> None:
        """What the delivery achieved (run id, counters); the journal may have grown meanwhile, and
        only grows, so the counters stay true."""
        self._journal.run_id = result.run_id
        self._journal.mlflow_experiment_id = result.mlflow_experiment_id
        self._journal.delivered = result.delivered
        self._journal.last_error = result.last_error
        try:
            self._save()
        except Exception:  # noqa: BLE001 - the next write of the journal carries it
            log.exception("could not record the delivery progress in the journal", extra=fields(journal=self.uri))
