"""Sampling and split SQL for the quick-test pipeline: one query model, rendered for DuckDB and BigQuery.

``render_split_queries(dataset, feature_config, parameters, dialect)`` is the entry point; it
returns one query per split (``train``, ``eval``, ``test``) and a ``candidates`` query holding the
full candidate corpus.
"""

from __future__ import annotations

from experiments_platform.sql.hashing import sample_bucket, split_bucket
from experiments_platform.sql.plan import SPLITS, DayRange, QueryPlan, SelectedColumn, SplitRule, build_query_plan
from experiments_platform.sql.render import SplitQueries, render_plan, render_split_queries

__all__ = [
    "SPLITS",
    "DayRange",
    "QueryPlan",
    "SelectedColumn",
    "SplitQueries",
    "SplitRule",
    "build_query_plan",
    "render_plan",
    "render_split_queries",
    "sample_bucket",
    "split_bucket",
]
