"""Admission on both document stores (SQLite, and Firestore on its emulator): the run-slot ledger
keeps concurrent admissions within the limit, and the queue is the stored experiments (decision 052).

Before: 50 concurrent starts started 49 TFX processes; nothing bounded them.
"""

from __future__ import annotations

import threading

import pytest
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.domain import lifecycle
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.status import Status
from experiments_platform.errors import ContentionError
from experiments_platform.ports.documents import DocumentStore
from experiments_platform.repositories.experiments import ExperimentRepository, QueueBound, queue_bound
from integration.lifecycle_support import make_experiment

from . import test_documents_contract

store = test_documents_contract.store  # the fixture: the SQLite store, then Firestore on the emulator

LIMIT = 3


def statuses(repository: ExperimentRepository) -> dict[str, int]:
    counts: dict[str, int] = {}
    for document in repository.documents():
        counts[document["status"]] = counts.get(document["status"], 0) + 1
    return counts


def admit_with_retries(store: DocumentStore, newcomer: str) -> None:
    for _ in range(20):  # the SQLite store's busy timeout or Firestore's contention: the bus would redeliver
        try:
            ExperimentRepository(store).admit(LIMIT, newcomer=newcomer)
            return
        except ContentionError:
            continue
    raise AssertionError(f"{newcomer} was never admitted nor queued")


@pytest.mark.parametrize("at_once", [2])
def test_concurrent_admissions_admit_the_limit_and_queue_the_rest(store: DocumentStore, at_once: int) -> None:
    """``at_once`` processes admitting at the same moment (each process admits one at a time:
    ``handlers.admission``); 50 experiments in all on SQLite, 12 on the Firestore emulator (its
    transactions lock pessimistically: about a second per admission under contention)."""
    repository = ExperimentRepository(store)
    count = 50 if isinstance(store, SqliteDocumentStore) else 12
    created = [repository.create(lambda n: make_experiment("file:///tiny.csv", number=n)) for _ in range(count)]

    def process(share: list[str]) -> None:
        for experiment_id in share:
            admit_with_retries(store, experiment_id)

    ids = [e.id for e in created]
    threads = [threading.Thread(target=process, args=(ids[i::at_once],)) for i in range(at_once)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses(repository) == {"submitting": LIMIT, "queued": count - LIMIT}, "none lost, none beyond the limit"
    holders = repository.run_slots()
    assert len(holders) == LIMIT and {repository.get(i).status for i in holders} == {Status.SUBMITTING}


def test_an_ended_holder_frees_its_slot_for_the_queue_in_number_order(store: DocumentStore) -> None:
    repository = ExperimentRepository(store)
    created = [repository.create(lambda n: make_experiment("file:///tiny.csv", number=n)) for _ in range(6)]
    for experiment in created:
        repository.admit(LIMIT, newcomer=experiment.id)
    first, *_ = created
    queue = [e.id for e in created[LIMIT:]]
    assert [repository.get(i).status for i in queue] == [Status.QUEUED] * 3

    repository.update(queue[0], lambda e: lifecycle.request_cancel(e))  # a queued experiment cancelled: never admitted
    repository.update(first.id, lambda e: lifecycle.fail(e, lifecycle.error_codes.TIMEOUT.error(), utcnow()))
    result = repository.admit(LIMIT, queue=queue)
    assert [e.id for e in result.admitted] == [queue[1]], "the next in Exp #N order, skipping the cancelled one"
    assert first.id not in repository.run_slots() and queue[1] in repository.run_slots()
    assert repository.get(queue[0]).status is Status.QUEUED and repository.get(queue[2]).status is Status.QUEUED

    assert repository.admit(LIMIT, queue=queue).changed == [], "no slot is free: nothing moves"


def test_holders_a_query_sees_count_even_when_the_ledger_missed_them(store: DocumentStore) -> None:
    repository = ExperimentRepository(store)
    running = repository.create(lambda n: make_experiment("file:///tiny.csv", number=n, status=Status.RUNNING))
    waiting = repository.create(lambda n: make_experiment("file:///tiny.csv", number=n))
    result = repository.admit(1, holding=[running.id], newcomer=waiting.id)
    assert [e.id for e in result.queued] == [waiting.id] and repository.run_slots() == [running.id]


class Refused(Exception):
    pass


def _refuse(waiting: int, adding: int) -> None:
    raise Refused(waiting, adding)


def test_concurrent_creations_wait_within_the_queue_bound(store: DocumentStore) -> None:
    """Two starters (threads on one store: its transactions are all that orders them) create more than the
    bound allows; the counter's ledger of waiting experiments refuses the rest (decision 052, amendment 1)."""
    repository = ExperimentRepository(store)
    bound, each = 3, 4 if isinstance(store, SqliteDocumentStore) else 3
    outcomes: list[object] = []

    def starter() -> None:
        queue_bound.set(QueueBound(limit=bound, refuse=_refuse))  # this thread's context
        for _ in range(each):
            for _attempt in range(20):
                try:
                    repository.create(lambda n: make_experiment("file:///tiny.csv", number=n))
                    outcomes.append("created")
                except ContentionError:
                    continue
                except Refused as refused:
                    outcomes.append(refused.args)
                break

    threads = [threading.Thread(target=starter) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses(repository) == {"pending": bound} and outcomes.count("created") == bound
    assert sorted(set(outcomes) - {"created"}) == [(bound, 1)], "every other start was refused"  # type: ignore[type-var]

    first = repository.documents()[0]["id"]
    repository.update(first, lambda e: lifecycle.request_cancel(e))  # no longer waits: room for one
    with pytest.raises(Refused):
        repository.make_room(QueueBound(limit=bound, refuse=_refuse), 2)
    token = queue_bound.set(QueueBound(limit=bound, refuse=_refuse))
    try:
        repository.create(lambda n: make_experiment("file:///tiny.csv", number=n))
        with pytest.raises(Refused):
            repository.create(lambda n: make_experiment("file:///tiny.csv", number=n))
    finally:
        queue_bound.reset(token)
