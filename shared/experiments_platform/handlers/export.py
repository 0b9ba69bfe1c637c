"""CSV export of experiments: one row each, with their configuration, parameters and metrics.

User text that a spreadsheet would run as a formula (a cell starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) is prefixed with ``'`` (OWASP's CSV-injection rule).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from experiments_platform.domain.metrics import display_order
from experiments_platform.domain.metrics_report import final_metrics
from experiments_platform.handlers.compare import format_crosses, format_features, format_layers
from experiments_platform.handlers.experiments import duration_s, value_at

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _text(path: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda d: safe_text(value_at(d, path))


def _value(path: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda d: value_at(d, path)


def _formatted(path: str, formatter: Callable[[Any], str]) -> Callable[[Mapping[str, Any]], Any]:
    """The list at ``path`` (empty when absent) in its display form, as text."""
    return lambda d: safe_text(formatter(value_at(d, path) or []))


COLUMNS: tuple[tuple[str, Callable[[Mapping[str, Any]], Any]], ...] = (
    ("id", _value("id")),
    ("number", _value("number")),
    ("name", _text("name")),
    ("description", _text("description")),
    ("status", _value("status")),
    ("dataset", _text("dataset_snapshot.name")),
    ("dataset_rows", _value("dataset_snapshot.row_count")),
    ("feature_config", _text("feature_config_snapshot.name")),
    ("query_features", _formatted("feature_config_snapshot.query_features", format_features)),
    ("candidate_features", _formatted("feature_config_snapshot.candidate_features", format_features)),
    ("cross_features", _formatted("feature_config_snapshot.cross_features", format_crosses)),
    ("model_config", _text("model_config_snapshot.name")),
    ("query_tower_layers", _formatted("model_config_snapshot.query_tower_layers", format_layers)),
    ("candidate_tower_layers", _formatted("model_config_snapshot.candidate_tower_layers", format_layers)),
    ("optimizer", _value("model_config_snapshot.optimizer")),
    ("l2_regularization", _value("model_config_snapshot.l2_regularization")),
    ("sampling_bias_correction", _value("model_config_snapshot.sampling_bias_correction")),
    ("sample_percent", _value("parameters.sample_percent")),
    ("split_strategy", _value("parameters.split.strategy")),
    ("epochs", _value("parameters.epochs")),
    ("batch_size", _value("parameters.batch_size")),
    ("learning_rate", _value("parameters.learning_rate")),
    ("hardware_tier", _value("parameters.hardware_tier")),
    ("seed", _value("parameters.seed")),
    ("created_at", _value("created_at")),
    ("started_at", _value("started_at")),
    ("finished_at", _value("finished_at")),
    ("duration_s", duration_s),
    ("error_code", _value("error.code")),
)


def experiments_csv(docs: Sequence[Mapping[str, Any]]) -> str:
    """The CSV text: fixed columns, then one column per final metric found in any experiment's results
    (raw values under their catalogue names, in catalogue order)."""
    docs = sorted(docs, key=lambda d: d.get("number") or 0)
    metrics = [final_metrics(d.get("results")) for d in docs]
    metric_names = sorted({name for m in metrics for name in m}, key=display_order)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name for name, _ in COLUMNS] + metric_names)
    for doc, values in zip(docs, metrics, strict=True):
        row = [getter(doc) for _, getter in COLUMNS]
        writer.writerow(["" if v is None else v for v in row] + [values.get(n, "") for n in metric_names])
    return out.getvalue()
