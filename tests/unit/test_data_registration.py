"""Registering a user's CSV or Parquet file: schema and row count from the file, errors that help."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.data.registration import DatasetRequest, FeatureTableRequest, file_source, register_dataset
from experiments_platform.errors import InvalidInput
from pydantic import ValidationError

ORDERS = pa.table({
    "customer_id": ["c1", "c2", "c1", "c3"],
    "sku": [101, 102, 103, 101],
    "ordered_at": [datetime(2024, 5, d) for d in (1, 2, 3, 4)],
    "amount": [9.5, 3.0, 4.25, 9.5],
})
CUSTOMERS = pa.table({"customer_id": ["c1", "c2", "c3"], "city": ["Rome", "Oslo", "Rome"]})


@pytest.fixture
def files(tmp_path):
    pcsv.write_csv(ORDERS, tmp_path / "orders.csv")
    pq.write_table(ORDERS, tmp_path / "orders.parquet")
    pq.write_table(CUSTOMERS, tmp_path / "customers.parquet")
    return tmp_path


def request(path, **overrides) -> DatasetRequest:
    values = {
        "name": "orders",
        "source": file_source(path),
        "query_id_column": "customer_id",
        "candidate_id_column": "sku",
        "date_column": "ordered_at",
    }
    return DatasetRequest(**{**values, **overrides})


@pytest.mark.parametrize("name", ["orders.csv", "orders.parquet"])
def test_columns_types_and_rows_come_from_the_file(files, name):
    dataset = register_dataset(DuckDBWarehouse(), request(files / name, buyer_features=FeatureTableRequest(
        source=file_source(files / "customers.parquet"), join_key="customer_id")))
    assert [(c.name, c.type) for c in dataset.columns] == [
        ("customer_id", "string"), ("sku", "integer"), ("ordered_at", "timestamp"), ("amount", "float"),
    ]
    assert dataset.row_count == 4
    assert dataset.source.uri == (files / name).as_uri()
    assert dataset.buyer_features is not None
    assert dataset.buyer_features.row_count == 3
    assert [c.name for c in dataset.buyer_features.columns] == ["customer_id", "city"]


def test_missing_and_unreadable_files_name_the_field(files):
    with pytest.raises(InvalidInput, match="no file at") as caught:
        register_dataset(DuckDBWarehouse(), request(files / "nope.parquet"))
    assert caught.value.field == "source.uri"
    (files / "bad.parquet").write_bytes(b"PAR1 but not really")
    with pytest.raises(InvalidInput, match="cannot read") as caught:
        register_dataset(DuckDBWarehouse(), request(files / "bad.parquet"))
    assert caught.value.field == "source.uri"
    with pytest.raises(InvalidInput, match="no file at") as caught:
        register_dataset(DuckDBWarehouse(), request(files / "orders.parquet", product_features=FeatureTableRequest(
            source=file_source(files / "products.parquet"), join_key="sku")))
    assert caught.value.field == "product_features.source.uri"


def test_unknown_id_column_suggests_the_closest_names(files):
    with pytest.raises(InvalidInput) as caught:
        register_dataset(DuckDBWarehouse(), request(files / "orders.parquet", query_id_column="customerid"))
    assert caught.value.field == "query_id_column"
    assert caught.value.suggestions[0] == "customer_id"
    with pytest.raises(InvalidInput) as caught:
        register_dataset(DuckDBWarehouse(), request(files / "orders.parquet", buyer_features=FeatureTableRequest(
            source=file_source(files / "customers.parquet"), join_key="customer")))
    assert caught.value.field == "buyer_features.join_key"
    assert caught.value.suggestions == ["customer_id"]


def test_column_types_must_fit_their_role(files):
    with pytest.raises(InvalidInput, match="needs a timestamp or date column") as caught:
        register_dataset(DuckDBWarehouse(), request(files / "orders.parquet", date_column="amount"))
    assert caught.value.field == "date_column"
    assert caught.value.suggestions == ["ordered_at"]
    with pytest.raises(InvalidInput) as caught:
        register_dataset(DuckDBWarehouse(), request(files / "orders.parquet", candidate_id_column="amount"))
    assert caught.value.field == "candidate_id_column"
    with pytest.raises(InvalidInput) as caught:
        register_dataset(DuckDBWarehouse(), request(files / "orders.parquet", candidate_id_column="customer_id"))
    assert caught.value.field == "candidate_id_column"


def test_injection_text_as_a_column_name_is_refused_as_no_name(files):
    """A column name is an identifier (decision 055): the request itself refuses other text, naming the field."""
    with pytest.raises(ValidationError) as caught:
        request(files / "orders.parquet", query_id_column="x'); DROP TABLE t; --")
    [error] = caught.value.errors()
    assert error["loc"] == ("query_id_column",) and "is not a valid name" in error["msg"]
