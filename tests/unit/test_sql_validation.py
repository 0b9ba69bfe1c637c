"""Names and references are validated before any SQL exists; hostile text never reaches a query."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.domain.dataset import Column, Dataset, FeatureTable, TableSource
from experiments_platform.domain.experiment import QuickTestParameters, StrictTimeSplit, TimeHoldoutSplit
from experiments_platform.domain.features import CategoricalFeature, FeatureConfig, IdFeature
from experiments_platform.errors import InvalidInput
from experiments_platform.sql import render_split_queries, sample_bucket, split_bucket
from pydantic import ValidationError

PAYLOAD = "x'); DROP TABLE t; --"


def bq_dataset(uri: str = "my-project.shop.events") -> Dataset:
    return Dataset(
        name="events",
        source=TableSource(kind="bigquery", uri=uri),
        row_count=10,
        columns=[
            Column(name="buyer_id", type="string"),
            Column(name="product_id", type="string"),
            Column(name="event_time", type="timestamp"),
            Column(name="quantity", type="integer"),
        ],
        query_id_column="buyer_id",
        candidate_id_column="product_id",
        date_column="event_time",
        buyer_features=FeatureTable(
            source=TableSource(kind="bigquery", uri="my-project.shop.buyers"),
            join_key="buyer_id",
            columns=[Column(name="buyer_id", type="string"), Column(name="city", type="string")],
        ),
        product_features=FeatureTable(
            source=TableSource(kind="bigquery", uri="my-project.shop.products"),
            join_key="product_id",
            columns=[Column(name="product_id", type="string"), Column(name="category", type="string")],
        ),
    )


def config(query: list[str], candidate: list[str]) -> FeatureConfig:
    return FeatureConfig(
        name="f",
        query_features=[{"kind": "categorical", "column": c} for c in query],
        candidate_features=[{"kind": "categorical", "column": c} for c in candidate],
    )


def render(dataset: Dataset, features: FeatureConfig, **parameters):
    return render_split_queries(dataset, features, QuickTestParameters(**parameters), "bigquery")


def test_unknown_query_column_names_the_field_and_the_closest_columns():
    with pytest.raises(InvalidInput) as caught:
        render(bq_dataset(), config(["buyer_id", "cty"], ["product_id"]))
    assert caught.value.field == "query_features[1].column"
    assert caught.value.suggestions == ["city"]
    assert "did you mean 'city'" in caught.value.message


def test_candidate_tower_cannot_use_a_buyer_table_column():
    with pytest.raises(InvalidInput) as caught:
        render(bq_dataset(), config(["buyer_id"], ["product_id", "city"]))
    assert caught.value.field == "candidate_features[1].column"
    assert "buyer features table" in caught.value.message


def test_a_buyer_history_reads_its_product_column_from_the_product_table():
    history = FeatureConfig(name="f", query_features=[{"kind": "history", "column": "category"}],
                            candidate_features=[{"kind": "id", "column": "product_id"}])
    sql = render(bq_dataset(), history).train
    assert "`my-project.shop.products`" in sql and "category" in sql
    with pytest.raises(InvalidInput) as caught:
        render(bq_dataset(), FeatureConfig(name="f", query_features=[{"kind": "history", "column": "city"}],
                                           candidate_features=[{"kind": "id", "column": "product_id"}]))
    assert caught.value.field == "query_features[0].column"
    assert "buyer features table; a history feature can use the interactions and product" in caught.value.message


def test_time_split_needs_a_real_date_column():
    with pytest.raises(InvalidInput) as caught:
        render(bq_dataset(), config(["buyer_id"], ["product_id"]), split=TimeHoldoutSplit(date_column="event_tme"))
    assert caught.value.field == "parameters.split.date_column"
    assert caught.value.suggestions == ["event_time"]
    with pytest.raises(InvalidInput) as caught:
        render(bq_dataset(), config(["buyer_id"], ["product_id"]), split=StrictTimeSplit(date_column="quantity"))
    assert caught.value.field == "parameters.split.date_column"
    assert caught.value.suggestions == ["event_time"]


def test_injection_payloads_are_rejected_by_the_domain_model():
    with pytest.raises(ValidationError):
        IdFeature(column=PAYLOAD)
    with pytest.raises(ValidationError):
        Column(name=PAYLOAD, type="string")


def test_injection_payloads_that_bypass_validation_still_never_become_sql():
    hostile = CategoricalFeature.model_construct(column=PAYLOAD, kind="categorical")
    features = FeatureConfig.model_construct(
        name="f",
        query_features=[IdFeature(column="buyer_id"), hostile],
        candidate_features=[IdFeature(column="product_id")],
        cross_features=[],
    )
    with pytest.raises(InvalidInput) as caught:
        render(bq_dataset(), features)
    assert caught.value.field == "query_features[1].column"

    dataset = bq_dataset()
    hostile_columns = [*dataset.columns, Column.model_construct(name=PAYLOAD, type="string")]
    with pytest.raises(InvalidInput):
        render(dataset.model_copy(update={"columns": hostile_columns}), config(["buyer_id"], ["product_id"]))


@pytest.mark.parametrize("uri", [
    "my-project.shop.events`; DROP TABLE x; --",
    "my-project.shop.events' OR 1=1",
    "events",
    "a.b.c.d",
])
def test_bigquery_table_references_are_validated(uri):
    dataset = bq_dataset().model_copy(update={"source": TableSource.model_construct(kind="bigquery", uri=uri)})
    with pytest.raises(InvalidInput) as caught:
        render(dataset, config(["buyer_id"], ["product_id"]))
    assert caught.value.field == "dataset.source.uri"


def test_a_file_dataset_cannot_be_rendered_for_bigquery_and_vice_versa(tmp_path):
    file_dataset = bq_dataset().model_copy(update={
        "source": TableSource(kind="file", uri=(tmp_path / "e.parquet").as_uri()),
        "buyer_features": None, "product_features": None,
    })
    with pytest.raises(InvalidInput, match="BigQuery reads tables") as caught:
        render(file_dataset, config(["buyer_id"], ["product_id"]))
    assert caught.value.field == "dataset.source.uri"
    with pytest.raises(InvalidInput, match="is a BigQuery table"):
        render_split_queries(bq_dataset(), config(["buyer_id"], ["product_id"]), QuickTestParameters(), "duckdb")
    with pytest.raises(InvalidInput) as caught:
        render_split_queries(bq_dataset(), config(["buyer_id"], ["product_id"]), QuickTestParameters(), "oracle")  # type: ignore[arg-type]
    assert caught.value.field == "dialect"


def test_a_file_path_with_quotes_is_read_as_a_path_not_as_sql(tmp_path):
    folder = tmp_path / PAYLOAD.replace("/", "_")
    folder.mkdir()
    path = folder / "events.parquet"
    pq.write_table(pa.table({"buyer_id": ["b1", "b2"], "product_id": ["p1", "p2"]}), path)
    dataset = Dataset(
        name="quoted",
        source=TableSource(kind="file", uri=path.as_uri()),
        row_count=2,
        columns=[Column(name="buyer_id", type="string"), Column(name="product_id", type="string")],
        query_id_column="buyer_id",
        candidate_id_column="product_id",
    )
    features = config(["buyer_id"], ["product_id"])
    queries = render_split_queries(dataset, features, QuickTestParameters(sample_percent=100), "duckdb")
    assert "x''); DROP TABLE t; --/events.parquet')" in queries.train
    warehouse = DuckDBWarehouse()
    rows = [r for sql in queries.by_split().values() for r in warehouse.query(sql)]
    assert sorted(r["buyer_id"] for r in rows) == ["b1", "b2"]
    assert warehouse.describe(dataset.source)[1] == 2


def test_id_columns_must_be_hashable_identically_by_both_engines():
    dataset = bq_dataset()
    columns = [Column(name="buyer_id", type="float"), *dataset.columns[1:]]
    with pytest.raises(InvalidInput) as caught:
        render(dataset.model_copy(update={"columns": columns}), config(["buyer_id"], ["product_id"]))
    assert caught.value.field == "dataset.query_id_column"


def test_reserved_internal_names_are_refused():
    dataset = bq_dataset()
    columns = [*dataset.columns, Column(name="qt_digest", type="string")]
    with pytest.raises(InvalidInput, match="reserved"):
        render(dataset.model_copy(update={"columns": columns}), config(["buyer_id", "qt_digest"], ["product_id"]))


def test_python_reference_hash_is_md5_of_the_key_text():
    digest = hashlib.md5(b"42:u1:i9").hexdigest()
    assert sample_bucket(42, "u1", "i9") == int(digest[0:8], 16) % 100
    assert split_bucket(42, "u1", "i9") == int(digest[8:16], 16) % 100
    assert sample_bucket(7, 12, True) == int(hashlib.md5(b"7:12:true").hexdigest()[:8], 16) % 100
