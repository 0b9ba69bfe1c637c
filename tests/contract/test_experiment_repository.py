"""The experiments repository on both document stores: the embedded SQLite store and Firestore (emulator)."""

from __future__ import annotations

import threading

import pytest
from experiments_platform.domain import lifecycle
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.status import Status
from experiments_platform.errors import InvalidInput, NotFound
from experiments_platform.ports.documents import DocumentStore, Filter, Order
from experiments_platform.repositories.experiments import COLLECTION, ExperimentRepository
from integration.lifecycle_support import make_experiment

from . import test_documents_contract

store = test_documents_contract.store  # the fixture: the SQLite store, then Firestore on the emulator

def new(number: int) -> Experiment:
    return make_experiment("file:///tiny.csv", number=number)


def test_create_numbers_experiments_in_order_even_when_concurrent(store: DocumentStore) -> None:
    repository = ExperimentRepository(store)
    first = repository.create(new)
    assert first.number == 1 and repository.get(first.id) == first

    created: list[Experiment] = []
    lock = threading.Lock()

    def create_two() -> None:
        for _ in range(2):
            experiment = ExperimentRepository(store).create(new)
            with lock:
                created.append(experiment)

    threads = [threading.Thread(target=create_two) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e.number for e in created) == [2, 3, 4, 5, 6, 7]
    assert sorted(d["number"] for d in repository.documents()) == [1, 2, 3, 4, 5, 6, 7]


def test_update_writes_only_what_changed_and_answers_the_stored_experiment(store: DocumentStore) -> None:
    repository = ExperimentRepository(store)
    experiment = repository.create(new)
    stored_before = repository.document(experiment.id)

    unchanged, changed = repository.update(experiment.id, lambda e: lifecycle.move_status(e, Status.RUNNING, utcnow()))
    assert (unchanged, changed) == (experiment, False), "pending cannot go to running: nothing is written"
    assert repository.document(experiment.id) == stored_before

    now = utcnow()
    updated, changed = repository.update(experiment.id, lambda e: lifecycle.build_started(e, "b1", now))
    assert changed and updated is not None and updated.status is Status.SUBMITTING
    assert repository.get(experiment.id) == updated and updated.updated_at > experiment.updated_at

    assert repository.update("missing", lambda e: True) == (None, False)


def test_a_change_that_raises_writes_nothing(store: DocumentStore) -> None:
    repository = ExperimentRepository(store)
    experiment = repository.create(new)
    before = repository.document(experiment.id)

    def half_then_fail(subject: Experiment) -> bool:
        subject.cancel_requested = True
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        repository.update(experiment.id, half_then_fail)
    assert repository.document(experiment.id) == before


def test_reads_name_what_is_missing(store: DocumentStore) -> None:
    repository = ExperimentRepository(store)
    assert repository.find("missing") is None
    with pytest.raises(NotFound, match="experiment 'missing' doesn't exist") as raised:
        repository.get("missing", field="experiment_id")
    assert raised.value.field == "experiment_id"
    with pytest.raises(NotFound):
        repository.document("../x")
    with pytest.raises(InvalidInput):
        repository.find("../x")


def test_queries_answer_models_or_stored_documents(store: DocumentStore) -> None:
    repository = ExperimentRepository(store)
    first, second = repository.create(new), repository.create(new)
    now = utcnow()
    repository.update(second.id, lambda e: lifecycle.build_started(e, "b2", now))

    [submitting] = repository.query([Filter("status", "==", Status.SUBMITTING.value)])
    assert submitting.id == second.id and submitting.cloud_build_id == "b2"
    newest_first = repository.documents(order_by=[Order("number", "desc")], limit=1)
    assert newest_first == [store.get(COLLECTION, second.id)]
    assert [e.id for e in repository.query(order_by=[Order("number")])] == [first.id, second.id]
