"""Firestore adapter of ``ports.documents.DocumentStore`` (Native mode; the emulator via FIRESTORE_EMULATOR_HOST).

Documents are the JSON-compatible dicts of ``model.to_document()``: timestamps are ISO strings,
so ordering on them is the same here and in the embedded store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import tenacity
from google.api_core import exceptions as gexc

from experiments_platform.adapters._shared import (
    ReadAfterWriteError,
    check_collection,
    check_doc_id,
    check_filter,
    check_order,
    check_window,
)
from experiments_platform.config import Settings
from experiments_platform.errors import AlreadyExists, ConfigurationError, ContentionError
from experiments_platform.ports.documents import Doc, Filter, Order

if TYPE_CHECKING:
    from google.cloud.firestore import Client, Transaction

T = TypeVar("T")

TRANSACTION_ATTEMPTS = 8


class FirestoreTransaction:
    """Wraps a ``google.cloud.firestore.Transaction``; reads first, then writes."""

    def __init__(self, client: Client, transaction: Transaction) -> None:
        self._client = client
        self._txn = transaction
        self._wrote = False

    def _ref(self, collection: str, doc_id: str) -> Any:
        return self._client.collection(check_collection(collection)).document(check_doc_id(doc_id))

    def get(self, collection: str, doc_id: str) -> Doc | None:
        if self._wrote:
            raise ReadAfterWriteError(
                f"transaction read {collection}/{doc_id} after writing; do every read before the first write"
            )
        snapshot = self._ref(collection, doc_id).get(transaction=self._txn)
        return snapshot.to_dict() if snapshot.exists else None

    def create(self, collection: str, doc_id: str, data: Doc) -> None:
        self._wrote = True
        self._txn.create(self._ref(collection, doc_id), data)

    def set(self, collection: str, doc_id: str, data: Doc) -> None:
        self._wrote = True
        self._txn.set(self._ref(collection, doc_id), data)

    def delete(self, collection: str, doc_id: str) -> None:
        self._wrote = True
        self._txn.delete(self._ref(collection, doc_id))


class FirestoreDocumentStore:
    """``ports.documents.DocumentStore`` on Cloud Firestore. The client is built on first use."""

    def __init__(self, project: str | None = None, database: str | None = None,
                 client: Client | None = None) -> None:
        self.project = project
        self.database = database
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> FirestoreDocumentStore:
        if not settings.gcp_project:
            raise ConfigurationError("PLATFORM_GCP_PROJECT is required by PLATFORM_DOCUMENT_STORE=firestore")
        return cls(project=settings.gcp_project)

    @property
    def client(self) -> Client:
        if self._client is None:
            from google.cloud.firestore import Client

            self._client = Client(project=self.project, database=self.database)
        return self._client

    def _ref(self, collection: str, doc_id: str) -> Any:
        return self.client.collection(check_collection(collection)).document(check_doc_id(doc_id))

    def get(self, collection: str, doc_id: str) -> Doc | None:
        snapshot = self._ref(collection, doc_id).get()
        return snapshot.to_dict() if snapshot.exists else None

    def create(self, collection: str, doc_id: str, data: Doc) -> None:
        try:
            self._ref(collection, doc_id).create(data)
        except gexc.AlreadyExists:
            raise AlreadyExists(f"{collection}/{doc_id} already exists", field="id") from None

    def set(self, collection: str, doc_id: str, data: Doc) -> None:
        self._ref(collection, doc_id).set(data)

    def delete(self, collection: str, doc_id: str) -> bool:
        ref = self._ref(collection, doc_id)
        try:
            ref.delete(option=self.client.write_option(exists=True))
        except gexc.NotFound:
            return False
        return True

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Doc]:
        from google.cloud.firestore import FieldFilter, Query

        check_window(limit, offset)
        if limit == 0:
            return []
        query: Any = self.client.collection(check_collection(collection))
        for field, op, value in map(check_filter, filters):
            query = query.where(filter=FieldFilter(field, op, list(value) if op == "in" else value))
        for field, direction in map(check_order, order_by):
            query = query.order_by(field, direction=Query.ASCENDING if direction == "asc" else Query.DESCENDING)
        if offset:
            query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return [snapshot.to_dict() for snapshot in query.stream()]

    def run_transaction(self, fn: Callable[[FirestoreTransaction], T]) -> T:
        """Run ``fn`` in a Firestore transaction, re-running it when Firestore aborts on contention.

        After ``TRANSACTION_ATTEMPTS`` aborted attempts raises ``ContentionError``.
        """
        from google.cloud.firestore import transactional

        @transactional
        def attempt(transaction: Transaction) -> T:
            return fn(FirestoreTransaction(self.client, transaction))

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((gexc.Aborted, _ExhaustedAttempts)),
            stop=tenacity.stop_after_attempt(TRANSACTION_ATTEMPTS),
            wait=tenacity.wait_random_exponential(multiplier=0.05, max=1.0),
            reraise=True,
        )
        try:
            for try_ in retrying:
                with try_:
                    try:
                        return attempt(self.client.transaction(max_attempts=1))
                    except gexc.AlreadyExists:
                        raise AlreadyExists(
                            "a document created in the transaction already exists", field="id"
                        ) from None
                    except ValueError as exc:
                        if isinstance(exc.__cause__, gexc.Aborted):
                            raise _ExhaustedAttempts(str(exc)) from exc
                        raise
        except (gexc.Aborted, _ExhaustedAttempts) as exc:
            raise ContentionError(
                f"Firestore transaction aborted {TRANSACTION_ATTEMPTS} times on contention: {exc}"
            ) from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class _ExhaustedAttempts(Exception):
    """The Firestore library gave up on one attempt (it wraps ``Aborted`` in ``ValueError``)."""
