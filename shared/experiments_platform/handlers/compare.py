"""Side-by-side comparison of 2 to 5 experiments.

Sections: Results, Training parameters, Sampling, Dataset, Feature config, Model config. Each row
holds the raw values (one per experiment, in request order), their display strings
(``user_id(64d), city(16d)``, crosses ``user_id×city(16d)``, towers ``256→128→64``), whether all
are identical (≡) or not (≠), and for metrics the index(es) of the best value (★).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from experiments_platform.domain import metrics
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.features import CrossFeature, Feature
from experiments_platform.domain.metrics import ABSENT, duration_text
from experiments_platform.domain.metrics_report import final_metrics
from experiments_platform.domain.noise import spread
from experiments_platform.domain.protocol import split_summary
from experiments_platform.errors import InvalidInput
from experiments_platform.handlers.experiments import duration_s, get_experiment, summarize
from experiments_platform.ports.documents import DocumentStore
from experiments_platform.repositories.experiment_index import ExperimentIndex

MIN_EXPERIMENTS = 2
MAX_EXPERIMENTS = 5


def _as_dict(item: Any) -> Mapping[str, Any]:
    return item.to_document() if hasattr(item, "to_document") else item


def format_feature(feature: Feature | Mapping[str, Any]) -> str:
    """``user_id(64d)``; numeric ``age(norm)`` or ``price(10b, 8d)``; ``day(time, 8d)``; ``title(text, 16d)``;
    ``category(history, 32v)``."""
    f = _as_dict(feature)
    column, kind, dim = f.get("column"), f.get("kind"), f.get("embedding_dim")
    if kind in ("id", "categorical"):
        return f"{column}({dim}d)"
    if kind == "numeric":
        if f.get("transform", "normalize") == "normalize":
            return f"{column}(norm)"
        return f"{column}({f.get('buckets')}b, {dim}d)"
    if kind == "timestamp":
        return f"{column}(time, {dim}d)"
    if kind == "history":
        return f"{column}(history, {f.get('max_values', 32)}v)"
    return f"{column}(text, {dim}d)"


def format_features(features: Sequence[Feature | Mapping[str, Any]]) -> str:
    return ", ".join(format_feature(f) for f in features) or "none"


def format_cross(cross: CrossFeature | Mapping[str, Any]) -> str:
    c = _as_dict(cross)
    return "×".join(c.get("columns") or []) + f"({c.get('embedding_dim')}d)"


def format_crosses(crosses: Sequence[CrossFeature | Mapping[str, Any]], tower: str | None = None) -> str:
    chosen = [c for c in map(_as_dict, crosses) if tower is None or c.get("tower") == tower]
    return ", ".join(format_cross(c) for c in chosen) or "none"


def format_layers(layers: Sequence[int]) -> str:
    return "→".join(str(n) for n in layers) or "none"


def format_count(n: int) -> str:
    """1234 → 1,234; 1200000 → 1.2M."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    if n >= 100_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


def format_duration(seconds: float | None) -> str:
    return ABSENT if seconds is None else duration_text(seconds)


def format_cost(value: float | None) -> str:
    return ABSENT if value is None else f"${value:.2f}"


def _display(value: Any) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def best_indexes(values: Sequence[float | None], direction: str | None) -> list[int]:
    """Indexes holding the best value; empty without a direction or when there is nothing to choose between."""
    present = [v for v in values if v is not None]
    if direction not in ("higher", "lower") or not present or (len(present) == len(values) and len(set(present)) == 1):
        return []
    best = max(present) if direction == "higher" else min(present)
    return [i for i, v in enumerate(values) if v == best]


def row(
    key: str,
    label: str,
    values: Sequence[Any],
    display: Callable[[Any], str] = _display,
    direction: str | None = None,
) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "values": list(values),
        "display": [display(v) for v in values],
        "identical": all(v == values[0] for v in values),
        "direction": direction,
        "best": best_indexes(values, direction) if direction else [],
    }


def _seed_group_row(experiments: Sequence[Experiment], documents: DocumentStore) -> list[dict[str, Any]]:
    """The primary metric's mean ± std over each experiment's seed group (decision 065), when one has a group."""
    groups = [e.sweep.seed_group if e.sweep and e.sweep.repeats > 1 else None for e in experiments]
    if not any(groups):
        return []
    values: dict[str, list[float]] = {}
    for d in ExperimentIndex.of(documents).snapshot().documents:
        membership = d.get("sweep") or {}
        value = final_metrics(d.get("results")).get(metrics.PRIMARY_METRIC)
        if d.get("status") == "completed" and value is not None and int(membership.get("repeats") or 1) > 1:
            values.setdefault(f"{membership.get('sweep_id')}/{membership.get('cell_key')}", []).append(value)
    metric = metrics.spec(metrics.PRIMARY_METRIC)

    def display(s: Mapping[str, Any] | None) -> str:
        if not s:
            return ABSENT
        std = s.get("std")
        band = "" if std is None else f" ± {std * 100:.{metric.digits}f} pp" if metric.is_rate \
            else f" ± {metric.display(std)}"
        return f"{metric.display(s['mean'])}{band} (n={s['n']})"

    spreads: list[dict[str, Any] | None] = []
    for group in groups:
        s = spread(values.get(group, [])) if group else None
        spreads.append(s.to_document() if s else None)
    return [row("seed_group", f"{metric.label} over its seed group", spreads, display)]


