"""Sweeps (``sweeps/{id}``): written in transactions, read as typed ``Sweep`` documents (decision 066)."""

from __future__ import annotations

from collections.abc import Callable

from experiments_platform.domain.base import utcnow
from experiments_platform.domain.sweep import Sweep
from experiments_platform.errors import NotFound
from experiments_platform.ports.documents import DocumentStore, Transaction

COLLECTION = "sweeps"


class SweepRepository:
    def __init__(self, documents: DocumentStore) -> None:
        self._documents = documents

    def create(self, sweep: Sweep) -> Sweep:
        self._documents.create(COLLECTION, sweep.id, sweep.to_document())
        return sweep

    def get(self, sweep_id: str, field: str | None = None) -> Sweep:
        document = self._documents.get(COLLECTION, sweep_id) if sweep_id else None
        if document is None:
            where = f"{field}: " if field else ""
            raise NotFound(f"{where}sweep {sweep_id!r} doesn't exist", field=field)
        return Sweep.model_validate(document)

    def update(self, sweep_id: str, change: Callable[[Sweep], None]) -> Sweep:
        """Apply ``change`` in a transaction (children are appended one by one while others cancel)."""

        def attempt(tx: Transaction) -> Sweep:
            document = tx.get(COLLECTION, sweep_id)
            if document is None:
                raise NotFound(f"sweep {sweep_id!r} doesn't exist")
            sweep = Sweep.model_validate(document)
            change(sweep)
            sweep.updated_at = utcnow()
            tx.set(COLLECTION, sweep.id, sweep.to_document())
            return sweep

        return self._documents.run_transaction(attempt)

    def all(self) -> list[Sweep]:
        return [Sweep.model_validate(d) for d in self._documents.query(COLLECTION)]
