"""Render a ``QueryPlan`` as SQL text for one dialect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from experiments_platform.domain.dataset import Dataset
from experiments_platform.domain.experiment import QuickTestParameters
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.errors import InvalidInput
from experiments_platform.ports.warehouse import Dialect
from experiments_platform.sql.dialects import SqlDialect, checked_int, dialect_for
from experiments_platform.sql.hashing import BUCKETS, SAMPLE_HEX, SEPARATOR, SPLIT_HEX
from experiments_platform.sql.plan import SPLITS, QueryPlan, SelectedColumn, SplitRule, Table, build_query_plan

OutputType = Literal["string", "integer", "float"]
OUTPUT_TYPES: dict[str, OutputType] = {
    "string": "string", "integer": "integer", "boolean": "integer", "float": "float",
    "timestamp": "integer", "date": "integer",
}
ALIASES: dict[Table, str] = {"interactions": "i", "buyer": "b", "product": "p"}
DAYS_AGO = "qt_days_ago"
"""Output column of time splits' queries: days between the row's day and the table's latest day (the
interaction time the recent-popularity baseline needs, ``pipeline.recent_popularity``)."""
INTERNAL_COLUMNS = frozenset({"qt_digest", "qt_day", "qt_last_day", "qt_time", "qt_position", "qt_buyer_rows",
                              DAYS_AGO})
_KEY_FIELDS: dict[Table, str] = {"buyer": "dataset.buyer_features", "product": "dataset.product_features"}


@dataclass(frozen=True)
class SplitQueries:
    """Self-contained queries (no parameters) for one dialect.

    ``train``, ``eval`` and ``test`` select ``columns`` (the two id columns first, then every
    feature column, then, in time splits, ``qt_days_ago``) for the rows of that split; ``candidates``
    selects ``candidate_columns`` once per distinct candidate id of the whole interactions table.
    Output types are the three that TFX ExampleGen converts (``column_types``): strings stay strings,
    integers and booleans (0/1) become 64-bit integers, floats 64-bit floats, timestamps and dates
    whole seconds since 1970-01-01 UTC.
    """

    dialect: Dialect
    train: str
    eval: str
    test: str
    candidates: str
    columns: tuple[str, ...]
    candidate_columns: tuple[str, ...]
    column_types: dict[str, OutputType]
    protocol: dict[str, Any]

    def by_split(self) -> dict[str, str]:
        return {"train": self.train, "eval": self.eval, "test": self.test}


def render_split_queries(
    dataset: Dataset, feature_config: FeatureConfig, parameters: QuickTestParameters, dialect: Dialect
) -> SplitQueries:
    """Validate the configs against the dataset and render the split and candidate queries."""
    return render_plan(build_query_plan(dataset, feature_config, parameters), dialect)


def render_plan(plan: QueryPlan, dialect: Dialect) -> SplitQueries:
    sql = dialect_for(dialect)
    clashing = sorted(INTERNAL_COLUMNS.intersection(c.name for c in plan.columns))
    if clashing:
        raise InvalidInput(
            f"column name(s) {clashing} are reserved by the query generator; rename them", field="dataset"
        )
    splits = {name: _split_query(sql, plan, plan.splits[name]) for name in SPLITS}
    dated = plan.date_column is not None
    return SplitQueries(
        dialect=sql.name,
        train=splits["train"],
        eval=splits["eval"],
        test=splits["test"],
        candidates=_candidates_query(sql, plan),
        columns=(*(c.name for c in plan.columns), *((DAYS_AGO,) if dated else ())),
        candidate_columns=tuple(c.name for c in plan.candidate_columns),
        column_types={**{c.name: OUTPUT_TYPES[c.type] for c in plan.columns},
                      **({DAYS_AGO: "integer"} if dated else {})},
        protocol={"dialect": sql.name, **plan.protocol()},
    )


def column_ref(sql: SqlDialect, column: SelectedColumn) -> str:
    return f"{ALIASES[column.table]}.{sql.identifier(column.name)}"


def _output(sql: SqlDialect, column: SelectedColumn, expression: str) -> str:
    """``expression`` converted to the column's output type, aliased to the column's name."""
    if column.type in ("timestamp", "date"):
        expression = sql.epoch_seconds(expression)
    elif column.type in ("integer", "boolean"):
        expression = sql.to_int(expression)
    elif column.type == "float":
        expression = sql.to_float(expression)
    return f"{expression} AS {sql.identifier(column.name)}"


def _joins(sql: SqlDialect, plan: QueryPlan, tables: set[Table], left_alias: str) -> list[str]:
    lines = []
    sides: tuple[tuple[Table, SelectedColumn], ...] = (("buyer", plan.query_id), ("product", plan.candidate_id))
    for table, key in sides:
        side = plan.side_table(table)
        if table not in tables or side is None:
            continue
        alias = ALIASES[table]
        side_key_type = next(c.type for c in side.columns if c.name == side.join_key)
        left = f"{left_alias}.{sql.identifier(key.name)}"
        right = f"{alias}.{sql.identifier(side.join_key)}"
        if side_key_type != key.type:
            left, right = sql.text(left), sql.text(right)
        source = sql.table(side.source, f"{_KEY_FIELDS[table]}.source.uri")
        lines.append(f"LEFT JOIN {source} AS {alias} ON {left} = {right}")
    return lines


def digest(sql: SqlDialect, plan: QueryPlan) -> str:
    """The MD5 hex digest of ``seed:query_id:candidate_id`` (decision 010), as an expression over ``i``."""
    key = sql.concat(
        sql.string(checked_int(plan.seed)),
        sql.string(SEPARATOR),
        sql.text(column_ref(sql, plan.query_id)),
        sql.string(SEPARATOR),
        sql.text(column_ref(sql, plan.candidate_id)),
    )
    return sql.md5_hex(key)


def _bucket(sql: SqlDialect, window: tuple[int, int]) -> str:
    return sql.mod(sql.hex_to_int("qt_digest", *window), BUCKETS)


def keyed_ctes(sql: SqlDialect, plan: QueryPlan, select: list[str], with_day: bool, tables: set[Table]) -> list[str]:
    """``keyed`` (the non-null-id rows of the interactions with ``select``, ``qt_digest`` and, with
    ``with_day``, ``qt_day``, and ``qt_time`` (the date column) when a split ranks each buyer's rows in time;
    joined to ``tables``) and, with ``with_day``, ``bounds`` (``qt_last_day``, the latest day of the whole
    table)."""
    interactions = sql.table(plan.interactions, "dataset.source.uri")
    select = [*select, f"{digest(sql, plan)} AS qt_digest"]
    ctes = []
    if ranks_buyers(plan):
        assert plan.date_column is not None
        select.append(f"{column_ref(sql, plan.date_column)} AS qt_time")
    if with_day:
        assert plan.date_column is not None
        select.append(f"CAST({column_ref(sql, plan.date_column)} AS DATE) AS qt_day")
        last_day = f"MAX(CAST({sql.identifier(plan.date_column.name)} AS DATE))"
        ctes.append(f"bounds AS (\n  SELECT {last_day} AS qt_last_day\n  FROM {interactions}\n)")
    lines = [
        "  SELECT",
        "    " + ",\n    ".join(select),
        f"  FROM {interactions} AS i",
        *("  " + j for j in _joins(sql, plan, tables, "i")),
        f"  WHERE {column_ref(sql, plan.query_id)} IS NOT NULL AND {column_ref(sql, plan.candidate_id)} IS NOT NULL",
    ]
    return ["keyed AS (\n" + "\n".join(lines) + "\n)", *ctes]


def ranks_buyers(plan: QueryPlan) -> bool:
    """Whether a split rule takes each buyer's latest rows (the ``ranked`` CTE)."""
    return any(rule.latest is not None for rule in plan.splits.values())


