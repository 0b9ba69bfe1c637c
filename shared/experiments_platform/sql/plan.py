"""The dialect-free query model: which tables, which columns, which sample, which split rules.

``build_query_plan`` validates every name against the dataset's real columns and resolves each
feature column to the table it comes from. Renderers only ever see a validated ``QueryPlan``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from experiments_platform.domain.dataset import ColumnType, Dataset, FeatureTable, TableSource
from experiments_platform.domain.experiment import (
    BuyerTimeSplit,
    QuickTestParameters,
    RandomSplit,
    StrictTimeSplit,
    TimeHoldoutSplit,
)
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.names import IDENTIFIER, unknown_name_message
from experiments_platform.errors import InvalidInput
from experiments_platform.sql.hashing import BUCKETS

SPLITS = ("train", "eval", "test")
Table = Literal["interactions", "buyer", "product"]
KEY_TYPES = frozenset({"string", "integer"})
DATE_TYPES = frozenset({"timestamp", "date"})
_TOWER_SIDE: dict[str, Table] = {"query": "buyer", "candidate": "product"}
_SIDE_LABEL = {"buyer": "buyer features", "product": "product features", "interactions": "interactions"}


@dataclass(frozen=True)
class SelectedColumn:
    table: Table
    name: str
    type: ColumnType


@dataclass(frozen=True)
class DayRange:
    """Rows whose day satisfies ``min_days_ago <= last_day - day < max_days_ago`` (``None``: no upper bound)."""

    min_days_ago: int
    max_days_ago: int | None


@dataclass(frozen=True)
class SplitRule:
    """Rows whose split bucket lies in ``[buckets[0], buckets[1])``, whose day lies in ``days`` and which are
    among their buyer's latest ``latest[1]`` % but not the latest ``latest[0]`` % of interactions (each share of
    a buyer's rows rounded down).

    ``None`` means no condition of that kind.
    """

    buckets: tuple[int, int] | None = None
    days: DayRange | None = None
    latest: tuple[int, int] | None = None


@dataclass(frozen=True)
class QueryPlan:
    interactions: TableSource
    query_id: SelectedColumn
    candidate_id: SelectedColumn
    columns: tuple[SelectedColumn, ...]
    candidate_columns: tuple[SelectedColumn, ...]
    sample_percent: int
    seed: int
    strategy: str
    splits: Mapping[str, SplitRule]
    date_column: SelectedColumn | None = None
    buyer_table: FeatureTable | None = None
    product_table: FeatureTable | None = None
    split_parameters: Mapping[str, Any] = field(default_factory=dict)

    def side_table(self, table: Table) -> FeatureTable | None:
        return self.buyer_table if table == "buyer" else self.product_table if table == "product" else None

    def tables_used(self, columns: tuple[SelectedColumn, ...]) -> set[Table]:
        return {c.table for c in columns}

    def protocol(self) -> dict[str, Any]:
        """What produced the examples, for the UI and the metrics artifact."""
        return {
            "split_strategy": self.strategy,
            **dict(self.split_parameters),
            "sample_percent": self.sample_percent,
            "seed": self.seed,
            "hash_key": [self.query_id.name, self.candidate_id.name],
            "hash": "md5(seed:query_id:candidate_id), hex 1-8 sample bucket, hex 9-16 split bucket, mod 100",
            "corpus": f"every distinct {self.candidate_id.name} of the whole interactions table",
        }


def build_query_plan(dataset: Dataset, feature_config: FeatureConfig, parameters: QuickTestParameters) -> QueryPlan:
    """Validate names and numbers and resolve every selected column to its table.

    Raises ``InvalidInput`` with ``field`` (e.g. ``query_features[1].column``) and the closest real
    names as ``suggestions`` when a configured column does not exist where it is needed.
    """
    tables = _tables(dataset)
    query_id = _key_column(tables, dataset.query_id_column, "dataset.query_id_column")
    candidate_id = _key_column(tables, dataset.candidate_id_column, "dataset.candidate_id_column")
    buyer = _side_table(dataset.buyer_features, "dataset.buyer_features", query_id)
    product = _side_table(dataset.product_features, "dataset.product_features", candidate_id)

    selected: dict[str, SelectedColumn] = {query_id.name: query_id, candidate_id.name: candidate_id}
    candidate_selected: dict[str, SelectedColumn] = {candidate_id.name: candidate_id}
    for tower, features in (("query", feature_config.query_features), ("candidate", feature_config.candidate_features)):
        for i, feature in enumerate(features):
            path = f"{tower}_features[{i}].column"
            if feature.kind == "history":  # a buyer's history of a product column
                column = _resolve(tables, "candidate", feature.column, path, user="a history feature")
            else:
                column = _resolve(tables, tower, feature.column, path)
            previous = selected.get(column.name)
            if previous is not None and previous.table != column.table:
                raise InvalidInput(
                    f"column {column.name!r} exists in both the {_SIDE_LABEL[previous.table]} and the "
                    f"{_SIDE_LABEL[column.table]} table; rename one of them so each output column has one source",
                    field=path,
                )
            selected.setdefault(column.name, column)
            if tower == "candidate":
                candidate_selected.setdefault(column.name, column)

    used = {c.table for c in selected.values()}
    date_column, splits, split_parameters = _splits(tables, parameters)
    return QueryPlan(
        interactions=dataset.source,
        query_id=query_id,
        candidate_id=candidate_id,
        columns=tuple(selected.values()),
        candidate_columns=tuple(candidate_selected.values()),
        sample_percent=_int(parameters.sample_percent, "parameters.sample_percent", 1, 100),
        seed=_int(parameters.seed, "parameters.seed", 0, 2**63 - 1),
        strategy=parameters.split.strategy,
        splits=splits,
        date_column=date_column,
        buyer_table=buyer if "buyer" in used else None,
        product_table=product if "product" in used else None,
        split_parameters=split_parameters,
    )


def _tables(dataset: Dataset) -> dict[Table, dict[str, ColumnType]]:
    tables: dict[Table, dict[str, ColumnType]] = {"interactions": {c.name: c.type for c in dataset.columns}}
    if dataset.buyer_features:
        tables["buyer"] = {c.name: c.type for c in dataset.buyer_features.columns}
    if dataset.product_features:
        tables["product"] = {c.name: c.type for c in dataset.product_features.columns}
    for table, columns in tables.items():
        for name in columns:
            if not IDENTIFIER.match(name):
                raise InvalidInput(
                    f"the {_SIDE_LABEL[table]} table has an invalid column name {name!r}", field="dataset"
                )
    return tables


def _key_column(tables: dict[Table, dict[str, ColumnType]], name: str, path: str) -> SelectedColumn:
    columns = tables["interactions"]
    if name not in columns:
        message, suggestions = unknown_name_message("column", name, columns)
        raise InvalidInput(message, field=path, suggestions=suggestions)
    if columns[name] not in KEY_TYPES:
        raise InvalidInput(
            f"id column {name!r} has type {columns[name]}; ids must be string or integer columns "
            "(their text is hashed identically by DuckDB and BigQuery)",
            field=path,
        )
    return SelectedColumn("interactions", name, columns[name])


def _side_table(table: FeatureTable | None, path: str, key: SelectedColumn) -> FeatureTable | None:
    if table is None:
        return None
    names = {c.name: c.type for c in table.columns}
    if table.join_key not in names:
        message, suggestions = unknown_name_message("join key column", table.join_key, names)
        raise InvalidInput(message, field=f"{path}.join_key", suggestions=suggestions)
    if names[table.join_key] not in KEY_TYPES:
        raise InvalidInput(
            f"join key {table.join_key!r} has type {names[table.join_key]}; it must be string or integer "
            f"to match {key.name!r}",
            field=f"{path}.join_key",
        )
    return table


def _resolve(tables: dict[Table, dict[str, ColumnType]], tower: str, name: str, path: str,
             user: str | None = None) -> SelectedColumn:
    side = _TOWER_SIDE[tower]
    searched: tuple[Table, Table] = ("interactions", side)
    for table in searched:
        columns = tables.get(table, {})
        if name in columns:
            return SelectedColumn(table, name, columns[name])
    allowed = [*tables["interactions"], *tables.get(side, {})]
    message, suggestions = unknown_name_message("column", name, allowed)
    other: Table = "product" if side == "buyer" else "buyer"
    if name in tables.get(other, {}):
        message += (
            f" ({name!r} is in the {_SIDE_LABEL[other]} table; {user or f'the {tower} tower'} can use the interactions "
            f"and {_SIDE_LABEL[side]} tables only)"
        )
    raise InvalidInput(message, field=path, suggestions=suggestions)


def _splits(
    tables: dict[Table, dict[str, ColumnType]], parameters: QuickTestParameters
) -> tuple[SelectedColumn | None, dict[str, SplitRule], dict[str, Any]]:
    split = parameters.split
    if isinstance(split, RandomSplit):
        train = _int(split.train_percent, "parameters.split.train_percent", 1, BUCKETS - 2)
        val = _int(split.val_percent, "parameters.split.val_percent", 1, BUCKETS - 1 - train)
        rules = {
            "train": SplitRule(buckets=(0, train)),
            "eval": SplitRule(buckets=(train, train + val)),
            "test": SplitRule(buckets=(train + val, BUCKETS)),
        }
        return None, rules, {"train_percent": train, "val_percent": val, "test_percent": BUCKETS - train - val}
    date_column = _date_column(tables, split.date_column)
    if isinstance(split, TimeHoldoutSplit):
        holdout = _int(split.holdout_days, "parameters.split.holdout_days", 1, 36500)
        val = _int(split.val_percent, "parameters.split.val_percent", 1, BUCKETS - 1)
        history = split.history_days
        if history is not None:
            history = _int(history, "parameters.split.history_days", 1, 36500)
        before = DayRange(holdout, None if history is None else holdout + history)
        rules = {
            "train": SplitRule(buckets=(val, BUCKETS), days=before),
            "eval": SplitRule(buckets=(0, val), days=before),
            "test": SplitRule(days=DayRange(0, holdout)),
        }
        return date_column, rules, {
            "date_column": date_column.name, "holdout_days": holdout, "history_days": history, "val_percent": val,
        }
    if isinstance(split, BuyerTimeSplit):
        test = _int(split.test_percent, "parameters.split.test_percent", 1, 49)
        val = _int(split.val_percent, "parameters.split.val_percent", 1, 49)
        rules = {
            "train": SplitRule(latest=(test + val, BUCKETS)),
            "eval": SplitRule(latest=(test, test + val)),
            "test": SplitRule(latest=(0, test)),
        }
        return date_column, rules, {
            "date_column": date_column.name, "val_percent": val, "test_percent": test,
            "train_percent": BUCKETS - val - test,
        }
    assert isinstance(split, StrictTimeSplit)
    test = _int(split.test_days, "parameters.split.test_days", 1, 36500)
    val = _int(split.val_days, "parameters.split.val_days", 1, 36500)
    train = _int(split.train_days, "parameters.split.train_days", 1, 36500)
    rules = {
        "train": SplitRule(days=DayRange(test + val, test + val + train)),
        "eval": SplitRule(days=DayRange(test, test + val)),
        "test": SplitRule(days=DayRange(0, test)),
    }
    return date_column, rules, {
        "date_column": date_column.name, "train_days": train, "val_days": val, "test_days": test,
    }


def _date_column(tables: dict[Table, dict[str, ColumnType]], name: str) -> SelectedColumn:
    columns = tables["interactions"]
    path = "parameters.split.date_column"
    if name not in columns:
        message, suggestions = unknown_name_message("column", name, columns)
        raise InvalidInput(message, field=path, suggestions=suggestions)
    if columns[name] not in DATE_TYPES:
        dated = [n for n, t in columns.items() if t in DATE_TYPES]
        raise InvalidInput(
            f"date column {name!r} has type {columns[name]}; time splits need a timestamp or date column"
            + (f" such as {', '.join(repr(d) for d in dated)}" if dated else ""),
            field=path,
            suggestions=dated,
        )
    return SelectedColumn("interactions", name, columns[name])


def _int(value: object, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{value!r} is not a whole number between {low} and {high}", field=path)
    return value
