"""The experiments repository: the one place that reads and writes ``experiments/{id}``.

Lifecycle code reads experiments as models (``find``, ``get``, ``query``) and changes them only
through ``update``: one store transaction reads the document, applies a change (a function of
``domain.lifecycle``) and writes only when the change says something changed. Views that serve
or aggregate many stored documents read them as stored (``document``, ``documents``), without
validating each. ``create`` numbers a new experiment (Exp #N) in the transaction that writes it, and records the
request's user as ``created_by`` (``identity.current_user``, decision 053). The same transaction keeps the
queue's bound (decision 052, amendment 1): the counter document lists the experiments that wait
(``waiting``), and while a ``QueueBound`` is set (``queue_bound``, by ``handlers.admission``) a creation
past the bound is refused, in every process alike.

Every write also writes the experiment's summary (``experiment_summaries/{id}``: the document less
its bulky parts, ``SUMMARY_OMITS``) in the same transaction, so lists and the dashboard read small
documents that are never out of step with the experiments (``repositories.experiment_index``).
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from experiments_platform.domain import admission
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.status import WAITING
from experiments_platform.errors import InvalidInput, NotFound
from experiments_platform.identity import current_user
from experiments_platform.ports.documents import Doc, DocumentStore, Filter, Order, Transaction

COLLECTION = "experiments"
SUMMARIES = "experiment_summaries"
COUNTERS = "counters"
COUNTER_ID = "experiments"
SLOTS = "run_slots"
SLOTS_ID = "experiments"
"""The run-slot ledger (decision 052): the experiments admitted, read and written by every admission."""
SAVE_BATCH = 200
SUMMARY_VERSION = 1
"""Raise it when ``SUMMARY_OMITS`` changes: the index rewrites every summary once (``backfill_summaries``)."""
SUMMARY_OMITS = (
    "results.history", "results.recall", "results.vocabularies", "results.protocol", "results.timings",
    "dataset_snapshot.columns", "dataset_snapshot.source", "error.excerpt", "estimate.stage_durations_s",
)
"""Dotted paths of an experiment document left out of its summary: what only its own page shows."""
_WAITING = frozenset(s.value for s in WAITING)


@dataclass(frozen=True)
class QueueBound:
    """The queue's bound (``Settings.max_queued_runs``, decision 052) as ``create`` and ``make_room`` keep it."""

    limit: int
    refuse: Callable[[int, int], None]
    """Raises (``QueueFull``) given the experiments waiting and those being added."""
    seen: tuple[str, ...] = ()
    """Experiments a reader saw waiting (the in-memory index): counted too, a safety net for a ledger that
    missed one (experiments written before the ledger, or by ``save``)."""


queue_bound: ContextVar[QueueBound | None] = ContextVar("queue_bound", default=None)
"""Set while a request starts experiments (``handlers.admission.one_start_at_a_time``): ``create`` refuses
past it. Unset (imports, tests, internal restarts), creations are not bounded but still listed as waiting."""


def summary_of(document: Doc) -> Doc:
    """The experiment's summary: a copy of the document without ``SUMMARY_OMITS``."""
    summary = copy.deepcopy(document)
    for path in SUMMARY_OMITS:
        *parents, leaf = path.split(".")
        holder: Any = summary
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict):
            holder.pop(leaf, None)
    return summary


_watchers: weakref.WeakKeyDictionary[Any, list[Callable[[Doc], None]]] = weakref.WeakKeyDictionary()
_watchers_lock = threading.Lock()


def watch(documents: DocumentStore, on_summary: Callable[[Doc], None]) -> None:
    """Call ``on_summary`` with every summary this process writes to ``documents`` (after its commit)."""
    with _watchers_lock:
        _watchers.setdefault(documents, []).append(on_summary)


def _written(documents: DocumentStore, document: Doc) -> None:
    with _watchers_lock:
        callbacks = list(_watchers.get(documents, ()))
    if callbacks:
        summary = summary_of(document)
        for callback in callbacks:
            callback(summary)


def _write(tx: Transaction, document: Doc, *, create: bool = False) -> None:
    (tx.create if create else tx.set)(COLLECTION, document["id"], document)
    tx.set(SUMMARIES, document["id"], summary_of(document))

def _waits(document: Doc | None) -> bool:
    return document is not None and document.get("status") in _WAITING and not document.get("cancel_requested")


