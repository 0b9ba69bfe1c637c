"""Local warehouse: DuckDB over CSV and Parquet files inside the configured warehouse folders.

Confinement (decision 050): a ``file`` source must name a regular file whose real path (symlinks
resolved) lies inside one of the roots, else the one ``NO_FILE`` answer is given, the same for a
missing file, a folder and a path outside (no existence oracle). Every connection of a confined
warehouse has external access off except for the roots (``allowed_directories``), extension
auto-install and auto-load off and its configuration locked, so no SQL reads another file and a
``gs://`` or ``https://`` path never makes DuckDB download anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments_platform.adapters._shared import usable_columns
from experiments_platform.config import Settings
from experiments_platform.domain.dataset import Column, ColumnType, TableSource
from experiments_platform.domain.names import IDENTIFIER
from experiments_platform.errors import InvalidInput
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.warehouse import Dialect, UploadFormat
from experiments_platform.sql.dialects import duckdb_string, duckdb_table_function, file_format, local_path

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


def no_file_message(uri: str, roots: Sequence[Path] | None) -> str:
    """The one answer for a missing file, a folder and a path outside the roots (no existence oracle)."""
    where = f" inside the warehouse folders ({', '.join(str(r) for r in roots)})" if roots else ""
    return (f"no file at {uri!r}{where}: name a CSV or Parquet file there, or upload the file (Upload on the "
            "Datasets page, POST /api/datasets/uploads)")


def duckdb_column_type(type_name: str) -> ColumnType | None:
    """The platform type of a DuckDB type name, or None when the platform has no such type."""
    name = type_name.upper().strip()
    for pattern, kind in _TYPES:
        if pattern.match(name):
            return kind
    return None


class DuckDBWarehouse:
    """``describe`` reads a file's schema and row count; ``query`` runs DuckDB SQL with ``$name`` parameters.

    ``roots``: the folders sources may name (the platform passes the settings' warehouse roots);
    None leaves files unconfined, for scripts and tests over their own files. Each call opens its
    own in-memory connection (DuckDB connections are not shared across threads), with the session
    time zone set to UTC so that dates of TIMESTAMP WITH TIME ZONE values fall on the same day as
    in BigQuery.
    """

    dialect: Dialect = "duckdb"

    def __init__(self, *, roots: Sequence[Path] | None = None, threads: int | None = None,
                 memory_limit: str | None = None) -> None:
        self.roots = None if roots is None else tuple(Path(os.path.realpath(r)) for r in roots)
        self.threads = threads
        self.memory_limit = memory_limit

    @classmethod
    def from_settings(cls, settings: Settings) -> DuckDBWarehouse:
        return cls(roots=settings.resolved_warehouse_roots)

    def connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        if self.threads:
            config["threads"] = self.threads
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        conn = duckdb.connect(":memory:", config=config)
        conn.execute("SET TimeZone = 'UTC'")
        if self.roots is not None:
            folders = "[" + ", ".join(duckdb_string(f"{root}{os.sep}") for root in self.roots) + "]"
            conn.execute(f"SET allowed_directories = {folders}")
            conn.execute("SET enable_external_access = false")
        conn.execute("SET lock_configuration = true")
        return conn

    def canonical(self, source: TableSource, field: str = "source.uri") -> TableSource:
        """The source as the ``file://`` URI of its real path; the one ``InvalidInput`` unless a file in the roots.

        A relative path is taken from the first root (the warehouse folder).
        """
        path = local_path(source, field)
        file_format(path, field)
        if "://" in path:
            raise InvalidInput(
                f"{source.uri!r}: the local warehouse reads files on this machine only; upload the file "
                "instead (a gs:// source needs the BigQuery warehouse)", field=field)
        return TableSource(kind="file", uri=Path(self._confined(path, source.uri, field)).as_uri())

    def _confined(self, path: str, uri: str, field: str) -> str:
        if self.roots is None:
            real = os.path.realpath(path)
        else:
            real = os.path.realpath(os.path.join(self.roots[0], path))
            if not any(real == str(r) or real.startswith(f"{r}{os.sep}") for r in self.roots):
                real = ""
        if not real or not os.path.isfile(real):
            raise InvalidInput(no_file_message(uri, self.roots), field=field)
        return real

    def load_upload(self, uri: str, file_format: UploadFormat, table: str) -> TableSource:
        """An uploaded file is read where it was stored (it must lie in the roots): its canonical source."""
        return self.canonical(TableSource(kind="file", uri=uri), field="file")

    def describe(self, source: TableSource) -> tuple[list[Column], int]:
        import duckdb

        source = self.canonical(source)
        path = local_path(source)
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
        return usable_columns(columns, skipped, source.uri), int(row[0]) if row else 0

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