def _results_rows(experiments: Sequence[Experiment], docs: Sequence[Mapping[str, Any]],
                  documents: DocumentStore) -> list[dict[str, Any]]:
    finals = [final_metrics(e.results) for e in experiments]
    rows = [row("status", "Status", [e.status.value for e in experiments])]
    for name in sorted({name for final in finals for name in final}, key=metrics.display_order):
        metric = metrics.spec(name)
        rows.append(row(name, metric.label, [final.get(name) for final in finals], metric.display, metric.direction))
    rows += _seed_group_row(experiments, documents)
    rows.append(row("duration_s", "Duration", [duration_s(d) for d in docs], format_duration))
    estimates = [e.estimate.cost_usd if e.estimate else None for e in experiments]
    if any(v is not None for v in estimates):
        rows.append(row("estimated_cost_usd", "Estimated cost", estimates, format_cost))
    errors = [e.error.title if e.error else None for e in experiments]
    if any(errors):
        rows.append(row("error", "Error", errors))
    return rows


def _training_rows(experiments: Sequence[Experiment]) -> list[dict[str, Any]]:
    p = [e.parameters for e in experiments]
    return [
        row("epochs", "Epochs", [x.epochs for x in p]),
        row("batch_size", "Batch size", [x.batch_size for x in p]),
        row("learning_rate", "Learning rate", [x.learning_rate for x in p]),
        row("optimizer", "Optimizer", [e.model_config_snapshot.optimizer for e in experiments]),
        row("hardware_tier", "Hardware tier", [x.hardware_tier for x in p]),
        row("seed", "Seed", [x.seed for x in p]),
        row("training_seed", "Training seed", [x.trainer_seed for x in p]),
    ]


def _sampling_rows(experiments: Sequence[Experiment]) -> list[dict[str, Any]]:
    return [
        row("sample_percent", "Data sample", [e.parameters.sample_percent for e in experiments], lambda v: f"{v}%"),
        row("split_strategy", "Split strategy", [e.parameters.split.strategy for e in experiments]),
        row("split", "Split", [split_summary(e.parameters.split) for e in experiments]),
    ]


def _dataset_rows(experiments: Sequence[Experiment]) -> list[dict[str, Any]]:
    d = [e.dataset_snapshot for e in experiments]
    return [
        row("dataset_name", "Name", [x.name for x in d]),
        row("row_count", "Rows", [x.row_count for x in d], format_count),
        row("source", "Source", [x.source.uri for x in d]),
        row("query_id_column", "Buyer id column", [x.query_id_column for x in d]),
        row("candidate_id_column", "Product id column", [x.candidate_id_column for x in d]),
        row("date_column", "Date column", [x.date_column for x in d]),
    ]


def _feature_rows(experiments: Sequence[Experiment]) -> list[dict[str, Any]]:
    f = [e.feature_config_snapshot for e in experiments]
    return [
        row("feature_config_name", "Name", [x.name for x in f]),
        row("buyer_features", "Buyer features", [format_features(x.query_features) for x in f]),
        row("product_features", "Product features", [format_features(x.candidate_features) for x in f]),
        row("buyer_crosses", "Buyer crosses", [format_crosses(x.cross_features, "query") for x in f]),
        row("product_crosses", "Product crosses", [format_crosses(x.cross_features, "candidate") for x in f]),
    ]


def _model_rows(experiments: Sequence[Experiment]) -> list[dict[str, Any]]:
    m = [e.model_config_snapshot for e in experiments]
    return [
        row("model_config_name", "Name", [x.name for x in m]),
        row("query_tower_layers", "Buyer tower", [format_layers(x.query_tower_layers) for x in m]),
        row("candidate_tower_layers", "Product tower", [format_layers(x.candidate_tower_layers) for x in m]),
        row("output_dim", "Output dim", [x.output_dim for x in m], lambda v: "last layer" if v is None else str(v)),
        row("activation", "Activation", [x.activation for x in m]),
        row("l2_regularization", "L2 regularization", [x.l2_regularization for x in m]),
        row("sampling_bias_correction", "Sampling-bias correction", [x.sampling_bias_correction for x in m]),
    ]


def compare_experiments(documents: DocumentStore, experiment_ids: Any) -> dict[str, Any]:
    """The comparison of 2 to 5 distinct experiments, in the order given."""
    field = "experiment_ids"
    if not isinstance(experiment_ids, list) or not all(isinstance(i, str) for i in experiment_ids):
        raise InvalidInput(f"{field}: expected a list of experiment ids", field=field)
    if len(set(experiment_ids)) != len(experiment_ids):
        raise InvalidInput(f"{field}: each experiment can be chosen once", field=field)
    if not MIN_EXPERIMENTS <= len(experiment_ids) <= MAX_EXPERIMENTS:
        raise InvalidInput(
            f"{field}: choose {MIN_EXPERIMENTS} to {MAX_EXPERIMENTS} experiments (got {len(experiment_ids)})",
            field=field,
        )
    docs = [get_experiment(documents, experiment_id, field=f"{field}[{i}]")
            for i, experiment_id in enumerate(experiment_ids)]
    experiments = [Experiment.model_validate(d) for d in docs]
    sections = [
        ("results", "Results", _results_rows(experiments, docs, documents)),
        ("training", "Training parameters", _training_rows(experiments)),
        ("sampling", "Sampling", _sampling_rows(experiments)),
        ("dataset", "Dataset", _dataset_rows(experiments)),
        ("feature_config", "Feature config", _feature_rows(experiments)),
        ("model_config", "Model config", _model_rows(experiments)),
    ]
    return {
        "experiments": [summarize(d) for d in docs],
        "sections": [{"key": k, "title": t, "rows": rows} for k, t, rows in sections],
    }
