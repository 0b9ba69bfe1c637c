"""The launch check's count query, run on DuckDB against the split queries' own rows, every strategy."""

from __future__ import annotations

from datetime import date

import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.data.synthetic_b2b import B2BConfig, synthetic_b2b_dataset
from experiments_platform.domain.dataset import Column, Dataset, TableSource
from experiments_platform.domain.experiment import (
    BuyerTimeSplit,
    QuickTestParameters,
    RandomSplit,
    StrictTimeSplit,
    TimeHoldoutSplit,
)
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.launch import DataCheck, SplitSize
from experiments_platform.sql import build_query_plan, render_split_queries
from experiments_platform.sql.counts import render_count_query, split_counts

TINY = B2BConfig(buyers=60, products=40, transactions=4000, days=120, end_date=date(2024, 6, 30), seed=3)
IDS = FeatureConfig(name="ids", query_features=[{"kind": "id", "column": "customer_id"}],
                    candidate_features=[{"kind": "id", "column": "product_id"}])
CASES = {
    "random 25 %": QuickTestParameters(sample_percent=25, split=RandomSplit()),
    "random 100 %, other seed": QuickTestParameters(sample_percent=100, seed=5,
                                                   split=RandomSplit(train_percent=70, val_percent=15)),
    "time_holdout": QuickTestParameters(sample_percent=100,
                                        split=TimeHoldoutSplit(date_column="date", holdout_days=10)),
    "time_holdout with history": QuickTestParameters(
        sample_percent=25, split=TimeHoldoutSplit(date_column="date", holdout_days=5, history_days=30)),
    "strict_time": QuickTestParameters(sample_percent=100, split=StrictTimeSplit(
        date_column="date", train_days=30, val_days=5, test_days=5)),
    "strict_time, empty eval": QuickTestParameters(sample_percent=5, split=StrictTimeSplit(
        date_column="date", train_days=1, val_days=1, test_days=1)),
    "buyer_time 25 %": QuickTestParameters(sample_percent=25, split=BuyerTimeSplit(date_column="date")),
    "buyer_time 100 %": QuickTestParameters(sample_percent=100, split=BuyerTimeSplit(
        date_column="date", val_percent=5, test_percent=20)),
}


@pytest.fixture(scope="module")
def warehouse() -> DuckDBWarehouse:
    return DuckDBWarehouse(threads=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return synthetic_b2b_dataset(tmp_path_factory.mktemp("b2b"), TINY)


def expected(warehouse: DuckDBWarehouse, dataset: Dataset, parameters: QuickTestParameters) -> dict[str, SplitSize]:
    """Each split counted in Python from the rows its split query returns."""
    queries = render_split_queries(dataset, IDS, parameters, "duckdb")
    rows = {name: [(r["customer_id"], r["product_id"]) for r in warehouse.query(sql)]
            for name, sql in queries.by_split().items()}
    train_buyers, train_items = {b for b, _ in rows["train"]}, {i for _, i in rows["train"]}
    out = {}
    for name, pairs in rows.items():
        if pairs:
            out[name] = SplitSize(
                interactions=len(pairs),
                buyers=len({b for b, _ in pairs}),
                cold_buyers=len({b for b, _ in pairs if b not in train_buyers}),
                cold_buyer_interactions=sum(b not in train_buyers for b, _ in pairs),
                cold_item_interactions=sum(i not in train_items for _, i in pairs),
            )
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_counts_equal_the_split_queries_rows(warehouse, dataset, case):
    parameters = CASES[case]
    counts = split_counts(warehouse.query(render_count_query(build_query_plan(dataset, IDS, parameters), "duckdb")))
    assert dict(counts.splits) == expected(warehouse, dataset, parameters)
    corpus = warehouse.query(render_split_queries(dataset, IDS, parameters, "duckdb").candidates)
    assert counts.corpus_size == len(corpus) == TINY.products


def test_an_empty_split_counts_zero_and_every_split_empty_still_gives_the_corpus(warehouse, tmp_path):
    csv = tmp_path / "gap.csv"
    csv.write_text("customer_id,product_id,date\n" + "".join(
        f"c{i},p{i % 7},2024-06-{day:02d}\n" for i in range(40) for day in (30, 20)))
    gap = Dataset(name="gap", source=TableSource(kind="file", uri=csv.as_uri()), row_count=80,
                  columns=[Column(name="customer_id", type="string"), Column(name="product_id", type="string"),
                           Column(name="date", type="date")],
                  query_id_column="customer_id", candidate_id_column="product_id", date_column="date")
    windows = StrictTimeSplit(date_column="date", train_days=30, val_days=1, test_days=1)
    counts = split_counts(warehouse.query(render_count_query(
        build_query_plan(gap, IDS, QuickTestParameters(sample_percent=100, split=windows)), "duckdb")))
    assert (counts.split("train").interactions, counts.split("eval"), counts.split("test").interactions) == \
        (40, SplitSize(), 40)
    # one-day train and val windows before the test window hold no rows
    late = StrictTimeSplit(date_column="date", train_days=1, val_days=1, test_days=5)
    nothing = build_query_plan(gap, IDS, QuickTestParameters(sample_percent=100, split=late))
    assert set(split_counts(warehouse.query(render_count_query(nothing, "duckdb"))).splits) == {"test"}
    # a 5 % sample (seed 1) of the last day keeps none of its 40 rows: every split empty
    empty = QuickTestParameters(sample_percent=5, seed=1, split=StrictTimeSplit(
        date_column="date", train_days=1, val_days=1, test_days=1))
    assert not warehouse.query(render_split_queries(gap, IDS, empty, "duckdb").test)
    rows = warehouse.query(render_count_query(build_query_plan(gap, IDS, empty), "duckdb"))
    assert rows == [{"split": None, "interactions": None, "buyers": None, "cold_buyers": None,
                     "cold_buyer_interactions": None, "cold_item_interactions": None, "corpus_size": 7}]
    assert split_counts(rows) == DataCheck(splits={}, corpus_size=7)

