"""Watches (``watches/{id}``): quick tests pinned to a dataset (``domain.watch``), runs appended in transactions."""

from __future__ import annotations

from collections.abc import Callable

from experiments_platform.domain.base import utcnow
from experiments_platform.domain.watch import Watch
from experiments_platform.errors import NotFound
from experiments_platform.ports.documents import DocumentStore, Filter, Transaction, is_document_id

COLLECTION = "watches"


class WatchRepository:
    def __init__(self, documents: DocumentStore) -> None:
        self._documents = documents

    def create(self, watch: Watch) -> Watch:
        self._documents.create(COLLECTION, watch.id, watch.to_document())
        return watch

    def get(self, watch_id: str, field: str | None = None) -> Watch:
        document = self._documents.get(COLLECTION, watch_id) if is_document_id(watch_id) else None
        if document is None:
            where = f"{field}: " if field else ""
            raise NotFound(f"{where}watch {watch_id!r} doesn't exist", field=field)
        return Watch.model_validate(document)

    def of_dataset(self, dataset_id: str) -> list[Watch]:
        found = [Watch.model_validate(d) for d in self._documents.query(
            COLLECTION, filters=[Filter("dataset_id", "==", dataset_id)])]
        return sorted(found, key=lambda w: w.created_at)

    def update(self, watch_id: str, change: Callable[[Watch], None]) -> Watch:
        def attempt(tx: Transaction) -> Watch:
            document = tx.get(COLLECTION, watch_id)
            if document is None:
                raise NotFound(f"watch {watch_id!r} doesn't exist")
            watch = Watch.model_validate(document)
            change(watch)
            watch.updated_at = utcnow()
            tx.set(COLLECTION, watch.id, watch.to_document())
            return watch

        return self._documents.run_transaction(attempt)

    def delete(self, watch_id: str) -> None:
        self._documents.delete(COLLECTION, watch_id)
