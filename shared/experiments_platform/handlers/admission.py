"""Admission control (decision 052): the service side of ``domain.admission``.

* ``refuse_when_full`` (gateway, before an experiment is created): beyond
  ``max_queued_runs`` experiments waiting, ``QueueFull`` (429 with ``Retry-After``);
  ``room_in_queue`` holds the check and the creation together, and the creation's transaction
  checks the bound again in the document store, so it holds across gateway processes.
* ``admit`` (submitter, on ``SubmitExperiment`` of a pending experiment): the newcomer takes a
  free run slot after every queued experiment ahead of it, or is queued.
* ``admit_next`` (after an experiment ended, and every reconcile sweep as a safety net): the
  free slots go to the queue in Exp #N order; each experiment admitted gets its
  ``SubmitExperiment`` again, which makes the submitter start its build.
* ``queue_positions``: the position of each queued experiment (1 is next), shown on its card.

The limit is ``Settings.resolved_max_concurrent_runs``: on GCP it bounds concurrent Vertex AI
runs (cost control), locally the TFX processes this machine can hold.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain import admission
from experiments_platform.domain.admission import Assignment
from experiments_platform.domain.status import HOLDS_SLOT, WAITING, Status
from experiments_platform.errors import QueueFull
from experiments_platform.events.messages import SubmitExperiment, Topics
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.documents import Doc, DocumentStore, Filter
from experiments_platform.repositories.experiment_index import ExperimentIndex
from experiments_platform.repositories.experiments import ExperimentRepository, QueueBound, queue_bound

log = get_logger(__name__)

QUEUE_RETRY_AFTER_S = 60
_one_at_a_time = threading.Lock()
_one_start_at_a_time = threading.Lock()


@contextmanager
def room_in_queue(platform: Platform) -> Iterator[None]:
    """``refuse_when_full``, then the caller creates its experiment within the queue's bound: concurrent
    starts checked the bound before any had created its experiment (42 at once queued 27 behind a bound
    of 20). The bound holds across gateway processes (Cloud Run instances, gunicorn workers): the
    creation's own transaction counts the waiting experiments in the document store (decision 052,
    amendment 1)."""
    with one_start_at_a_time(platform):
        refuse_when_full(platform)
        yield


@contextmanager
def one_start_at_a_time(platform: Platform) -> Iterator[None]:
    """Held while a request checks the queue bound and creates its experiments (a sweep: all of them).

    Every experiment created meanwhile is held to ``max_queued_runs`` by
    ``ExperimentRepository.create`` (``queue_bound``), across processes; the lock keeps this process's
    batches (a sweep's children) from interleaving, so a batch that passed ``refuse_when_full`` is
    refused midway only by another process's starts."""
    with _one_start_at_a_time:
        token = queue_bound.set(_bound(platform))
        try:
            yield
        finally:
            queue_bound.reset(token)


def refuse_when_full(platform: Platform, adding: int = 1) -> None:
    """``QueueFull`` when ``adding`` more experiments would wait past ``max_queued_runs`` (a sweep adds
    all its children at once), counted in the document store (the ledger in the experiments' counter,
    and the waiting ones this process's index holds)."""
    ExperimentRepository(platform.documents).make_room(_bound(platform), adding)


def _bound(platform: Platform) -> QueueBound:
    settings = platform.settings
    snapshot = ExperimentIndex.of(platform.documents).snapshot()
    seen = snapshot.view(("waiting_ids",), lambda docs: tuple(d["id"] for d in _waiting(docs)))

    def refuse(waiting: int, adding: int) -> None:
        raise _queue_full(settings, waiting, adding)

    return QueueBound(limit=settings.max_queued_runs, refuse=refuse, seen=seen)


def _queue_full(settings: Settings, waiting: int, adding: int) -> QueueFull:
    these = "this one" if adding == 1 else f"these {adding} experiments"
    message = (f"{waiting} experiments are already waiting for one of this deployment's "
               f"{settings.resolved_max_concurrent_runs} run slots (the queue holds at most "
               f"{settings.max_queued_runs}); start {these} when some have finished, or cancel queued ones")
    if adding > settings.max_queued_runs:
        message = (f"{adding} experiments at once are more than the queue holds ({settings.max_queued_runs} may "
                   f"wait for this deployment's {settings.resolved_max_concurrent_runs} run slots): drop values "
                   f"or repeats, or raise PLATFORM_MAX_QUEUED_RUNS")
    return QueueFull(
        message,
        retry_after_s=QUEUE_RETRY_AFTER_S,
        details={"waiting": waiting, "max_queued_runs": settings.max_queued_runs,
                 "max_concurrent_runs": settings.resolved_max_concurrent_runs},
    )


def admit(platform: Platform, newcomer: str | None = None) -> Assignment:
    """Hand the free run slots to the queue, then to ``newcomer``; queue the newcomer if none is left.
    Every queued experiment admitted (not the newcomer: its caller starts it) gets its submit again."""
    repository = ExperimentRepository(platform.documents)
    holding = [d["id"] for d in repository.summaries([Filter("status", "in", [s.value for s in HOLDS_SLOT])])]
    queue = [d["id"] for d in _waiting(repository.summaries([Filter("status", "==", Status.QUEUED.value)]))]
    limit = platform.settings.resolved_max_concurrent_runs
    with _one_at_a_time:  # admissions contend on one ledger document: this process sends one at a time
        result = repository.admit(limit, holding=holding, queue=queue, newcomer=newcomer)
    for experiment in result.admitted:
        log.info("experiment admitted: it holds a run slot", extra=fields(
            experiment_id=experiment.id, number=experiment.number, running=len(result.holders), limit=limit))
        if experiment.id != newcomer:
            platform.bus.publish(Topics.SUBMIT, *SubmitExperiment(experiment_id=experiment.id).encode())
    for experiment in result.queued:
        log.info("experiment queued: every run slot is taken", extra=fields(
            experiment_id=experiment.id, number=experiment.number, ahead=len(queue), limit=limit))
    return result


def admit_next(platform: Platform) -> Assignment:
    """After an experiment ended (or from reconcile): the queue takes the slots that are free."""
    return admit(platform)


def queue_positions(documents: DocumentStore) -> dict[str, int]:
    """The position of every queued experiment (1 is next), from the in-memory index of summaries."""
    snapshot = ExperimentIndex.of(documents).snapshot()
    return snapshot.view(("queue_positions",), lambda docs: admission.queue_positions(
        [(d["id"], int(d.get("number") or 0)) for d in docs if d.get("status") == Status.QUEUED.value]))


def with_queue_position(documents: DocumentStore, experiment: Mapping[str, Any]) -> Doc:
    """The experiment document, with ``queue_position`` when it is queued (and ``queue_length``)."""
    if experiment.get("status") != Status.QUEUED.value:
        return dict(experiment)
    positions = queue_positions(documents)
    return {**experiment, "queue_position": positions.get(str(experiment.get("id"))), "queue_length": len(positions)}


def with_queue_positions(documents: DocumentStore, page: dict[str, Any]) -> dict[str, Any]:
    """A page of experiments (``{"items": [...]}``) with the queue positions of its queued ones."""
    return {**page, "items": [with_queue_position(documents, item) for item in page["items"]]}


def _waiting(summaries: Any) -> list[Doc]:
    """The waiting experiments (pending or queued, without a cancel) in Exp #N order."""
    waiting = {s.value for s in WAITING}
    return sorted((d for d in summaries if d.get("status") in waiting and not d.get("cancel_requested")),
                  key=lambda d: int(d.get("number") or 0))
