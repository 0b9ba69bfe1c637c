"""One collection of typed documents (``domain.base.Document``): created, read, changed in a transaction, deleted.

``WatchRepository`` (``watches``) and ``SweepRepository`` (``sweeps``) are this with their collection and model;
``ExperimentRepository`` keeps its own (an index, status history and lifecycle checks on every write).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from experiments_platform.domain.base import Document, utcnow
from experiments_platform.errors import NotFound
from experiments_platform.ports.documents import DocumentStore, Filter, Transaction, is_document_id

D = TypeVar("D", bound=Document)


class TypedRepository(Generic[D]):
    """``collection``'s documents as ``model``; ``noun`` names one in errors ("watch 'x' doesn't exist")."""

    def __init__(self, documents: DocumentStore, collection: str, model: type[D], noun: str) -> None:
        self._documents = documents
        self.collection = collection
        self.model = model
        self.noun = noun

    def create(self, item: D) -> D:
        self._documents.create(self.collection, item.id, item.to_document())
        return item

    def get(self, item_id: str, field: str | None = None) -> D:
        """The document ``item_id``; ``NotFound`` (naming ``field`` when given) when there is none."""
        document = self._documents.get(self.collection, item_id) if is_document_id(item_id) else None
        if document is None:
            where = f"{field}: " if field else ""
            raise NotFound(f"{where}{self.noun} {item_id!r} doesn't exist", field=field)
        return self.model.model_validate(document)

    def update(self, item_id: str, change: Callable[[D], None]) -> D:
        """Apply ``change`` in a transaction (a concurrent change retries it on the fresh document)."""

        def attempt(tx: Transaction) -> D:
            document = tx.get(self.collection, item_id)
            if document is None:
                raise NotFound(f"{self.noun} {item_id!r} doesn't exist")
            item = self.model.model_validate(document)
            change(item)
            item.updated_at = utcnow()
            tx.set(self.collection, item.id, item.to_document())
            return item

        return self._documents.run_transaction(attempt)

    def delete(self, item_id: str) -> None:
        self._documents.delete(self.collection, item_id)

    def all(self, filters: Sequence[Filter] = ()) -> list[D]:
        """Every document (matching ``filters``), in the store's order."""
        return [self.model.model_validate(d) for d in self._documents.query(self.collection, filters=filters)]
