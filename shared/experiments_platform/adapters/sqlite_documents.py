"""Embedded document store: JSON documents in one SQLite file, with Firestore's semantics.

Several processes of the local stack may share the file. Transactions take SQLite's write lock
up front (``BEGIN IMMEDIATE``), so read-modify-write transactions are serialized across threads
and processes and never lose an update; writes are buffered and applied at commit, and a read
after a write raises ``ReadAfterWriteError`` as Firestore does.

Queries follow Firestore: filters on dotted paths compare only values of the same type (a number
never equals a string, ``True`` never equals ``1``), ``!=`` and ordering skip documents that lack
the field, values of different types order null < booleans < numbers < strings < arrays < maps,
and ties order by document id.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from experiments_platform.adapters._shared import (
    ReadAfterWriteError,
    check_collection,
    check_doc_id,
    check_filter,
    check_order,
    check_window,
    field_segments,
)
from experiments_platform.config import Settings
from experiments_platform.errors import AlreadyExists, ContentionError, InvalidInput
from experiments_platform.ports.documents import Doc, Filter, Order

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (collection, id)
) WITHOUT ROWID
"""

_TYPE_RANK = (
    "CASE json_type(data, {p}) WHEN 'null' THEN 0 WHEN 'false' THEN 1 WHEN 'true' THEN 1 "
    "WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'text' THEN 3 WHEN 'array' THEN 4 ELSE 5 END"
)
_COMPARISONS = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _encode(data: Doc) -> str:
    try:
        return json.dumps(data, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"document is not JSON-compatible ({exc}); store model.to_document() dicts") from None


def _json_path(field: str) -> str:
    return "$" + "".join(f'."{s}"' for s in field_segments(field))


def _typed(value: Any, field: str) -> tuple[tuple[str, ...], Any]:
    """The JSON types a value may match and its SQL form."""
    if value is None:
        return ("null",), None
    if isinstance(value, bool):
        return ("true",) if value else ("false",), int(value)
    if isinstance(value, (int, float)):
        return ("integer", "real"), value
    if isinstance(value, str):
        return ("text",), value
    raise InvalidInput(
        f"filter on {field!r} compares a {type(value).__name__}; "
        "only null, booleans, numbers and strings are supported",
        field=field,
    )


def _bool_range(types: tuple[str, ...]) -> tuple[str, ...]:
    return ("false", "true") if types[0] in ("false", "true") else types


class _SqlBuilder:
    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def type_in(self, expr_path: str, types: tuple[str, ...], source: str = "json_type(data, {p})") -> str:
        marks = ", ".join(self.bind(t) for t in types)
        return f"{source.format(p=expr_path)} IN ({marks})"

    def condition(self, flt: Filter) -> str:
        field, op, value = flt
        path = self.bind(_json_path(field))
        if op in _COMPARISONS:
            types, sql_value = _typed(value, field)
            if value is None and op != "==":
                raise InvalidInput(f"filter {field!r} {op} null: only == and != accept null", field=field)
            if op != "==":
                types = _bool_range(types)
            type_check = self.type_in(path, types)
            if value is None:
                return type_check
            return f"({type_check} AND json_extract(data, {path}) {_COMPARISONS[op]} {self.bind(sql_value)})"
        if op == "!=":
            types, sql_value = _typed(value, field)
            equal = self.type_in(path, types)
            if value is not None:
                equal = f"({equal} AND json_extract(data, {path}) = {self.bind(sql_value)})"
            null = self.bind("null")
            return f"(json_type(data, {path}) IS NOT NULL AND json_type(data, {path}) != {null} AND NOT {equal})"
        if op == "in":
            options = []
            for item in value:
                types, sql_value = _typed(item, field)
                check = self.type_in(path, types)
                if item is not None:
                    check = f"({check} AND json_extract(data, {path}) = {self.bind(sql_value)})"
                options.append(check)
            return "(" + " OR ".join(options) + ")"
        if op == "array_contains":
            types, sql_value = _typed(value, field)
            marks = ", ".join(self.bind(t) for t in types)
            match = f"je.type IN ({marks})" + ("" if value is None else f" AND je.value = {self.bind(sql_value)}")
            return (
                f"(json_type(data, {path}) = {self.bind('array')} AND "
                f"EXISTS (SELECT 1 FROM json_each(data, {path}) AS je WHERE {match}))"
            )
        raise InvalidInput(f"unsupported filter operator {op!r} on {field!r}", field=field)


