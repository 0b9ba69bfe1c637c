"""The experiments repository: the one place that reads and writes ``experiments/{id}``.

Lifecycle code reads experiments as models (``find``, ``get``, ``query``) and changes them only
through ``update``: one store transaction reads the document, applies a change (a function of
``domain.lifecycle``) and writes only when the change says something changed. Views that serve
or aggregate many stored documents read them as stored (``document``, ``documents``), without
validating each. ``create`` numbers a new experiment (Exp #N) in the transaction that writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from experiments_platform.domain.base import utcnow
from experiments_platform.domain.experiment import Experiment
from experiments_platform.errors import InvalidInput, NotFound
from experiments_platform.ports.documents import Doc, DocumentStore, Filter, Order, Transaction

COLLECTION = "experiments"
COUNTERS = "counters"
COUNTER_ID = "experiments"

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
            tx.set(COLLECTION, experiment_id, experiment.to_document())
            return experiment, True

        return self._documents.run_transaction(attempt)

    def create(self, make: Callable[[int], Experiment]) -> Experiment:
        """Write ``make(number)`` with the next Exp #N; the counter moves in the same transaction."""

        def attempt(tx: Transaction) -> Experiment:
            counter = tx.get(COUNTERS, COUNTER_ID) or {}
            number = int(counter.get("last_number", 0)) + 1
            experiment = make(number)
            tx.set(COUNTERS, COUNTER_ID, {**counter, "last_number": number})
            tx.create(COLLECTION, experiment.id, experiment.to_document())
            return experiment

        return self._documents.run_transaction(attempt)

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
