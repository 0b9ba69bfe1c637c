"""Local warehouse: DuckDB over CSV and Parquet files (``file://`` paths; ``gs://`` with DuckDB's httpfs)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments_platform.config import Settings
from experiments_platform.domain.dataset import Column, ColumnType, TableSource
from experiments_platform.domain.names import IDENTIFIER
from experiments_platform.errors import InvalidInput
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.warehouse import Dialect
from experiments_platform.sql.dialects import duckdb_string, duckdb_table_function, local_path

if TYPE_CHECKING:
    import duckdb

log = get_logger(__name__)

_TYPES: list[tuple[re.Pattern[str], ColumnType]] = [
    (re.compile(r"^(VARCHAR|TEXT|STRING|UUID|ENUM.*)$"), "string"),
    (re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|INT\d+|UHUGEINT)$"), "integer"),
    (re.compile(r"^(DOUBLE|FLOAT|REAL|DECIMAL.*|NUMERIC.*)$"), "float"),
    (re.compile(r"^BOOL(EAN)?$"), "boolean"),
    (re.compile(r"^(TIMESTAMP.*|DATETIME)$"), "timestamp"),
    (re.compile(r"^DATE$"), "date"),
]


def duckdb_column_type(type_name: str) -> ColumnType | None:
    """The platform type of a DuckDB type name, or None when the platform has no such type."""
    name = type_name.upper().strip()
    for pattern, kind in _TYPES:
        if pattern.match(name):
            return kind
    return None


class DuckDBWarehouse:
    """``describe`` reads a file's schema and row count; ``query`` runs DuckDB SQL with ``$name`` parameters.

    Each call opens its own in-memory connection (DuckDB connections are not shared across
    threads), with the session time zone set to UTC so that dates of TIMESTAMP WITH TIME ZONE
    values fall on the same day as in BigQuery.
    """

    dialect: Dialect = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.threads = threads
        self.memory_limit = memory_limit

    @classmethod
    def from_settings(cls, settings: Settings) -> DuckDBWarehouse:
        return cls()

    def connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        config: dict[str, Any] = {}
        if self.threads:
            config["threads"] = self.threads
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        conn = duckdb.connect(":memory:", config=config)
        conn.execute("SET TimeZone = 'UTC'")
        return conn

    def describe(self, source: TableSource) -> tuple[list[Column], int]:
        import duckdb

        path = local_path(source)
        if "://" not in path and not os.path.isfile(path):
            hint = " (it is a folder; point to one file)" if os.path.isdir(path) else ""
            raise InvalidInput(f"no file at {path!r}{hint}", field="source.uri")
        table = duckdb_table_function(source)
        try:
            with self.connect() as conn:
                described = conn.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()
                row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        except duckdb.Error as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidInput(
                f"cannot read {path!r} as {'Parquet' if 'read_parquet' in table else 'CSV'}: {first_line}",
                field="source.uri",
            ) from None
        columns, skipped = [], {}
        for name, type_name, *_ in described:
            kind = duckdb_column_type(type_name)
            if not IDENTIFIER.match(name):
                skipped[name] = "name is not letters, digits and underscores"
            elif kind is None:
                skipped[name] = f"type {type_name} is not supported"
            else:
                columns.append(Column(name=name, type=kind))
        if skipped:
            log.warning("columns left out of the dataset", extra=fields(uri=source.uri, skipped=skipped))
        return columns, int(row[0]) if row else 0

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.connect() as conn:
            cursor = conn.execute(sql, dict(parameters) if parameters else None)
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def copy_to_parquet(self, sql: str, path: Path) -> int:
        """Write the result of ``sql`` to one Parquet file; return its row count."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute(f"COPY ({sql}) TO {duckdb_string(str(path))} (FORMAT parquet)")
            row = conn.execute(f"SELECT count(*) FROM read_parquet({duckdb_string(str(path))})").fetchone()
        return int(row[0]) if row else 0
