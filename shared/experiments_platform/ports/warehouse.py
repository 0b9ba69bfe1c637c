"""Warehouse port (BigQuery; DuckDB over CSV/Parquet locally)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from experiments_platform.domain.dataset import Column, TableSource

Dialect = Literal["duckdb", "bigquery"]


class Warehouse(Protocol):
    dialect: Dialect

    def describe(self, source: TableSource) -> tuple[list[Column], int]:
        """Columns (with platform types) and row count, read from the source itself."""
        ...

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a query rendered for this dialect with named parameters; rows as dicts."""
        ...
