"""Sweeps (``sweeps/{id}``): written in transactions (children are appended one by one while others cancel), read as
typed ``Sweep`` documents (decision 066)."""

from __future__ import annotations

from experiments_platform.domain.sweep import Sweep
from experiments_platform.ports.documents import DocumentStore
from experiments_platform.repositories.typed import TypedRepository

COLLECTION = "sweeps"


class SweepRepository(TypedRepository[Sweep]):
    def __init__(self, documents: DocumentStore) -> None:
        super().__init__(documents, COLLECTION, Sweep, "sweep")
