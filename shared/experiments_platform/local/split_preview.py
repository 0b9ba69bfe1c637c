"""Preview the split queries on MovieLens 100k or the synthetic B2B data, and measure them.

``python -m experiments_platform.local.split_preview --dataset movielens --sample 10 --split random [--show-sql]``
prints, per split, the row count, its share of the table, the DuckDB wall time, and whether the
rows are exactly the ones the Python reference hash selects (the same arithmetic BigQuery runs).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any

from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.data.movielens import movielens_dataset
from experiments_platform.data.synthetic_b2b import synthetic_b2b_dataset
from experiments_platform.domain.dataset import Dataset
from experiments_platform.domain.experiment import QuickTestParameters, RandomSplit, StrictTimeSplit, TimeHoldoutSplit
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.sql.dialects import duckdb_table_function
from experiments_platform.sql.hashing import sample_bucket, split_bucket
from experiments_platform.sql.render import render_split_queries


def _ids_only(dataset: Dataset) -> FeatureConfig:
    return FeatureConfig(
        name="ids",
        query_features=[{"kind": "id", "column": dataset.query_id_column}],
        candidate_features=[{"kind": "id", "column": dataset.candidate_id_column}],
    )


def _split(name: str, date_column: str | None) -> Any:
    if name == "random":
        return RandomSplit()
    if date_column is None:
        raise SystemExit(f"--split {name} needs a dataset with a date column")
    if name == "time_holdout":
        return TimeHoldoutSplit(date_column=date_column)
    return StrictTimeSplit(date_column=date_column)


def measure(dataset: Dataset, parameters: QuickTestParameters) -> dict[str, Any]:
    warehouse = DuckDBWarehouse()
    queries = render_split_queries(dataset, _ids_only(dataset), parameters, "duckdb")
    q, c = dataset.query_id_column, dataset.candidate_id_column
    table = warehouse.query(f"SELECT {q} AS q, {c} AS c FROM {duckdb_table_function(dataset.source)}")
    sampled = [r for r in table if sample_bucket(parameters.seed, r["q"], r["c"]) < parameters.sample_percent]
    out: dict[str, Any] = {"rows": len(table), "sampled_rows": len(sampled), "splits": {}}
    seen: set[tuple[Any, Any]] = set()
    for name, sql in queries.by_split().items():
        started = time.perf_counter()
        rows = warehouse.query(sql)
        elapsed = time.perf_counter() - started
        keys = [(r[q], r[c]) for r in rows]
        entry = {"rows": len(rows), "share_of_table": round(len(rows) / max(len(table), 1), 4),
                 "duckdb_s": round(elapsed, 3), "pair_keys_disjoint": not seen.intersection(keys)}
        if isinstance(parameters.split, RandomSplit):
            low, high = {"train": (0, parameters.split.train_percent),
                         "eval": (parameters.split.train_percent,
                                  parameters.split.train_percent + parameters.split.val_percent),
                         "test": (parameters.split.train_percent + parameters.split.val_percent, 100)}[name]
            expected = sorted(
                (r["q"], r["c"]) for r in sampled if low <= split_bucket(parameters.seed, r["q"], r["c"]) < high
            )
            entry["equals_python_reference"] = sorted(keys) == expected
        seen.update(keys)
        out["splits"][name] = entry
    started = time.perf_counter()
    out["candidates"] = len(warehouse.query(queries.candidates))
    out["candidates_duckdb_s"] = round(time.perf_counter() - started, 3)
    out["protocol"] = queries.protocol
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Preview and measure the split queries on a built-in dataset")
    parser.add_argument("--data-dir", default="var")
    parser.add_argument("--dataset", choices=["movielens", "synthetic_b2b"], default="movielens")
    parser.add_argument("--sample", type=int, choices=[5, 10, 25, 100], default=10)
    parser.add_argument("--split", choices=["random", "time_holdout", "strict_time"], default="random")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--show-sql", action="store_true", help="print the DuckDB and BigQuery SQL of the train split")
    args = parser.parse_args(argv)
    dataset = movielens_dataset(args.data_dir) if args.dataset == "movielens" else synthetic_b2b_dataset(args.data_dir)
    parameters = QuickTestParameters(sample_percent=args.sample, seed=args.seed,
                                     split=_split(args.split, dataset.date_column))
    if args.show_sql:
        print(render_split_queries(dataset, _ids_only(dataset), parameters, "duckdb").train)
    print(json.dumps(measure(dataset, parameters), indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
