"""Golden BigQuery SQL: the exact text the pipeline hands to BigQueryExampleGen.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/unit/test_sql_bigquery_golden.py``
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from experiments_platform.domain.dataset import Column, Dataset, FeatureTable, TableSource
from experiments_platform.domain.experiment import (
    BuyerTimeSplit,
    QuickTestParameters,
    RandomSplit,
    StrictTimeSplit,
    TimeHoldoutSplit,
)
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.sql import render_split_queries

GOLDEN = Path(__file__).parent / "golden_sql"

DATASET = Dataset(
    id="shop",
    name="shop",
    source=TableSource(kind="bigquery", uri="my-project.shop.transactions"),
    row_count=1000,
    columns=[
        Column(name="customer_id", type="integer"),
        Column(name="product_id", type="string"),
        Column(name="date", type="date"),
        Column(name="revenue", type="float"),
    ],
    query_id_column="customer_id",
    candidate_id_column="product_id",
    date_column="date",
    buyer_features=FeatureTable(
        source=TableSource(kind="bigquery", uri="my-project.shop.buyers"),
        join_key="customer_id",
        columns=[Column(name="customer_id", type="string"), Column(name="city", type="string")],
    ),
    product_features=FeatureTable(
        source=TableSource(kind="bigquery", uri="my-project.shop.products"),
        join_key="product_id",
        columns=[
            Column(name="product_id", type="string"),
            Column(name="category", type="string"),
            Column(name="price", type="float"),
        ],
    ),
)

FEATURES = FeatureConfig(
    name="shop features",
    query_features=[{"kind": "id", "column": "customer_id"}, {"kind": "categorical", "column": "city"}],
    candidate_features=[
        {"kind": "id", "column": "product_id"},
        {"kind": "categorical", "column": "category"},
        {"kind": "numeric", "column": "price"},
        {"kind": "numeric", "column": "revenue"},
    ],
    cross_features=[{"tower": "candidate", "columns": ["category", "price"]}],
)

CASES = {
    "random": QuickTestParameters(sample_percent=10, seed=42, split=RandomSplit(train_percent=80, val_percent=10)),
    "time_holdout": QuickTestParameters(
        sample_percent=25, seed=7, split=TimeHoldoutSplit(date_column="date", holdout_days=7, history_days=90)
    ),
    "strict_time": QuickTestParameters(
        sample_percent=100, seed=42, split=StrictTimeSplit(date_column="date", train_days=60, val_days=7, test_days=7)
    ),
    "buyer_time": QuickTestParameters(
        sample_percent=25, seed=42, split=BuyerTimeSplit(date_column="date", val_percent=10, test_percent=20)
    ),
}


def _text(case: str) -> str:
    queries = render_split_queries(DATASET, FEATURES, CASES[case], "bigquery")
    parts = [f"-- {name}\n{sql}" for name, sql in [*queries.by_split().items(), ("candidates", queries.candidates)]]
    return "\n".join(parts)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bigquery_sql_matches_golden(case):
    path = GOLDEN / f"bigquery_{case}.sql"
    text = _text(case)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"BigQuery SQL for {case} changed; see the module docstring to regenerate"


def test_protocol_states_what_produced_the_examples():
    queries = render_split_queries(DATASET, FEATURES, CASES["time_holdout"], "bigquery")
    assert queries.protocol == {
        "dialect": "bigquery",
        "split_strategy": "time_holdout",
        "date_column": "date",
        "holdout_days": 7,
        "history_days": 90,
        "val_percent": 10,
        "sample_percent": 25,
        "seed": 7,
        "hash_key": ["customer_id", "product_id"],
        "hash": "md5(seed:query_id:candidate_id), hex 1-8 sample bucket, hex 9-16 split bucket, mod 100",
        "corpus": "every distinct product_id of the whole interactions table",
    }
    assert queries.columns == ("customer_id", "product_id", "city", "category", "price", "revenue", "qt_days_ago")
    assert queries.candidate_columns == ("product_id", "category", "price", "revenue")


@pytest.mark.parametrize("case", sorted(CASES))
def test_bigquery_count_query_matches_golden(case):
    """The launch check's count query (``sql.counts``), reading only the id and date columns."""
    from experiments_platform.sql import build_query_plan
    from experiments_platform.sql.counts import render_count_query

    path = GOLDEN / f"bigquery_counts_{case}.sql"
    text = render_count_query(build_query_plan(DATASET, FEATURES, CASES[case]), "bigquery")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"BigQuery count SQL for {case} changed; see the module docstring to regenerate"
    assert "buyers`" not in text and "products`" not in text, "the count query joins no side table"
