"""Datasets: an interactions table in the warehouse plus optional side-feature tables."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from experiments_platform.domain.base import Document, DomainModel, Identifier
from experiments_platform.domain.names import unknown_name_message

ColumnType = Literal["string", "integer", "float", "boolean", "timestamp", "date"]


class Column(DomainModel):
    name: Identifier
    type: ColumnType


class TableSource(DomainModel):
    """Where a table lives.

    ``kind='file'``: ``uri`` is a ``file://`` or ``gs://`` URI of a CSV or Parquet file (DuckDB).
    ``kind='bigquery'``: ``uri`` is ``project.dataset.table``.
    """

    kind: Literal["file", "bigquery"]
    uri: str = Field(min_length=1)


class FeatureTable(DomainModel):
    """A side table joined onto the interactions by a key (buyer or product features)."""

    source: TableSource
    join_key: Identifier = Field(description="key column in the side table")
    columns: list[Column] = Field(default_factory=list)
    row_count: int | None = None


class SourceChange(DomainModel):
    """What one change of the source did to the interactions table (an Eventarc or blob-store event)."""

    at: datetime
    event_id: str = ""
    row_count_before: int = Field(ge=0)
    row_count_after: int = Field(ge=0)
    columns_added: list[str] = Field(default_factory=list)
    columns_removed: list[str] = Field(default_factory=list)


class SourceObject(DomainModel):
    """The file version a dataset was last read from, as its object finalized event names it."""

    uri: str = Field(min_length=1, description="gs:// or file:// URI of the file")
    generation: str = Field(min_length=1, description="the object's generation (Cloud Storage) or write time in µs")


class Dataset(Document):
    source: TableSource
    row_count: int = Field(ge=0)
    columns: list[Column] = Field(min_length=1, description="columns of the interactions table")
    query_id_column: Identifier = Field(description="buyer/query id column")
    candidate_id_column: Identifier = Field(description="product/candidate id column")
    date_column: Identifier | None = None
    buyer_features: FeatureTable | None = None
    product_features: FeatureTable | None = None
    source_changes: list[SourceChange] = Field(
        default_factory=list, description="the latest changes of the source the platform was told of, newest last")
    source_object: SourceObject | None = Field(
        default=None, description="the file version last read (an upload's file, or the source file an event "
        "refreshed it from); an event of the same generation is a no-op")

    @model_validator(mode="after")
    def _columns_exist(self) -> Dataset:
        names = [c.name for c in self.columns]
        for field in ("query_id_column", "candidate_id_column", "date_column"):
            value = getattr(self, field)
            if value is not None and value not in names:
                message, _ = unknown_name_message("column", value, names)
                raise ValueError(f"{field}: {message}")
        return self

    def all_columns(self) -> dict[str, ColumnType]:
        """Every column a feature may use (interactions and side tables), name → type."""
        out: dict[str, ColumnType] = {c.name: c.type for c in self.columns}
        for table in (self.buyer_features, self.product_features):
            if table:
                out.update({c.name: c.type for c in table.columns})
        return out
