"""What several adapters share: document-store argument checks, Google API calls with retries, log-read
arguments, the warehouses' column check, and the local runners' small helpers. Private to
``experiments_platform.adapters``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar, get_args

import tenacity

from experiments_platform.adapters.local_jobs import ProcessIdentity
from experiments_platform.domain.dataset import Column
from experiments_platform.errors import ConfigurationError, InvalidInput, NotFound, PlatformError, TransientError
from experiments_platform.ports.documents import DOCUMENT_ID_RULE, Filter, FilterOp, Order, is_document_id

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
FILTER_OPERATORS = frozenset(get_args(FilterOp))
MAX_LINES = 10_000
_LOG_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


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
    if not is_document_id(doc_id):
        raise InvalidInput(f"document id {doc_id!r} is invalid: use {DOCUMENT_ID_RULE}", field="doc_id")
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


API_TIMEOUT_S = 60.0

T = TypeVar("T")


def translate_google_error(exc: Exception, action: str) -> PlatformError:
    """The platform error for a failed Google API call: transient, configuration or input."""
    from google.api_core import exceptions

    detail = f"could not {action}: {exc}"
    if isinstance(exc, transient_google_errors()):
        return TransientError(detail)
    if isinstance(exc, (exceptions.PermissionDenied, exceptions.Unauthenticated)):
        return ConfigurationError(f"{detail}; grant the calling service account the role this call needs")
    if isinstance(exc, exceptions.NotFound):
        return NotFound(detail)
    if isinstance(exc, exceptions.InvalidArgument):
        return InvalidInput(detail)
    return PlatformError(detail)


def transient_google_errors() -> tuple[type[Exception], ...]:
    """Google API errors worth retrying (the service is briefly unavailable, overloaded or contended)."""
    from google.api_core import exceptions

    return (
        exceptions.ServiceUnavailable,
        exceptions.DeadlineExceeded,
        exceptions.InternalServerError,
        exceptions.TooManyRequests,
        exceptions.Aborted,
    )


def call_with_retries(
    fn: Callable[[], T],
    action: str,
    *,
    attempts: int = 4,
    first_wait_s: float = 0.5,
    retry_on: tuple[type[Exception], ...] | None = None,
) -> T:
    """Call a Google API, retrying transient failures with exponential backoff; translate the last error.

    ``retry_on`` narrows the retried errors, for calls that must not be repeated once the server
    may have acted on them (creating a build).
    """
    from google.api_core import exceptions

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=first_wait_s, max=8),
        retry=tenacity.retry_if_exception_type(retry_on or transient_google_errors()),
        reraise=True,
    )
    try:
        return retrying(fn)
    except exceptions.GoogleAPICallError as exc:
        raise translate_google_error(exc, action) from exc




def check_log_name(value: str, field: str) -> str:
    if not isinstance(value, str) or not _LOG_NAME.match(value) or ".." in value:
        raise InvalidInput(
            f"{field} {value!r} is invalid: use letters, digits, '_', '.' or '-' (for example 'Trainer')", field=field
        )
    return value


def check_lines(lines: int) -> int:
    if not isinstance(lines, int) or isinstance(lines, bool) or not 1 <= lines <= MAX_LINES:
        raise InvalidInput(f"lines must be an integer from 1 to {MAX_LINES}, got {lines!r}", field="lines")
    return lines



def uri_to_path(uri: str) -> Path:
    if uri.startswith("file://"):
        return Path(uri[len("file://"):])
    if "://" in uri:
        raise InvalidInput(f"the local pipeline service reads file:// URIs only, got {uri!r}", field="compiled_uri")
    return Path(uri)


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat()


def process_alive(record: dict[str, Any], key: str) -> bool:
    identity = ProcessIdentity.from_record(record.get(key))
    return identity is not None and identity.is_alive()


def usable_columns(columns: list[Column], skipped: Mapping[str, str], uri: str) -> list[Column]:
    """``columns``, or ``InvalidInput`` naming every left-out header and why when none is usable."""
    if columns:
        return columns
    if not skipped:
        raise InvalidInput(f"{uri!r}: the file has no columns", field="source.uri")
    named = "; ".join(f"{name!r}: {why}" for name, why in list(skipped.items())[:10])
    raise InvalidInput(
        f"no column of {uri!r} can be used ({named}); rename the headers to letters, digits and underscores, "
        "starting with a letter or underscore", field="source.uri")