def _room(tx: Transaction, ledger: list[str], bound: QueueBound, adding: int) -> list[str]:
    """The ledger of waiting experiments, when ``adding`` more fit within ``bound``; else ``bound.refuse``.

    Counts the ledger and ``bound.seen`` as they are while that fits (an experiment that stopped waiting
    only makes the count higher); past the bound, reads each of them and keeps those still waiting (the
    ledger heals itself, as the run-slot ledger does in ``admit``) before refusing."""
    named = list(dict.fromkeys([*ledger, *bound.seen]))
    if len(named) + adding <= bound.limit:
        return ledger
    still = [i for i in named if _waits(tx.get(COLLECTION, i))]
    if len(still) + adding > bound.limit:
        bound.refuse(len(still), adding)
    return still


def _model(document: Doc | None) -> Experiment | None:
    return Experiment.model_validate(document) if document else None


Change = Callable[[Experiment], bool]
"""Mutates the experiment it is given; True when it changed something. Free of side effects: it
runs inside a transaction and is re-run on contention."""


class ExperimentRepository:
    def __init__(self, documents: DocumentStore) -> None:
        self._documents = documents

    def find(self, experiment_id: str) -> Experiment | None:
        """The experiment, or None when none has this id (an id that cannot be a document id
        raises the store's ``InvalidInput``)."""
        document = self._documents.get(COLLECTION, experiment_id)
        return Experiment.model_validate(document) if document else None

    def document(self, experiment_id: str, field: str | None = None) -> Doc:
        """The stored document, or ``NotFound`` naming it and ``field`` (the request field that named it)."""
        try:
            document = self._documents.get(COLLECTION, experiment_id)
        except InvalidInput:
            document = None
        if document is None:
            raise NotFound(f"experiment {experiment_id!r} doesn't exist", field=field)
        return document

    def get(self, experiment_id: str, field: str | None = None) -> Experiment:
        """The experiment, or ``NotFound`` as ``document`` raises it."""
        return Experiment.model_validate(self.document(experiment_id, field))

    def update(self, experiment_id: str, change: Change) -> tuple[Experiment | None, bool]:
        """Apply ``change`` in a transaction and write when it returns True (stamping ``updated_at``).

        Returns the experiment as stored afterwards (None when it does not exist) and whether it changed.
        """

        def attempt(tx: Transaction) -> tuple[Experiment | None, bool]:
            document = tx.get(COLLECTION, experiment_id)
            if document is None:
                return None, False
            experiment = Experiment.model_validate(document)
            if not change(experiment):
                return experiment, False
            experiment.updated_at = utcnow()
            _write(tx, experiment.to_document())
            return experiment, True

        experiment, changed = self._documents.run_transaction(attempt)
        if changed and experiment is not None:
            _written(self._documents, experiment.to_document())
        return experiment, changed

    def create(self, make: Callable[[int], Experiment]) -> Experiment:
        """Write ``make(number)`` with the next Exp #N; the counter moves in the same transaction.

        The counter document also lists the experiments waiting (``waiting``); with a ``queue_bound`` set,
        the creation that would wait past it is refused (``QueueBound.refuse``) before anything is written:
        every creation reads and writes the counter, so concurrent ones in any process are serialised."""
        bound = queue_bound.get()

        def attempt(tx: Transaction) -> Experiment:
            counter = tx.get(COUNTERS, COUNTER_ID) or {}
            waiting = list(counter.get("waiting", []))
            if bound is not None:
                waiting = _room(tx, waiting, bound, 1)
            number = int(counter.get("last_number", 0)) + 1
            experiment = make(number)
            experiment.created_by = experiment.created_by or current_user.get()
            document = experiment.to_document()
            if _waits(document):
                waiting.append(experiment.id)
            tx.set(COUNTERS, COUNTER_ID, {**counter, "last_number": number, "waiting": waiting})
            _write(tx, document, create=True)
            return experiment

        created = self._documents.run_transaction(attempt)
        _written(self._documents, created.to_document())
        return created

    def make_room(self, bound: QueueBound, adding: int) -> None:
        """``bound.refuse`` unless ``adding`` more experiments fit within ``bound`` now (a sweep checks all
        its children before creating any; each creation is then held to the bound by ``create``)."""

        def attempt(tx: Transaction) -> None:
            counter = tx.get(COUNTERS, COUNTER_ID) or {}
            waiting = list(counter.get("waiting", []))
            pruned = _room(tx, waiting, bound, adding)
            if pruned != waiting:
                tx.set(COUNTERS, COUNTER_ID, {**counter, "waiting": pruned})

        self._documents.run_transaction(attempt)

    def save(self, *documents: Doc) -> None:
        """Write experiment documents as they are, each with its summary (imports, seeded data, tests);
        ``SAVE_BATCH`` documents per transaction (Firestore allows 500 writes in one)."""
        for document in documents:
            Experiment.model_validate(document)
        for start in range(0, len(documents), SAVE_BATCH):
            batch = documents[start:start + SAVE_BATCH]

            def write(tx: Transaction, batch: tuple[Doc, ...] = batch) -> None:
                for document in batch:
                    _write(tx, document)

            self._documents.run_transaction(write)
        for document in documents:
            _written(self._documents, document)

    def admit(self, limit: int, *, holding: Sequence[str] = (), queue: Sequence[str] = (),
              newcomer: str | None = None) -> admission.Assignment:
        """Admission in one transaction with the run-slot ledger (``domain.admission``).

        Reads the ledger, every experiment it names or ``holding`` names (experiments a query saw
        holding a slot: a safety net for a ledger that missed one), as many of the ``queue`` (ids
        in queue order) as there are free slots, and the ``newcomer``; writes the experiments
        admitted (``submitting``) or queued, and the ledger less the holders that ended.
        """

        def attempt(tx: Transaction) -> admission.Assignment:
            ledger = tx.get(SLOTS, SLOTS_ID) or {}
            named = list(dict.fromkeys([*ledger.get("holders", []), *holding]))
            holders = admission.holding([_model(tx.get(COLLECTION, i)) for i in named])
            free = admission.free_slots(holders, limit)
            candidates: list[Experiment] = []
            for experiment_id in queue:
                if len(candidates) >= free:
                    break
                candidate = _model(tx.get(COLLECTION, experiment_id)) if experiment_id != newcomer else None
                if candidate is not None and candidate.status in WAITING and not candidate.cancel_requested:
                    candidates.append(candidate)
            arriving = _model(tx.get(COLLECTION, newcomer)) if newcomer else None
            now = utcnow()
            result = admission.assign(holders, candidates, arriving, limit, now)
            for experiment in result.changed:
                experiment.updated_at = now
                _write(tx, experiment.to_document())
            if result.changed or result.holders != ledger.get("holders"):
                tx.set(SLOTS, SLOTS_ID, {"holders": result.holders, "limit": limit, "updated_at": now.isoformat()})
            return result

        result = self._documents.run_transaction(attempt)
        for experiment in result.changed:
            _written(self._documents, experiment.to_document())
        return result

    def run_slots(self) -> list[str]:
        """The experiments the run-slot ledger names as admitted (some may have ended since)."""
        return list((self._documents.get(SLOTS, SLOTS_ID) or {}).get("holders", []))

    def summaries(self, filters: Sequence[Filter] = ()) -> list[Doc]:
        """Summaries matching every filter (``experiment_index`` keeps them in memory)."""
        return self._documents.query(SUMMARIES, filters)

    def backfill_summaries(self) -> int:
        """Write the summary of every experiment, each in a transaction with its document (documents
        written before summaries existed, or before ``SUMMARY_VERSION``); the number written."""

        def rewrite(experiment_id: str) -> Callable[[Transaction], bool]:
            def attempt(tx: Transaction) -> bool:
                document = tx.get(COLLECTION, experiment_id)
                if document is None:
                    return False
                tx.set(SUMMARIES, experiment_id, summary_of(document))
                return True
            return attempt

        written = sum(self._documents.run_transaction(rewrite(d["id"])) for d in self.documents())

        def mark(tx: Transaction) -> None:
            counter = tx.get(COUNTERS, COUNTER_ID) or {}
            tx.set(COUNTERS, COUNTER_ID, {**counter, "summary_version": SUMMARY_VERSION})

        self._documents.run_transaction(mark)
        return written

    def summaries_current(self) -> bool:
        """Whether every summary has this code's shape (``backfill_summaries`` ran for ``SUMMARY_VERSION``)."""
        counter = self._documents.get(COUNTERS, COUNTER_ID) or {}
        return counter.get("summary_version") == SUMMARY_VERSION

    def query(
        self, filters: Sequence[Filter] = (), order_by: Sequence[Order] = (), limit: int | None = None
    ) -> list[Experiment]:
        """Experiments matching every filter, as models."""
        return [Experiment.model_validate(d) for d in self.documents(filters, order_by, limit)]

    def documents(
        self, filters: Sequence[Filter] = (), order_by: Sequence[Order] = (), limit: int | None = None
    ) -> list[Doc]:
        """Experiments matching every filter, as stored."""
        return self._documents.query(COLLECTION, filters, order_by, limit)
