"""Tracking through MLflow outages: training never waits on MLflow and never silently loses tracking.

A real ``mlflow server`` (SQLite) is stopped in the middle of a tiny training run and started again
on the same port and database afterwards, as an operator would restart it. Before the journal,
the trainer's next ``log_batch`` sat in MLflow's own retries for minutes and then failed the
experiment (tests/fixtures/failures/mlflow_unreachable/mlflow_stopped_during_train.json: 8 min).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from experiments_platform.adapters.local_blobs import LocalBlobStore
from experiments_platform.adapters.mlflow_tracker import MlflowTracker
from experiments_platform.domain.pipeline_spec import MlflowTarget
from experiments_platform.domain.tracking import TrackingJournal
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY, tower_inputs
from experiments_platform.pipeline.model import SAMPLING_PROBABILITY, build_model
from experiments_platform.pipeline.tracking import TrackedRun, tracker_for
from experiments_platform.pipeline.trainer import EpochLogger
from restartable_mlflow import RestartableMlflow

from .conftest import MLFLOW
from .factories import make_spec

USERS, ITEMS, EPOCHS = 30, 120, 4


@pytest.fixture
def mlflow(tmp_path: Path) -> Iterator[RestartableMlflow]:
    server = RestartableMlflow(tmp_path, MLFLOW)
    server.start()
    yield server
    if server.process is not None:
        server.stop()


class StopAfter(tf.keras.callbacks.Callback):
    """Runs ``action`` once, after epoch ``epoch`` ended (before the epoch logger, which follows it)."""

    def __init__(self, epoch: int, action: Any) -> None:
        super().__init__()
        self.epoch, self.action = epoch, action

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch + 1 == self.epoch:
            self.action()


def train(tmp_path: Path, run: TrackedRun, before_logging: list[tf.keras.callbacks.Callback] = ()) -> float:
    """A tiny two-tower model, the same every call (seeded, deterministic ops); seconds ``fit`` took."""
    spec = make_spec(tmp_path)
    rng = np.random.default_rng(5)
    users = rng.integers(0, USERS, 256)
    items = (users * 3 + rng.integers(0, 3, 256)) % ITEMS
    data = {QUERY_KEY: users.astype(str).astype(object), CANDIDATE_KEY: items.astype(str).astype(object),
            "query__user_id": users, "candidate__item_id": items,
            SAMPLING_PROBABILITY: np.full(256, 1 / ITEMS, dtype=np.float32)}
    sizes = {"query__user_id": USERS, "candidate__item_id": ITEMS}
    query_inputs = tower_inputs(spec.features, "query", sizes)
    candidate_inputs = tower_inputs(spec.features, "candidate", sizes)
    names = [i.name for i in query_inputs + candidate_inputs] + [SAMPLING_PROBABILITY]
    batches = tf.data.Dataset.from_tensor_slices({n: data[n] for n in names}).batch(64)
    tf.keras.utils.set_random_seed(7)
    tf.config.experimental.enable_op_determinism()
    model = build_model(query_inputs, candidate_inputs, spec.model, learning_rate=0.1)
    started = time.monotonic()
    model.fit(batches, validation_data=batches, epochs=EPOCHS, callbacks=[*before_logging, EpochLogger(run)],
              verbose=0)
    return time.monotonic() - started


def start_run(tmp_path: Path, uri: str, key: str) -> tuple[TrackedRun, str]:
    journal = (tmp_path / "artifacts" / key / "tracking.json").as_uri()
    target = MlflowTarget(tracking_uri=uri, experiment_name="outage", run_name=f"run {key}")
    run = TrackedRun.start(target, journal, key=key, tags={"experiment_id": key}, params={"epochs": EPOCHS},
                           retry_max_s=0.5)
    return run, journal


def by_step(history: dict[str, list[dict[str, Any]]]) -> dict[str, list[tuple[int, float]]]:
    return {name: [(point["step"], point["value"]) for point in points] for name, points in history.items()}


def test_training_never_waits_on_mlflow_and_mlflow_ends_with_the_same_numbers(
    tmp_path: Path, mlflow: RestartableMlflow
) -> None:
    reference, _ = start_run(tmp_path, mlflow.uri, "reference")
    train(tmp_path, reference)
    reference.end("FINISHED")
    assert reference.close(wait_s=30), reference.journal.last_error

    outage, journal_uri = start_run(tmp_path, mlflow.uri, "outage")
    seconds = train(tmp_path, outage, [StopAfter(1, mlflow.stop)])
    outage.end("FINISHED")
    assert not outage.close(wait_s=5), "MLflow is down: the run cannot be delivered"

    journal = TrackingJournal.model_validate_json(Path(journal_uri.removeprefix("file://")).read_text())
    assert [e.step for e in journal.epochs] == list(range(1, EPOCHS + 1)), "every epoch reached the artifact store"
    assert journal.delivered.epochs < EPOCHS and journal.pending and journal.last_error
    assert "did not answer" in journal.last_error
    assert seconds < 60, f"fit took {seconds:.0f} s: training waited on MLflow"

    mlflow.start()
    synced = tracker_for(MlflowTarget(tracking_uri=mlflow.uri, experiment_name="outage", run_name="x")).deliver(
        journal, LocalBlobStore().read_bytes)
    assert not synced.pending and synced.run_id == journal.run_id is not None

    tracker = MlflowTracker(mlflow.uri)
    expected, got = tracker.run(str(reference.run_id)), tracker.run(str(synced.run_id))
    assert by_step(tracker.history(str(synced.run_id))) == by_step(tracker.history(str(reference.run_id)))
    assert got["metrics"] == expected["metrics"] and got["params"] == expected["params"]
    assert (got["status"], expected["status"]) == ("FINISHED", "FINISHED")

    again = tracker_for(MlflowTarget(tracking_uri=mlflow.uri, experiment_name="outage", run_name="x")).deliver(
        journal, LocalBlobStore().read_bytes)
    assert again.run_id == synced.run_id, "a second delivery finds the run by its key instead of creating one"
    history = tracker.history(str(synced.run_id))
    assert all(len(points) == EPOCHS for points in history.values()), "a replay adds no duplicate"


def test_mlflow_down_from_the_start_creates_the_run_once_it_answers(tmp_path: Path, mlflow: RestartableMlflow
                                                                    ) -> None:
    mlflow.stop()
    run, journal_uri = start_run(tmp_path, mlflow.uri, "late")
    train(tmp_path, run)
    assert run.run_id is None and not run.flush(wait_s=5)

    mlflow.start()
    assert run.flush(wait_s=60), run.journal.last_error
    assert run.run_id is not None
    run.end("KILLED")
    assert run.close(wait_s=30)
    saved = json.loads(Path(journal_uri.removeprefix("file://")).read_text())
    assert saved["run_id"] == run.run_id and saved["delivered"]["status"] == "KILLED"
    got = MlflowTracker(mlflow.uri).run(run.run_id)
    assert got["status"] == "KILLED" and got["tags"]["experiment_id"] == "late"
    assert [p["step"] for p in MlflowTracker(mlflow.uri).history(run.run_id)["loss"]] == list(range(1, EPOCHS + 1))
