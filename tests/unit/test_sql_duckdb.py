"""The rendered DuckDB SQL, executed on tiny synthetic data: samples, splits, windows, corpus."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.data.synthetic_b2b import B2BConfig, synthetic_b2b_dataset
from experiments_platform.domain.dataset import Column, Dataset, FeatureTable, TableSource
from experiments_platform.domain.experiment import (
    BuyerTimeSplit,
    QuickTestParameters,
    RandomSplit,
    StrictTimeSplit,
    TimeHoldoutSplit,
)
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.sql import render_split_queries, sample_bucket, split_bucket

TINY = B2BConfig(buyers=60, products=40, transactions=4000, days=120, end_date=date(2024, 6, 30), seed=3)
END = TINY.end_date


@pytest.fixture(scope="module")
def warehouse() -> DuckDBWarehouse:
    return DuckDBWarehouse(threads=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return synthetic_b2b_dataset(tmp_path_factory.mktemp("b2b"), TINY)


@pytest.fixture(scope="module")
def features() -> FeatureConfig:
    return FeatureConfig(
        name="tiny",
        query_features=[{"kind": "id", "column": "customer_id"}, {"kind": "categorical", "column": "city"}],
        candidate_features=[
            {"kind": "id", "column": "product_id"},
            {"kind": "categorical", "column": "category"},
            {"kind": "numeric", "column": "price"},
        ],
    )


@pytest.fixture(scope="module")
def all_rows(warehouse: DuckDBWarehouse, dataset: Dataset) -> list[dict]:
    path = dataset.source.uri.removeprefix("file://")
    return warehouse.query(f"SELECT * FROM read_parquet('{path}')")


def run(warehouse: DuckDBWarehouse, dataset: Dataset, features: FeatureConfig, **parameters) -> dict[str, list[dict]]:
    queries = render_split_queries(dataset, features, QuickTestParameters(**parameters), "duckdb")
    out = {name: warehouse.query(sql) for name, sql in queries.by_split().items()}
    out["candidates"] = warehouse.query(queries.candidates)
    return out


def with_day(sql: str) -> str:
    """The split query with the event day as an extra output column."""
    return sql.replace('\nSELECT "customer_id"', '\nSELECT qt_day AS "date", "customer_id"', 1)


def pairs(rows: list[dict]) -> Counter:
    return Counter((r["customer_id"], r["product_id"]) for r in rows)


@pytest.mark.parametrize("percent", [5, 10, 25, 100])
def test_sample_is_the_python_reference_and_close_to_the_percentage(warehouse, dataset, features, all_rows, percent):
    result = run(warehouse, dataset, features, sample_percent=percent, seed=11)
    sampled = pairs(result["train"] + result["eval"] + result["test"])
    expected = pairs([r for r in all_rows if sample_bucket(11, r["customer_id"], r["product_id"]) < percent])
    assert sampled == expected
    distinct_pairs = len(pairs(all_rows))
    fraction = len(sampled) / distinct_pairs
    assert abs(fraction - percent / 100) < 0.04, fraction


def test_random_split_fractions_disjoint_and_complete(warehouse, dataset, features, all_rows):
    result = run(warehouse, dataset, features, sample_percent=100, split=RandomSplit(train_percent=70, val_percent=20))
    train, eval_, test = (set(pairs(result[s])) for s in ("train", "eval", "test"))
    assert not (train & eval_) and not (train & test) and not (eval_ & test)
    assert sum(len(result[s]) for s in ("train", "eval", "test")) == len(all_rows)
    total = len(train) + len(eval_) + len(test)
    assert abs(len(train) / total - 0.70) < 0.04
    assert abs(len(eval_) / total - 0.20) < 0.04
    assert abs(len(test) / total - 0.10) < 0.04
    for customer, product in test:
        assert split_bucket(42, customer, product) >= 90


def test_every_repeat_of_a_pair_lands_in_one_split(warehouse, dataset, features, all_rows):
    result = run(warehouse, dataset, features, sample_percent=100)
    counts = pairs(all_rows)
    repeated = {p for p, n in counts.items() if n > 1}
    assert len(repeated) > 100
    for split in ("train", "eval", "test"):
        got = pairs(result[split])
        assert all(got[p] == counts[p] for p in got)


def test_same_inputs_same_sql_and_rows_other_seed_other_sample(warehouse, dataset, features):
    a = render_split_queries(dataset, features, QuickTestParameters(sample_percent=25, seed=1), "duckdb")
    b = render_split_queries(dataset, features, QuickTestParameters(sample_percent=25, seed=1), "duckdb")
    c = render_split_queries(dataset, features, QuickTestParameters(sample_percent=25, seed=2), "duckdb")
    assert a == b
    first = pairs(warehouse.query(a.train))
    assert first == pairs(warehouse.query(b.train))
    other = pairs(warehouse.query(c.train))
    overlap = len(set(first) & set(other)) / len(first)
    assert overlap < 0.5


def test_time_holdout_holds_out_the_last_days_and_hash_splits_the_rest(warehouse, dataset, features, all_rows):
    split = TimeHoldoutSplit(date_column="date", holdout_days=14, history_days=30, val_percent=25)
    queries = render_split_queries(dataset, features, QuickTestParameters(sample_percent=100, split=split), "duckdb")
    dates = {s: [r["date"] for r in warehouse.query(with_day(sql))] for s, sql in queries.by_split().items()}
    first_test_day = END - timedelta(days=13)
    first_kept_day = END - timedelta(days=14 + 29)
    assert dates["test"] and min(dates["test"]) >= first_test_day and max(dates["test"]) == END
    assert len(dates["test"]) == sum(1 for r in all_rows if r["date"] >= first_test_day)
    for s in ("train", "eval"):
        assert min(dates[s]) >= first_kept_day and max(dates[s]) < first_test_day
    before = sum(1 for r in all_rows if first_kept_day <= r["date"] < first_test_day)
    assert len(dates["train"]) + len(dates["eval"]) == before
    assert 0.15 < len(dates["eval"]) / before < 0.35


def test_strict_time_uses_true_windows_ending_at_the_last_day(warehouse, dataset, features, all_rows):
    split = StrictTimeSplit(date_column="date", train_days=30, val_days=7, test_days=7)
    queries = render_split_queries(dataset, features, QuickTestParameters(sample_percent=100, split=split), "duckdb")
    windows = {
        "test": (END - timedelta(days=6), END),
        "eval": (END - timedelta(days=13), END - timedelta(days=7)),
        "train": (END - timedelta(days=43), END - timedelta(days=14)),
    }
    for s, sql in queries.by_split().items():
        rows = warehouse.query(with_day(sql))
        low, high = windows[s]
        assert {r["date"] for r in rows} <= {low + timedelta(days=d) for d in range((high - low).days + 1)}
        assert len(rows) == sum(1 for r in all_rows if low <= r["date"] <= high), s


def test_candidates_are_the_whole_corpus_with_product_features(warehouse, dataset, features, all_rows):
    result = run(warehouse, dataset, features, sample_percent=5)
    products = {r["product_id"]: r for r in pq.read_table(dataset.product_features.source.uri[7:]).to_pylist()}
    corpus = result["candidates"]
    assert [r["product_id"] for r in corpus] == sorted({r["product_id"] for r in all_rows})
    assert list(corpus[0]) == ["product_id", "category", "price"]
    for row in corpus:
        assert row["category"] == products[row["product_id"]]["category"]
        assert row["price"] == products[row["product_id"]]["price"]


def test_split_rows_carry_the_joined_side_features(warehouse, dataset, features):
    result = run(warehouse, dataset, features, sample_percent=25)
    buyers = {r["customer_id"]: r["city"] for r in pq.read_table(dataset.buyer_features.source.uri[7:]).to_pylist()}
    rows = result["train"]
    assert list(rows[0]) == ["customer_id", "product_id", "city", "category", "price"]
    assert all(r["city"] == buyers[r["customer_id"]] for r in rows)


def _write(path, table: pa.Table) -> str:
    if str(path).endswith(".csv"):
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path.as_uri()


def test_integer_ids_join_string_keys_and_csv_sources_work(tmp_path, warehouse):
    interactions = pa.table({"uid": [1, 1, 2, 3, 3, 3], "sku": ["a", "b", "a", "c", "a", "b"]})
    users = pa.table({"uid": ["1", "2", "3"], "tier": ["gold", "silver", "gold"]})
    dataset = Dataset(
        name="csv",
        source=TableSource(kind="file", uri=_write(tmp_path / "events.csv", interactions)),
        row_count=6,
        columns=[Column(name="uid", type="integer"), Column(name="sku", type="string")],
        query_id_column="uid",
        candidate_id_column="sku",
        buyer_features=FeatureTable(
            source=TableSource(kind="file", uri=_write(tmp_path / "users.parquet", users)),
            join_key="uid",
            columns=[Column(name="uid", type="string"), Column(name="tier", type="string")],
        ),
    )
    config = FeatureConfig(
        name="f",
        query_features=[{"kind": "id", "column": "uid"}, {"kind": "categorical", "column": "tier"}],
        candidate_features=[{"kind": "id", "column": "sku"}],
    )
    queries = render_split_queries(dataset, config, QuickTestParameters(sample_percent=100), "duckdb")
    rows = [r for sql in queries.by_split().values() for r in warehouse.query(sql)]
    assert sorted((r["uid"], r["sku"], r["tier"]) for r in rows) == sorted(
        (u, s, {1: "gold", 2: "silver", 3: "gold"}[u]) for u, s in zip(interactions["uid"].to_pylist(),
                                                                        interactions["sku"].to_pylist(), strict=True)
    )
    assert [r["sku"] for r in warehouse.query(queries.candidates)] == ["a", "b", "c"]


def test_outputs_have_the_types_example_gen_converts(warehouse, dataset):
    config = FeatureConfig(
        name="typed",
        query_features=[{"kind": "id", "column": "customer_id"}, {"kind": "timestamp", "column": "date"}],
        candidate_features=[{"kind": "id", "column": "product_id"}, {"kind": "numeric", "column": "quantity"}],
    )
    queries = render_split_queries(dataset, config, QuickTestParameters(sample_percent=10), "duckdb")
    assert queries.column_types == {"customer_id": "string", "product_id": "string", "date": "integer",
                                    "quantity": "integer"}
    rows = warehouse.query(queries.train)
    epoch = date(1970, 1, 1)
    days = {r["date"] // 86400 for r in rows}
    assert all(r["date"] % 86400 == 0 for r in rows)
    assert min(days) >= (END - timedelta(days=TINY.days - 1) - epoch).days and max(days) <= (END - epoch).days
    assert all(isinstance(r["quantity"], int) for r in rows)
    corpus = warehouse.query(queries.candidates)
    assert list(corpus[0]) == ["product_id", "quantity"]


@pytest.mark.parametrize("split", [TimeHoldoutSplit(date_column="date", holdout_days=14),
                                   StrictTimeSplit(date_column="date", train_days=30, val_days=7, test_days=7)])
def test_time_splits_carry_each_rows_days_before_the_last_day(warehouse, dataset, features, split):
    """The recent-popularity baseline's input (issue 11 §8): ``qt_days_ago`` = last day of the table − row's day."""
    queries = render_split_queries(dataset, features, QuickTestParameters(sample_percent=100, split=split), "duckdb")
    assert queries.columns[-1] == "qt_days_ago" and queries.column_types["qt_days_ago"] == "integer"
    for name, sql in queries.by_split().items():
        rows = warehouse.query(with_day(sql))
        assert rows, name
        assert all(r["qt_days_ago"] == (END - r["date"]).days for r in rows), name
    test_days = {r["qt_days_ago"] for r in warehouse.query(queries.test)}
    assert min(test_days) == 0 and max(test_days) < (split.holdout_days if isinstance(split, TimeHoldoutSplit)
                                                     else split.test_days)


def test_random_splits_carry_no_interaction_age(warehouse, dataset, features):
    queries = render_split_queries(dataset, features, QuickTestParameters(sample_percent=10), "duckdb")
    assert "qt_days_ago" not in queries.columns and "qt_days_ago" not in queries.column_types
    assert all("qt_days_ago" not in r for r in warehouse.query(queries.train))


@pytest.mark.parametrize("percent", [100, 25])
def test_buyer_time_takes_each_buyers_latest_rows_as_test_then_validation(warehouse, dataset, features, all_rows,
                                                                           percent):
    split = BuyerTimeSplit(date_column="date", val_percent=20, test_percent=10)
    result = run(warehouse, dataset, features, sample_percent=percent, split=split)
    sampled = [r for r in all_rows if percent == 100 or sample_bucket(42, r["customer_id"], r["product_id"]) < percent]
    assert pairs([r for s in ("train", "eval", "test") for r in result[s]]) == pairs(sampled)
    per_buyer = Counter(r["customer_id"] for r in sampled)
    days = {s: {} for s in ("train", "eval", "test")}
    for s in days:
        for r in result[s]:
            days[s].setdefault(r["customer_id"], []).append(END - timedelta(days=r["qt_days_ago"]))
    for buyer, rows in per_buyer.items():
        tested, validated = rows * 10 // 100, rows * 30 // 100 - rows * 10 // 100
        assert len(days["test"].get(buyer, [])) == tested and len(days["eval"].get(buyer, [])) == validated
        assert len(days["train"][buyer]) == rows - tested - validated
        if tested:
            assert min(days["test"][buyer]) >= max(days["eval"].get(buyer, days["train"][buyer]))
        if validated:
            assert min(days["eval"][buyer]) >= max(days["train"][buyer])
    assert {r["customer_id"] for r in result["test"]} <= {r["customer_id"] for r in result["train"]}
