"""Experiment summaries and the in-memory index on both document stores (SQLite, Firestore emulator).

Lists and the dashboard read summaries kept by the repository in the transaction that writes the
experiment; an index per process keeps them in memory and learns other processes' writes with one
query for what changed (another store object on the same database stands for another process).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.firestore_documents import FirestoreDocumentStore
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.domain import lifecycle
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.status import Status
from experiments_platform.ports.documents import DocumentStore
from experiments_platform.repositories.experiment_index import ExperimentIndex, warm
from experiments_platform.repositories.experiments import (
    COLLECTION,
    COUNTERS,
    SUMMARIES,
    ExperimentRepository,
    summary_of,
)
from integration.lifecycle_support import make_experiment

from . import test_documents_contract

store = test_documents_contract.store  # the fixture: the SQLite store, then Firestore on the emulator


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def other_process(store: DocumentStore, tmp_path: Path) -> Iterator[DocumentStore]:
    """A second store object on the same database, as another process of the stack would have."""
    if isinstance(store, SqliteDocumentStore):
        other: SqliteDocumentStore | FirestoreDocumentStore = SqliteDocumentStore(store.path)
    else:
        assert isinstance(store, FirestoreDocumentStore)
        other = FirestoreDocumentStore(project=store.project)
    yield other
    other.close()


def completed(repository: ExperimentRepository, number: int) -> str:
    experiment = repository.create(lambda n: make_experiment("file:///tiny.csv", number=n))
    report = {"final": {"recall_at_100": 0.1 * number}, "history": [{"epoch": 1, "loss": 2.0}],
              "vocabularies": {"q": {"vocab_size": 3, "oov_rate": 0.0}}, "mlflow_run_id": f"run{number}"}
    document = repository.document(experiment.id)
    repository.save({**document, "status": Status.COMPLETED.value, "results": report})
    return experiment.id


def test_every_write_keeps_the_summary_without_the_bulky_parts(store: DocumentStore) -> None:
    repository = ExperimentRepository(store)
    experiment_id = completed(repository, 1)
    document, summary = store.get(COLLECTION, experiment_id), store.get(SUMMARIES, experiment_id)
    assert document is not None and summary == summary_of(document)
    assert summary["results"] == {"final": {"recall_at_100": 0.1}, "mlflow_run_id": "run1"}
    assert "columns" not in summary["dataset_snapshot"] and summary["stages"] == document["stages"]

    now = utcnow()
    repository.update(experiment_id, lambda e: lifecycle.request_cancel(e) or True)
    assert store.get(SUMMARIES, experiment_id) == summary_of(store.get(COLLECTION, experiment_id) or {})
    _, changed = repository.update(experiment_id, lambda e: lifecycle.move_status(e, Status.RUNNING, now))
    assert not changed


def test_the_index_sees_its_own_writes_at_once_and_other_processes_after_one_refresh(
    store: DocumentStore, other_process: DocumentStore
) -> None:
    clock = Clock()
    index = ExperimentIndex(store, refresh_every_s=0.5, clock=clock)
    assert index.snapshot().documents == ()
    mine = completed(ExperimentRepository(store), 1)
    assert [d["id"] for d in index.snapshot().documents] == [mine], "this process's write, without a query"

    theirs = completed(ExperimentRepository(other_process), 2)
    first = index.snapshot()
    assert [d["id"] for d in first.documents] == [mine], "within the refresh interval nothing is asked"
    clock.now += 0.6
    second = index.snapshot()
    assert sorted(d["id"] for d in second.documents) == sorted([mine, theirs]) and second.version > first.version

    ExperimentRepository(other_process).update(theirs, lambda e: lifecycle.request_cancel(e) or True)
    clock.now += 0.6
    [changed] = [d for d in index.snapshot().documents if d["id"] == theirs]
    assert changed["cancel_requested"] is True
    clock.now += 0.6
    assert index.snapshot() is index.snapshot(), "no change: the same snapshot and its computed views"


def test_a_writer_whose_clock_lags_is_still_seen(store: DocumentStore, other_process: DocumentStore) -> None:
    clock = Clock()
    index = ExperimentIndex(store, clock=clock, skew_s=5.0)
    completed(ExperimentRepository(store), 1)
    late = ExperimentRepository(other_process).create(lambda n: make_experiment("file:///tiny.csv", number=n))
    behind = (utcnow() - timedelta(seconds=3)).isoformat().replace("+00:00", "Z")
    ExperimentRepository(other_process).save({**ExperimentRepository(other_process).document(late.id),
                                              "updated_at": behind, "name": "written by a lagging clock"})
    clock.now += 1
    assert "written by a lagging clock" in [d["name"] for d in index.snapshot().documents]


def test_documents_from_before_summaries_are_summarized_on_the_first_read(store: DocumentStore) -> None:
    experiment = make_experiment("file:///tiny.csv", number=1)
    store.set(COLLECTION, experiment.id, experiment.to_document())
    store.set(COUNTERS, "experiments", {"last_number": 1})
    assert store.get(SUMMARIES, experiment.id) is None
    assert [d["id"] for d in ExperimentIndex(store).snapshot().documents] == [experiment.id]
    assert store.get(SUMMARIES, experiment.id) == summary_of(experiment.to_document())
    assert ExperimentRepository(store).summaries_current()


def test_views_are_computed_once_per_snapshot(store: DocumentStore) -> None:
    index = ExperimentIndex(store)
    completed(ExperimentRepository(store), 1)
    calls: list[int] = []

    def count(documents: tuple[dict, ...]) -> int:
        calls.append(1)
        return len(documents)

    snapshot = index.snapshot()
    assert snapshot.view("count", count) == snapshot.view("count", count) == 1 and len(calls) == 1
    completed(ExperimentRepository(store), 2)
    assert index.snapshot().view("count", count) == 2 and len(calls) == 2


class GatedQueries:
    """``store`` whose summary queries, once ``armed``, wait for ``release`` (a refresh held in flight)."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def query(self, collection: str, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        if self.armed and collection == SUMMARIES:
            self.entered.set()
            assert self.release.wait(30), "the test never released the refresh"
        return self._store.query(collection, *args, **kwargs)


def test_a_reader_does_not_wait_for_another_threads_refresh(store: DocumentStore) -> None:
    completed(ExperimentRepository(store), 1)
    gated = GatedQueries(store)
    clock = Clock()
    index = ExperimentIndex(gated, clock=clock)  # type: ignore[arg-type]
    held = index.snapshot()
    gated.armed = True
    clock.now += 1
    with ThreadPoolExecutor(2) as pool:
        refreshing = pool.submit(index.snapshot)
        assert gated.entered.wait(10), "the refresh never asked the store"
        try:
            assert pool.submit(index.snapshot).result(timeout=5) is held, "the held snapshot, at once"
        finally:
            gated.release.set()
        assert refreshing.result(timeout=10).documents == held.documents


def test_warm_loads_the_index_and_freezes_it_out_of_full_collections(store: DocumentStore) -> None:
    mine = completed(ExperimentRepository(store), 1)
    try:
        warm(store)
        assert gc.get_freeze_count() > 0
        index = ExperimentIndex.of(store)
        assert index._loaded, "loaded before any request"
        assert [d["id"] for d in index.snapshot().documents] == [mine]
    finally:
        gc.unfreeze()
