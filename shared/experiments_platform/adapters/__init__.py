"""Adapters: one GCP and one local implementation per port (see ``experiments_platform.ports``).

``experiments_platform.bootstrap`` picks them from configuration. Importing this package imports
no cloud library; each adapter module imports its client library itself and builds clients only
when it is constructed. This module holds what the two document stores share: the
reads-before-writes error and the validation of collection names, document ids, field paths and
query arguments.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from ..errors import InvalidInput, PlatformError
from ..ports.documents import Filter, FilterOp, Order

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
_DOC_ID = re.compile(r"^[A-Za-z0-9_.\-:@]{1,256}$")
FILTER_OPERATORS = frozenset(get_args(FilterOp))


class ReadAfterWriteError(PlatformError):
    """A transaction read a document after it had written (Firestore's reads-before-writes rule)."""

    code = "READ_AFTER_WRITE"
    status = 500


def check_collection(collection: str) -> str:
    if not isinstance(collection, str) or not _SEGMENT.match(collection):
        raise InvalidInput(
            f"collection name {collection!r} is invalid: use letters, digits, '_' or '-', starting with a letter",
            field="collection",
        )
    return collection


def check_doc_id(doc_id: str) -> str:
    if not isinstance(doc_id, str) or not _DOC_ID.match(doc_id) or doc_id in {".", ".."} or doc_id.startswith("__"):
        raise InvalidInput(
            f"document id {doc_id!r} is invalid: use 1-256 letters, digits or '_.-:@' (not '.', '..' or '__...')",
            field="doc_id",
        )
    return doc_id


def field_segments(path: str) -> list[str]:
    """``"parameters.epochs"`` → ``["parameters", "epochs"]``; raise naming the bad path."""
    segments = path.split(".") if isinstance(path, str) else []
    if not segments or not all(_SEGMENT.match(s) for s in segments):
        raise InvalidInput(
            f"field path {path!r} is invalid: use dot-separated names of letters, digits, '_' or '-' "
            "(for example 'parameters.epochs')",
            field="field",
        )
    return segments


def check_filter(flt: Filter | tuple[Any, ...]) -> Filter:
    """A query filter with a valid field path, a known operator and, for ``in``, a non-empty list."""
    field, op, value = Filter(*flt)
    field_segments(field)
    if op not in FILTER_OPERATORS:
        raise InvalidInput(f"unsupported filter operator {op!r} on {field!r}", field=field)
    if op == "in" and (not isinstance(value, (list, tuple)) or not value):
        raise InvalidInput(f"filter {field!r} in: the value must be a non-empty list", field=field)
    return Filter(field, op, value)


def check_order(order: Order | tuple[Any, ...]) -> Order:
    """A query order with a valid field path and direction ``asc`` or ``desc``."""
    field, direction = Order(*order)
    field_segments(field)
    if direction not in ("asc", "desc"):
        raise InvalidInput(f"order direction of {field!r} must be 'asc' or 'desc', got {direction!r}", field=field)
    return Order(field, direction)


def check_window(limit: int | None, offset: int) -> None:
    """A query's ``limit`` (None for all) and ``offset`` must not be negative."""
    if limit is not None and limit < 0:
        raise InvalidInput(f"limit must be >= 0, got {limit}", field="limit")
    if offset < 0:
        raise InvalidInput(f"offset must be >= 0, got {offset}", field="offset")
