"""Parquet files of the local warehouse: atomic writes and platform column types read from the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from experiments_platform.domain.dataset import Column, ColumnType, FeatureTable, TableSource

if TYPE_CHECKING:
    import pyarrow as pa


def arrow_column_type(data_type: pa.DataType) -> ColumnType | None:
    """The platform type of an Arrow type, or None when the platform has no such type."""
    import pyarrow.types as t

    if t.is_string(data_type) or t.is_large_string(data_type) or t.is_dictionary(data_type):
        return "string"
    if t.is_boolean(data_type):
        return "boolean"
    if t.is_integer(data_type):
        return "integer"
    if t.is_floating(data_type) or t.is_decimal(data_type):
        return "float"
    if t.is_timestamp(data_type):
        return "timestamp"
    if t.is_date(data_type):
        return "date"
    return None


def parquet_columns(path: Path) -> tuple[list[Column], int]:
    """Columns (platform types) and row count from a Parquet file's footer."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path)
    schema = meta.schema_arrow
    columns = []
    for field in schema:
        kind = arrow_column_type(field.type)
        if kind is not None:
            columns.append(Column(name=field.name, type=kind))
    return columns, meta.metadata.num_rows


def write_parquet(table: pa.Table, path: Path) -> Path:
    """Write ``table`` to ``path`` atomically (a reader never sees a half-written file)."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


def file_source(path: Path) -> TableSource:
    return TableSource(kind="file", uri=path.resolve().as_uri())


def feature_table(path: Path, join_key: str) -> FeatureTable:
    columns, rows = parquet_columns(path)
    return FeatureTable(source=file_source(path), join_key=join_key, columns=columns, row_count=rows)
