"""Document store port (Firestore; embedded SQLite locally)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

T = TypeVar("T")
Doc = dict[str, Any]

DOCUMENT_ID = re.compile(r"^[A-Za-z0-9_.\-:@]{1,256}$")
DOCUMENT_ID_RULE = "1-256 letters, digits or '_.-:@' (not '.', '..' or '__...')"


def is_document_id(value: object) -> bool:
    """Whether ``value`` can name a document in every store (Firestore's rules, narrowed to a safe alphabet)."""
    return (isinstance(value, str) and DOCUMENT_ID.match(value) is not None and value not in {".", ".."}
            and not value.startswith("__"))

FilterOp = Literal["==", "!=", "<", "<=", ">", ">=", "in", "array_contains"]


class Filter(NamedTuple):
    """``field`` may be a dotted path into nested maps (``parameters.epochs``)."""

    field: str
    op: FilterOp
    value: Any


class Order(NamedTuple):
    field: str
    direction: Literal["asc", "desc"] = "asc"


class Transaction(Protocol):
    """Reads first, then writes (Firestore's rule, enforced by every adapter)."""

    def get(self, collection: str, doc_id: str) -> Doc | None: ...

    def create(self, collection: str, doc_id: str, data: Doc) -> None: ...

    def set(self, collection: str, doc_id: str, data: Doc) -> None: ...

    def delete(self, collection: str, doc_id: str) -> None: ...


class DocumentStore(Protocol):
    def get(self, collection: str, doc_id: str) -> Doc | None:
        """The document, or None when it does not exist."""
        ...

    def create(self, collection: str, doc_id: str, data: Doc) -> None:
        """Write a new document; raise ``errors.AlreadyExists`` if the id is taken."""
        ...

    def set(self, collection: str, doc_id: str, data: Doc) -> None:
        """Write the whole document, creating or replacing it."""
        ...

    def delete(self, collection: str, doc_id: str) -> bool:
        """Delete; True when something was deleted."""
        ...

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Doc]:
        """Documents matching all filters, ordered, then sliced by offset and limit."""
        ...

    def run_transaction(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` atomically; it is re-run on contention, so it must be free of side effects.

        Two concurrent read-modify-write transactions never lose an update.
        """
        ...
