"""Register a user's table as a ``Dataset``: columns and row count are read from the source itself.

The one registration of the platform: the API (``handlers.configs``), uploads and scripts call
``register_dataset``. Sources: a CSV or Parquet file inside the warehouse folders through the
DuckDB warehouse, or a BigQuery table of the allowed projects and datasets through the BigQuery
warehouse (decision 050); each is stored as the warehouse's ``canonical`` form (a file by its
real path). The checks: a table with rows and usable columns; id columns string or integer and
different; a date column date or timestamp; a side table's join key a string or integer column.
Every problem is an ``InvalidInput`` naming the request field (``source.uri``, ``query_id_column``,
``buyer_features.join_key``, ...) with the closest real column names as suggestions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import Field

from experiments_platform.domain.base import DomainModel, Identifier
from experiments_platform.domain.dataset import Column, Dataset, FeatureTable, TableSource
from experiments_platform.domain.names import check_identifier, unknown_name_message
from experiments_platform.errors import InvalidInput
from experiments_platform.ports.warehouse import Warehouse

KEY_TYPES = ("string", "integer")
DATE_TYPES = ("timestamp", "date")


class FeatureTableRequest(DomainModel):
    source: TableSource
    join_key: Identifier


class DatasetRequest(DomainModel):
    """What a user submits to register a dataset."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    source: TableSource
    query_id_column: Identifier
    candidate_id_column: Identifier
    date_column: Identifier | None = None
    buyer_features: FeatureTableRequest | None = None
    product_features: FeatureTableRequest | None = None


def file_source(path: str | Path) -> TableSource:
    """A ``file`` source for a local path (made absolute), or for a ``gs://`` / ``file://`` URI as given."""
    text = str(path)
    if text.startswith(("gs://", "file://")):
        return TableSource(kind="file", uri=text)
    return TableSource(kind="file", uri=Path(text).resolve().as_uri())


def register_dataset(warehouse: Warehouse, request: DatasetRequest) -> Dataset:
    """Describe every table of ``request`` in ``warehouse`` and return the validated ``Dataset``."""
    source, columns, row_count = _describe(warehouse, request.source, "source")
    check_columns({c.name: c.type for c in columns}, request.query_id_column, request.candidate_id_column,
                  request.date_column)
    return Dataset(
        name=request.name,
        description=request.description,
        source=source,
        row_count=row_count,
        columns=columns,
        query_id_column=request.query_id_column,
        candidate_id_column=request.candidate_id_column,
        date_column=request.date_column or None,
        buyer_features=_side(warehouse, request.buyer_features, "buyer_features"),
        product_features=_side(warehouse, request.product_features, "product_features"),
    )


def check_columns(types: Mapping[str, str], query_id_column: str, candidate_id_column: str,
                  date_column: str | None) -> None:
    """The interactions table's column rules, also checked again at launch on the live table
    (``handlers.preflight``): id columns string or integer and different, a date column date or
    timestamp. ``InvalidInput`` names the request field."""
    _require(types, query_id_column, "query_id_column", KEY_TYPES)
    _require(types, candidate_id_column, "candidate_id_column", KEY_TYPES)
    if query_id_column == candidate_id_column:
        raise InvalidInput("the buyer and product id columns must differ", field="candidate_id_column")
    if date_column:
        _require(types, date_column, "date_column", DATE_TYPES)


def _side(warehouse: Warehouse, request: FeatureTableRequest | None, field: str) -> FeatureTable | None:
    if request is None:
        return None
    source, columns, row_count = _describe(warehouse, request.source, f"{field}.source")
    _require({c.name: c.type for c in columns}, request.join_key, f"{field}.join_key", KEY_TYPES)
    return FeatureTable(source=source, join_key=request.join_key, columns=columns, row_count=row_count)


def _describe(warehouse: Warehouse, source: TableSource, field: str) -> tuple[TableSource, list[Column], int]:
    """The canonical source, its columns and row count; ``field`` is where the source sits in the request."""
    try:
        source = warehouse.canonical(source)
        columns, row_count = warehouse.describe(source)
    except InvalidInput as exc:
        inner = exc.field.removeprefix("source") if exc.field else ".uri"
        raise InvalidInput(exc.message, field=f"{field}{inner}", suggestions=exc.suggestions) from None
    if row_count == 0:
        kind = "file" if source.kind == "file" else "table"
        raise InvalidInput(f"the {kind} has no rows ({source.uri!r}); a dataset needs interactions",
                           field=f"{field}.uri")
    return source, columns, row_count


def _require(types: Mapping[str, str], name: str, field: str, allowed: tuple[str, ...]) -> None:
    try:
        check_identifier(name)
    except ValueError as exc:
        _, suggestions = unknown_name_message("column", name, types)
        raise InvalidInput(str(exc), field=field, suggestions=suggestions) from None
    if name not in types:
        message, suggestions = unknown_name_message("column", name, types)
        raise InvalidInput(f"{message} (the table has {', '.join(types)})", field=field, suggestions=suggestions)
    if types[name] not in allowed:
        fitting = [n for n, t in types.items() if t in allowed]
        raise InvalidInput(
            f"column {name!r} has type {types[name]}; {field} needs a {' or '.join(allowed)} column",
            field=field,
            suggestions=fitting[:3],
        )
