"""Watches (``watches/{id}``): quick tests pinned to a dataset (``domain.watch``), runs appended in transactions."""

from __future__ import annotations

from experiments_platform.domain.watch import Watch
from experiments_platform.ports.documents import DocumentStore, Filter
from experiments_platform.repositories.typed import TypedRepository

COLLECTION = "watches"


class WatchRepository(TypedRepository[Watch]):
    def __init__(self, documents: DocumentStore) -> None:
        super().__init__(documents, COLLECTION, Watch, "watch")

    def of_dataset(self, dataset_id: str) -> list[Watch]:
        return sorted(self.all([Filter("dataset_id", "==", dataset_id)]), key=lambda w: w.created_at)
