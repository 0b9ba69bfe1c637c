"""The launch check's count query: per split, what the quick test would see, in one cheap scan.

``render_count_query(plan, dialect)`` renders, from the same query model as the split queries
(sample, split rules, hash), one query that returns a row per non-empty split with its
interactions, distinct buyers, and how many of its interactions have a buyer or an item that
never occurs in the training split (the ids the model learns no embedding for), plus the size
of the candidate corpus (every distinct candidate id of the whole table). It reads only the id
and date columns, so it costs a fraction of the split queries (BigQuery bills by column).
``split_counts(rows)`` reads its answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from experiments_platform.domain.launch import DataCheck, SplitSize
from experiments_platform.ports.warehouse import Dialect
from experiments_platform.sql.dialects import dialect_for
from experiments_platform.sql.plan import SPLITS, QueryPlan
from experiments_platform.sql.render import (
    column_ref,
    keyed_ctes,
    ranked_cte,
    ranks_buyers,
    sample_conditions,
    split_conditions,
)

COUNT_COLUMNS = ("interactions", "buyers", "cold_buyers", "cold_buyer_interactions", "cold_item_interactions")


def render_count_query(plan: QueryPlan, dialect: Dialect) -> str:
    """One query answering ``split``, the ``COUNT_COLUMNS`` and ``corpus_size``: a row per non-empty split,
    or one row with ``split`` NULL when every split is empty."""
    sql = dialect_for(dialect)
    with_day = any(rule.days is not None for rule in plan.splits.values())
    select = [f"{column_ref(sql, plan.query_id)} AS qt_query_id",
              f"{column_ref(sql, plan.candidate_id)} AS qt_candidate_id"]
    ctes = keyed_ctes(sql, plan, select, with_day, set())
    cases = "\n      ".join(
        f"WHEN {' AND '.join(split_conditions(sql, plan.splits[name])) or 'TRUE'} THEN {sql.string(name)}"
        for name in SPLITS
    )
    source = "keyed CROSS JOIN bounds" if with_day else "keyed"
    sample = sample_conditions(sql, plan)
    if ranks_buyers(plan):  # the sample is taken before each buyer's rows are ranked
        ctes.append(ranked_cte(sql, plan, source, "qt_query_id"))
        source, sample = "ranked", []
    ctes.append(
        "labelled AS (\n  SELECT qt_query_id, qt_candidate_id,\n    CASE\n      " + cases + "\n    END AS qt_split"
        + f"\n  FROM {source}"
        + (f"\n  WHERE {' AND '.join(sample)}" if sample else "") + "\n)"
    )
    train = sql.string("train")
    ctes.append(f"train_buyers AS (\n  SELECT DISTINCT qt_query_id FROM labelled WHERE qt_split = {train}\n)")
    ctes.append(f"train_items AS (\n  SELECT DISTINCT qt_candidate_id FROM labelled WHERE qt_split = {train}\n)")
    interactions = sql.table(plan.interactions, "dataset.source.uri")
    candidate = column_ref(sql, plan.candidate_id)
    ctes.append(
        f"corpus AS (\n  SELECT 1 AS qt_one, COUNT(DISTINCT {candidate}) AS qt_corpus_size\n  FROM {interactions} AS i"
        f"\n  WHERE {candidate} IS NOT NULL\n)"
    )
    ctes.append(
        "per_split AS (\n  SELECT\n    1 AS qt_one,\n    l.qt_split AS qt_split,\n"
        "    COUNT(*) AS interactions,\n"
        "    COUNT(DISTINCT l.qt_query_id) AS buyers,\n"
        "    COUNT(DISTINCT CASE WHEN b.qt_query_id IS NULL THEN l.qt_query_id END) AS cold_buyers,\n"
        "    SUM(CASE WHEN b.qt_query_id IS NULL THEN 1 ELSE 0 END) AS cold_buyer_interactions,\n"
        "    SUM(CASE WHEN p.qt_candidate_id IS NULL THEN 1 ELSE 0 END) AS cold_item_interactions\n"
        "  FROM labelled AS l\n"
        "  LEFT JOIN train_buyers AS b ON l.qt_query_id = b.qt_query_id\n"
        "  LEFT JOIN train_items AS p ON l.qt_candidate_id = p.qt_candidate_id\n"
        "  WHERE l.qt_split IS NOT NULL\n"
        "  GROUP BY l.qt_split\n)"
    )
    counts = ", ".join(f"s.{name}" for name in COUNT_COLUMNS)
    return (
        "WITH " + ",\n".join(ctes)
        + f"\nSELECT s.qt_split AS split, {counts}, c.qt_corpus_size AS corpus_size\n"
        "FROM corpus AS c\nLEFT JOIN per_split AS s ON s.qt_one = c.qt_one\nORDER BY s.qt_split\n"
    )


def split_counts(rows: Iterable[Mapping[str, Any]]) -> DataCheck:
    """The count query's rows as a ``DataCheck`` (a split without a row has no rows)."""
    splits: dict[str, SplitSize] = {}
    corpus = 0
    for row in rows:
        corpus = int(row["corpus_size"] or 0)
        if row["split"] is not None:
            splits[str(row["split"])] = SplitSize(**{name: int(row[name] or 0) for name in COUNT_COLUMNS})
    return DataCheck(splits=splits, corpus_size=corpus)