def ranked_cte(sql: SqlDialect, plan: QueryPlan, source: str, buyer: str) -> str:
    """``ranked``: the sampled rows of ``source`` (which has ``buyer``, ``qt_time`` and ``qt_digest``) with
    ``qt_position``, the row's place among its buyer's sampled rows, latest first, from 1 (ties broken by the
    hash), and ``qt_buyer_rows``, how many the buyer has."""
    sample = sample_conditions(sql, plan)
    return (f"ranked AS (\n  SELECT *,\n    ROW_NUMBER() OVER (PARTITION BY {buyer} ORDER BY qt_time DESC, qt_digest)"
            f" AS qt_position,\n    COUNT(*) OVER (PARTITION BY {buyer}) AS qt_buyer_rows\n  FROM {source}"
            + (f"\n  WHERE {' AND '.join(sample)}" if sample else "") + "\n)")


def sample_conditions(sql: SqlDialect, plan: QueryPlan) -> list[str]:
    """The sample's condition over ``qt_digest`` (none at 100 %)."""
    if plan.sample_percent < BUCKETS:
        return [f"{_bucket(sql, SAMPLE_HEX)} < {checked_int(plan.sample_percent)}"]
    return []


def split_conditions(sql: SqlDialect, rule: SplitRule) -> list[str]:
    """A split rule's conditions over ``qt_digest`` and ``qt_day`` / ``qt_last_day``."""
    conditions = []
    if rule.buckets is not None:
        low, high = rule.buckets
        split = _bucket(sql, SPLIT_HEX)
        if low > 0:
            conditions.append(f"{split} >= {checked_int(low)}")
        if high < BUCKETS:
            conditions.append(f"{split} < {checked_int(high)}")
    if rule.days is not None:
        days_ago = sql.days_between("qt_last_day", "qt_day")
        conditions.append(f"{days_ago} >= {checked_int(rule.days.min_days_ago)}")
        if rule.days.max_days_ago is not None:
            conditions.append(f"{days_ago} < {checked_int(rule.days.max_days_ago)}")
    if rule.latest is not None:  # the first floor(rows × percent / 100) of a buyer's rows, latest first
        low, high = rule.latest
        if low > 0:
            conditions.append(f"qt_position * {BUCKETS} > qt_buyer_rows * {checked_int(low)}")
        if high < BUCKETS:
            conditions.append(f"qt_position * {BUCKETS} <= qt_buyer_rows * {checked_int(high)}")
    return conditions


