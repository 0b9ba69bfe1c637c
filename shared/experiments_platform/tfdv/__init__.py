"""TFDV statistics and schemas read without TensorFlow, and a self-contained statistics report page.

Entry points: ``load_statistics`` / ``load_schema`` (artifact URI → JSON-ready models),
``parse_statistics`` / ``parse_schema`` (file bytes → models), ``render_report`` (models → HTML).
"""

from __future__ import annotations

from experiments_platform.tfdv.artifacts import LocalFileReader, load_schema, load_statistics
from experiments_platform.tfdv.report import render_report
from experiments_platform.tfdv.schema import SchemaReport, parse_schema
from experiments_platform.tfdv.statistics import StatisticsReport, parse_statistics

__all__ = [
    "LocalFileReader",
    "SchemaReport",
    "StatisticsReport",
    "load_schema",
    "load_statistics",
    "parse_schema",
    "parse_statistics",
    "render_report",
]
