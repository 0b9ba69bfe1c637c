"""Warehouse port (BigQuery; DuckDB over CSV/Parquet locally)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from experiments_platform.domain.dataset import Column, TableSource

Dialect = Literal["duckdb", "bigquery"]
UploadFormat = Literal["csv", "parquet"]


class Warehouse(Protocol):
    dialect: Dialect

    def describe(self, source: TableSource) -> tuple[list[Column], int]:
        """Columns (with platform types) and row count, read from the source itself."""
        ...

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a query rendered for this dialect with named parameters; rows as dicts."""
        ...

    def canonical(self, source: TableSource, field: str = "source.uri") -> TableSource:
        """The source as it is stored: checked against what this deployment may read (``InvalidInput`` naming
        ``field`` otherwise), a file as the URI of its real path."""
        ...

    def load_upload(self, uri: str, file_format: UploadFormat, table: str) -> TableSource:
        """Make an uploaded file (``uri``, where the uploads are stored) a table named ``table``; its source."""
        ...