class SqliteTransaction:
    """Reads first, then buffered writes applied when the transaction commits."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._writes: list[tuple[str, str, str, Doc | None]] = []

    def get(self, collection: str, doc_id: str) -> Doc | None:
        if self._writes:
            raise ReadAfterWriteError(
                f"transaction read {collection}/{doc_id} after writing; do every read before the first write"
            )
        return _select(self._conn, collection, doc_id)

    def create(self, collection: str, doc_id: str, data: Doc) -> None:
        self._writes.append(("create", check_collection(collection), check_doc_id(doc_id), data))

    def set(self, collection: str, doc_id: str, data: Doc) -> None:
        self._writes.append(("set", check_collection(collection), check_doc_id(doc_id), data))

    def delete(self, collection: str, doc_id: str) -> None:
        self._writes.append(("delete", check_collection(collection), check_doc_id(doc_id), None))

    def apply(self) -> None:
        for kind, collection, doc_id, data in self._writes:
            if kind == "create":
                _insert(self._conn, collection, doc_id, data or {})
            elif kind == "set":
                _upsert(self._conn, collection, doc_id, data or {})
            else:
                self._conn.execute("DELETE FROM documents WHERE collection = ? AND id = ?", (collection, doc_id))


def _select(conn: sqlite3.Connection, collection: str, doc_id: str) -> Doc | None:
    key = (check_collection(collection), check_doc_id(doc_id))
    row = conn.execute("SELECT data FROM documents WHERE collection = ? AND id = ?", key).fetchone()
    return json.loads(row[0]) if row else None


def _insert(conn: sqlite3.Connection, collection: str, doc_id: str, data: Doc) -> None:
    try:
        conn.execute(
            "INSERT INTO documents (collection, id, data) VALUES (?, ?, ?)", (collection, doc_id, _encode(data))
        )
    except sqlite3.IntegrityError:
        raise AlreadyExists(f"{collection}/{doc_id} already exists", field="id") from None


def _upsert(conn: sqlite3.Connection, collection: str, doc_id: str, data: Doc) -> None:
    conn.execute(
        "INSERT INTO documents (collection, id, data) VALUES (?, ?, ?) "
        "ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data",
        (collection, doc_id, _encode(data)),
    )


class SqliteDocumentStore:
    """``ports.documents.DocumentStore`` on a SQLite file (default ``{data_dir}/documents.sqlite``).

    Connections come from a small pool, so request threads that come and go leave no open handles.
    """

    def __init__(self, path: str | Path, busy_timeout_s: float = 30.0, max_idle_connections: int = 8) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        self._max_idle = max_idle_connections
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._local = threading.local()
        # Processes that open a new file together (gunicorn's workers) race to switch it to WAL, and SQLite
        # answers that race with 'database is locked' at once, without waiting: the setup takes a file lock.
        with open(self.path.with_name(self.path.name + ".setup-lock"), "a") as setup_lock:
            fcntl.flock(setup_lock, fcntl.LOCK_EX)
            conn = self._connect_new()
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(_SCHEMA)
            finally:
                conn.close()

    @classmethod
    def from_settings(cls, settings: Settings) -> SqliteDocumentStore:
        return cls(settings.data_dir / "documents.sqlite")

    def _connect_new(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
        conn = conn or self._connect_new()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            with self._pool_lock:
                keep = len(self._idle) < self._max_idle
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def get(self, collection: str, doc_id: str) -> Doc | None:
        with self._connection() as conn:
            return _select(conn, collection, doc_id)

    def create(self, collection: str, doc_id: str, data: Doc) -> None:
        with self._connection() as conn:
            _insert(conn, check_collection(collection), check_doc_id(doc_id), data)

    def set(self, collection: str, doc_id: str, data: Doc) -> None:
        with self._connection() as conn:
            _upsert(conn, check_collection(collection), check_doc_id(doc_id), data)

    def delete(self, collection: str, doc_id: str) -> bool:
        key = (check_collection(collection), check_doc_id(doc_id))
        with self._connection() as conn:
            return conn.execute("DELETE FROM documents WHERE collection = ? AND id = ?", key).rowcount > 0

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Doc]:
        check_window(limit, offset)
        sql = _SqlBuilder()
        where = [f"collection = {sql.bind(check_collection(collection))}"]
        where += [sql.condition(check_filter(f)) for f in filters]
        ordering = []
        last_direction = "ASC"
        for field, direction in map(check_order, order_by):
            last_direction = direction.upper()
            path = sql.bind(_json_path(field))
            where.append(f"json_type(data, {path}) IS NOT NULL")
            ordering.append(f"{_TYPE_RANK.format(p=path)} {last_direction}")
            ordering.append(f"json_extract(data, {path}) {last_direction}")
        ordering.append(f"id {last_direction}")
        statement = f"SELECT data FROM documents WHERE {' AND '.join(where)} ORDER BY {', '.join(ordering)}"
        statement += f" LIMIT {sql.bind(-1 if limit is None else limit)} OFFSET {sql.bind(offset)}"
        with self._connection() as conn:
            rows = conn.execute(statement, sql.params).fetchall()
        return [json.loads(row[0]) for row in rows]

    def run_transaction(self, fn: Callable[[SqliteTransaction], T]) -> T:
        """Run ``fn`` holding the database's write lock; writes apply atomically when it returns.

        ``fn`` runs once (the lock rules out contention), but callers must still keep it free of
        side effects because the port allows re-runs. Waiting longer than the busy timeout for the
        lock raises ``ContentionError``.
        """
        if getattr(self._local, "in_transaction", False):
            raise InvalidInput("run_transaction cannot be nested; pass the outer transaction instead")
        with self._connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise ContentionError(f"document store {self.path} is locked by another writer: {exc}") from exc
            self._local.in_transaction = True
            try:
                txn = SqliteTransaction(conn)
                result = fn(txn)
                txn.apply()
                conn.execute("COMMIT")
                return result
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                self._local.in_transaction = False

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