def _split_query(sql: SqlDialect, plan: QueryPlan, rule: SplitRule) -> str:
    select = [_output(sql, c, column_ref(sql, c)) for c in plan.columns]
    dated = plan.date_column is not None
    ctes = keyed_ctes(sql, plan, select, dated, plan.tables_used(plan.columns))
    source = "keyed CROSS JOIN bounds" if dated else "keyed"
    if ranks_buyers(plan):
        ctes.append(ranked_cte(sql, plan, source, sql.identifier(plan.query_id.name)))
        source, conditions = "ranked", split_conditions(sql, rule)
    else:
        conditions = [*sample_conditions(sql, plan), *split_conditions(sql, rule)]
    outputs = ", ".join(sql.identifier(c.name) for c in plan.columns)
    if dated:
        outputs += f", {sql.to_int(sql.days_between('qt_last_day', 'qt_day'))} AS {DAYS_AGO}"
    where = ("\nWHERE " + "\n  AND ".join(conditions)) if conditions else ""
    return "WITH " + ",\n".join(ctes) + f"\nSELECT {outputs}\nFROM {source}{where}\n"


def _candidates_query(sql: SqlDialect, plan: QueryPlan) -> str:
    interactions = sql.table(plan.interactions, "dataset.source.uri")
    candidate = plan.candidate_id
    from_interactions = [c for c in plan.candidate_columns if c.table == "interactions" and c != candidate]
    from_side = [c for c in plan.candidate_columns if c.table == "product"]
    corpus_select = [_output(sql, candidate, column_ref(sql, candidate))]
    corpus_select += [_output(sql, c, f"MAX({column_ref(sql, c)})") for c in from_interactions]
    corpus = (
        "WITH corpus AS (\n  SELECT\n    " + ",\n    ".join(corpus_select)
        + f"\n  FROM {interactions} AS i"
        + f"\n  WHERE {column_ref(sql, candidate)} IS NOT NULL"
        + f"\n  GROUP BY {column_ref(sql, candidate)}\n)"
    )
    outputs = [
        _output(sql, c, column_ref(sql, c)) if c.table == "product" else f"c.{sql.identifier(c.name)}"
        for c in plan.candidate_columns
    ]
    joins = _joins(sql, plan, {"product"} if from_side else set(), "c")
    body = f"\nSELECT {', '.join(outputs)}\nFROM corpus AS c"
    if joins:
        body += "\n" + "\n".join(joins)
    return corpus + body + f"\nORDER BY c.{sql.identifier(candidate.name)}\n"
