"""The experiments dashboard: summary stats, leaderboard by any metric, heatmap over two axes.

Metrics, their labels and which value is better come from the metric catalogue (``domain.metrics``);
only catalogued final metrics with a direction can rank.

Each view is a pure function of experiment summaries (``repositories.experiment_index``, which the
gateway's dashboard routes read and keep the computed views of until the experiments change).

Only runs of one protocol compare (decision 062): ``in_protocol`` scopes the experiments to one
``RunProtocol.key`` (by default the protocol of the most recent experiment, of the dataset when one
is given) and ``protocol_groups`` lists every protocol as a separate group, so stats, leaderboard and
heatmap never rank runs measured on different data, samples or splits together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean, stdev
from typing import Any

from experiments_platform.domain import metrics
from experiments_platform.domain.metrics import MetricSpec
from experiments_platform.domain.metrics_report import final_metrics
from experiments_platform.domain.names import closest_names
from experiments_platform.domain.protocol import protocol_of
from experiments_platform.domain.status import CANCELLABLE, Status
from experiments_platform.errors import InvalidInput
from experiments_platform.handlers.compare import format_crosses, format_features, format_layers
from experiments_platform.handlers.experiments import check_page, summarize, value_at
from experiments_platform.ports.documents import Doc, DocumentStore
from experiments_platform.repositories.experiment_index import ExperimentIndex

HEADLINE = metrics.PRIMARY_METRIC
LEADERBOARD_METRICS = ("recall_at_10", "recall_at_50", "recall_at_100", "test_loss_per_example")
LEADERBOARD_PARAMETERS = ("sample_percent", "split", "epochs", "batch_size", "learning_rate", "hardware_tier")
LEADERBOARD_AXES = ("embedding_dims", "cross_features", "feature_count", "query_features", "candidate_features",
                    "tower_layers")
"""Configuration axes each leaderboard row carries under ``axes`` (the parallel coordinates' feature-config axes)."""
DEFAULT_X_AXIS, DEFAULT_Y_AXIS = "embedding_dims", "cross_features"
MAX_DEFAULT_AXIS_VALUES = 12
"""An axis with more values than this is a heatmap default only when no other axis varies."""
DOCUMENT_ROOTS = ("parameters", "model_config_snapshot", "feature_config_snapshot", "dataset_snapshot", "results")


def load_experiments(documents: DocumentStore, dataset_id: str | None = None) -> list[Doc]:
    """Every experiment's summary (of one dataset when given), from this process's index."""
    summaries = ExperimentIndex.of(documents).snapshot().documents
    return [d for d in summaries if not dataset_id or d.get("dataset_id") == dataset_id]


@dataclass(frozen=True)
class ProtocolScope:
    """The protocol the dashboard shows (``key`` None when there are no experiments), its experiments,
    and every protocol as a group, newest first."""

    key: str | None
    docs: list[Doc]
    groups: list[dict[str, Any]]

    def to_document(self) -> dict[str, Any]:
        chosen = next((g for g in self.groups if g["key"] == self.key), None)
        return {"protocol": chosen, "protocols": self.groups}


def protocol_groups(docs: Sequence[Doc]) -> list[dict[str, Any]]:
    """One group per protocol: its key, label, dataset, counts and newest experiment time, newest first."""
    groups: dict[str, dict[str, Any]] = {}
    for d in docs:
        protocol = protocol_of(d)
        if protocol is None:
            continue
        group = groups.setdefault(protocol.key, {
            "key": protocol.key, "label": protocol.label, "dataset_id": protocol.dataset_id,
            "dataset_name": protocol.dataset_name, "experiments": 0, "completed": 0, "newest": ""})
        group["experiments"] += 1
        group["completed"] += d.get("status") == Status.COMPLETED.value
        group["newest"] = max(group["newest"], str(d.get("created_at") or ""))
    return sorted(groups.values(), key=lambda g: g["newest"], reverse=True)


def in_protocol(docs: Sequence[Doc], key: str | None = None) -> ProtocolScope:
    """The experiments of protocol ``key`` (default: the newest protocol with a completed run, else the
    newest); ``InvalidInput`` naming ``protocol`` for a key no experiment has."""
    groups = protocol_groups(docs)
    if key is None:
        key = next((g["key"] for g in groups if g["completed"]), groups[0]["key"] if groups else None)
    elif not any(g["key"] == key for g in groups):
        known = [g["key"] for g in groups]
        raise InvalidInput(
            f"protocol: no experiment has protocol {key!r}; use one of the keys GET /api/dashboard/protocols lists"
            + (f" ({', '.join(known[:5])}{', …' if len(known) > 5 else ''})" if known else " (there are none yet)"),
            field="protocol", suggestions=closest_names(key, known))
    kept = [d for d in docs if key is not None and _key_of(d) == key]
    return ProtocolScope(key=key, docs=kept, groups=groups)


def _key_of(doc: Mapping[str, Any]) -> str | None:
    protocol = protocol_of(doc)
    return protocol.key if protocol else None


def _completed(docs: Sequence[Doc]) -> list[Doc]:
    return [d for d in docs if d.get("status") == Status.COMPLETED.value]


def ranking_metric(name: str, field: str = "metric") -> MetricSpec:
    """The catalogue entry of a metric that can rank (a final metric with a direction), else ``InvalidInput``."""
    rankable = {m.name: m for m in metrics.rankable()}
    if name not in rankable:
        raise InvalidInput(
            f"{field}: {name!r} is not a metric that ranks experiments; use one of {', '.join(rankable)}",
            field=field,
            suggestions=closest_names(name, rankable) or [HEADLINE],
        )
    return rankable[name]


def stats(docs: Sequence[Doc], mlflow_url: str | None = None) -> dict[str, Any]:
    """Summary cards: counts by status, best and average recall@100 of the completed experiments."""
    by_status = {s.value: 0 for s in Status}
    for d in docs:
        by_status[d.get("status", "pending")] = by_status.get(d.get("status", "pending"), 0) + 1
    headline = metrics.spec(HEADLINE)
    best: tuple[float, Doc] | None = None
    scored = [(v, d) for d in _completed(docs) if (v := final_metrics(d.get("results")).get(HEADLINE)) is not None]
    for value, doc in scored:
        if best is None or headline.better(value, best[0]):
            best = (value, doc)
    return {
        "total": len(docs),
        "completed": by_status[Status.COMPLETED.value],
        "failed": by_status[Status.FAILED.value],
        "cancelled": by_status[Status.CANCELLED.value],
        "active": sum(by_status[s.value] for s in CANCELLABLE),
        "by_status": by_status,
        "best_recall_at_100": {"value": best[0], "experiment": summarize(best[1])} if best else None,
        "average_recall_at_100": fmean(v for v, _ in scored) if scored else None,
        "mlflow_url": mlflow_url,
    }


def leaderboard(
    docs: Sequence[Doc], metric: str = HEADLINE, order: str = "best", page: int = 1, page_size: int = 50
) -> dict[str, Any]:
    """Completed experiments that have ``metric``, ranked (best first unless ``order`` is asc/desc).

    An item is the row the dashboard draws: names, rank and value, the ``LEADERBOARD_METRICS`` (and
    ``metric``) under ``metrics``, the ``LEADERBOARD_PARAMETERS`` under ``parameters``; everything
    else about an experiment is one ``GET /api/experiments/{id}`` away.
    """
    if order not in ("best", "asc", "desc"):
        raise InvalidInput("order: use best, asc or desc", field="order", suggestions=["best", "asc", "desc"])
    check_page(page, page_size)
    spec = ranking_metric(metric)
    rows = []
    for d in _completed(docs):
        final = final_metrics(d.get("results"))
        if metric in final:
            rows.append((final[metric], final, d))
    descending = order == "desc" or (order == "best" and spec.direction == "higher")
    rows.sort(key=lambda r: (-r[0] if descending else r[0], -(r[2].get("number") or 0)))
    start = (page - 1) * page_size
    shown = (*LEADERBOARD_METRICS, metric)
    items = [
        _leaderboard_item(d, rank, value, {name: final[name] for name in shown if name in final})
        for rank, (value, final, d) in enumerate(rows[start:start + page_size], start=start + 1)
    ]
    return {
        "metric": metric,
        "label": spec.label,
        "direction": spec.direction,
        "columns": list(dict.fromkeys((metric, *LEADERBOARD_METRICS))),
        "items": items,
        "total": len(rows),
        "page": page,
        "page_size": page_size,
    }


def _leaderboard_item(doc: Doc, rank: int, value: float, metrics: dict[str, float]) -> dict[str, Any]:
    parameters = doc.get("parameters") or {}
    return {
        "id": doc["id"],
        "number": doc.get("number"),
        "label": f"Exp #{doc.get('number')}",
        "name": doc.get("name"),
        "status": doc.get("status"),
        "feature_config_name": (doc.get("feature_config_snapshot") or {}).get("name"),
        "model_config_name": (doc.get("model_config_snapshot") or {}).get("name"),
        "rank": rank,
        "value": value,
        "metrics": metrics,
        "parameters": {name: parameters[name] for name in LEADERBOARD_PARAMETERS if name in parameters},
        "axes": {name: _axis_value(AXES[name].value(doc)) for name in LEADERBOARD_AXES},
    }


def _axis_value(value: Any) -> Any:
    """A number as it is (a numeric scale), anything else as the axis' text."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else axis_text(value)


# Axes


def _id_dims(doc: Mapping[str, Any]) -> str:
    snapshot = doc.get("feature_config_snapshot") or {}

    def dim(tower: str) -> str:
        features = snapshot.get(f"{tower}_features") or []
        ids = [f for f in features if f.get("kind") == "id"] or features[:1]
        return str(ids[0].get("embedding_dim", "?")) if ids else "?"

    return f"{dim('query')}/{dim('candidate')}"


def _feature_count(doc: Mapping[str, Any]) -> int:
    snapshot = doc.get("feature_config_snapshot") or {}
    return len(snapshot.get("query_features") or []) + len(snapshot.get("candidate_features") or [])


def _towers(doc: Mapping[str, Any]) -> str:
    model = doc.get("model_config_snapshot") or {}
    query, candidate = model.get("query_tower_layers") or [], model.get("candidate_tower_layers") or []
    return format_layers(query) if query == candidate else f"{format_layers(query)} / {format_layers(candidate)}"


@dataclass(frozen=True)
class Axis:
    name: str
    label: str
    value: Callable[[Mapping[str, Any]], Any]


def _path_axis(name: str, label: str, path: str) -> Axis:
    return Axis(name, label, lambda d: value_at(d, path))


AXES: dict[str, Axis] = {
    a.name: a
    for a in (
        Axis("embedding_dims", "Id embedding dims (buyer/product)", _id_dims),
        Axis("cross_features", "Cross features",
             lambda d: format_crosses((d.get("feature_config_snapshot") or {}).get("cross_features") or [])),
        Axis("feature_count", "Features (buyer + product)", _feature_count),
        Axis("query_features", "Buyer features",
             lambda d: format_features((d.get("feature_config_snapshot") or {}).get("query_features") or [])),
        Axis("candidate_features", "Product features",
             lambda d: format_features((d.get("feature_config_snapshot") or {}).get("candidate_features") or [])),
        _path_axis("epochs", "Epochs", "parameters.epochs"),
        _path_axis("sample_percent", "Data sample %", "parameters.sample_percent"),
        _path_axis("learning_rate", "Learning rate", "parameters.learning_rate"),
        _path_axis("batch_size", "Batch size", "parameters.batch_size"),
        _path_axis("split_strategy", "Split strategy", "parameters.split.strategy"),
        _path_axis("hardware_tier", "Hardware tier", "parameters.hardware_tier"),
        _path_axis("optimizer", "Optimizer", "model_config_snapshot.optimizer"),
        _path_axis("l2_regularization", "L2 regularization", "model_config_snapshot.l2_regularization"),
        Axis("tower_layers", "Tower layers", _towers),
        _path_axis("output_dim", "Output dim", "model_config_snapshot.output_dim"),
        _path_axis("sampling_bias_correction", "Sampling-bias correction",
                   "model_config_snapshot.sampling_bias_correction"),
        _path_axis("feature_config", "Feature config", "feature_config_snapshot.name"),
        _path_axis("model_config", "Model config", "model_config_snapshot.name"),
        _path_axis("dataset", "Dataset", "dataset_snapshot.name"),
    )
}


def axis(name: str, field: str) -> Axis:
    """A named axis, or any dotted path under parameters / a snapshot (``parameters.seed``)."""
    if name in AXES:
        return AXES[name]
    root = name.split(".", 1)[0]
    if root in DOCUMENT_ROOTS and "." in name and re.fullmatch(r"[A-Za-z0-9_.]+", name):
        return _path_axis(name, name, name)
    raise InvalidInput(
        f"{field}: unknown axis {name!r}; use one of {', '.join(AXES)} or a path such as parameters.seed",
        field=field,
        suggestions=closest_names(name, AXES) or ["embedding_dims", "cross_features", "epochs"],
    )


CHOICE_AXES = ("embedding_dims", "cross_features", "query_features", "candidate_features", "epochs",
               "learning_rate", "batch_size", "optimizer", "l2_regularization", "tower_layers", "output_dim",
               "sampling_bias_correction")
"""Axes that are configuration choices (not the protocol, the hardware or a config's name): the heatmap's default
axes and the attribution panel's parameters."""


def axis_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) >= 1 else f"{value:g}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


_NUMBER_RUN = re.compile(r"(\d+(?:\.\d+)?)")


def axis_sort_key(text: str) -> tuple[Any, ...]:
    """Numbers numerically (0.05 < 0.1 < 1), texts naturally (32/32 < 64/32 < 128/64), "none" first."""
    if text == "none":
        return (0, 0.0, ())
    try:
        return (1, float(text), ())
    except ValueError:
        parts = tuple((0, float(p), "") if i % 2 else (1, 0.0, p) for i, p in enumerate(_NUMBER_RUN.split(text)) if p)
        return (2, 0.0, parts)


def distinct_values(docs: Sequence[Doc]) -> dict[str, int]:
    """How many values each axis takes among the completed experiments."""
    completed = _completed(docs)
    return {name: len({axis_text(a.value(d)) for d in completed}) for name, a in AXES.items()}


def default_axes(docs: Sequence[Doc], x_axis: str | None = None, y_axis: str | None = None) -> tuple[str, str]:
    """The heatmap's axes when not given: among the configuration choices (``CHOICE_AXES``),
    X the one with most values among the completed runs (at most ``MAX_DEFAULT_AXIS_VALUES`` preferred), Y the
    one that splits X's columns into most filled cells, then the one with fewer values (a denser table); an
    axis taking one value is never a default while another varies (decision 110). Other ties keep the
    catalogue order (feature config before training)."""
    completed = _completed(docs)
    texts = {name: [axis_text(AXES[name].value(d)) for d in completed] for name in CHOICE_AXES}
    distinct = {name: len(set(values)) for name, values in texts.items()}
    ranked = sorted((n for n in texts if distinct[n] > 1),
                    key=lambda n: (distinct[n] > MAX_DEFAULT_AXIS_VALUES, -distinct[n]))
    fallback = [*ranked, DEFAULT_X_AXIS, DEFAULT_Y_AXIS, "epochs"]
    x = x_axis or next(n for n in fallback if n != y_axis)
    if y_axis:
        return x, y_axis
    partners = [n for n in ranked if n != x]
    if not partners or x not in texts:
        return x, next(n for n in fallback if n != x)
    cells = {n: len(set(zip(texts[x], texts[n], strict=True))) for n in partners}
    order = CHOICE_AXES
    return x, min(partners, key=lambda n: (
        distinct[n] > MAX_DEFAULT_AXIS_VALUES, -cells[n], distinct[n], order.index(n)))


def heatmap(docs: Sequence[Doc], metric: str = HEADLINE, x_axis: str | None = None,
            y_axis: str | None = None) -> dict[str, Any]:
    """Cells of the completed experiments over two axes (``default_axes`` for those not given); a cell holds
    its best value, mean and count."""
    spec = ranking_metric(metric)
    if x_axis is None or y_axis is None:
        x_axis, y_axis = default_axes(docs, x_axis, y_axis)
    x, y = axis(x_axis, "x_axis"), axis(y_axis, "y_axis")
    better = spec.better
    groups: dict[tuple[str, str], list[tuple[float, Doc]]] = {}
    for d in _completed(docs):
        value = final_metrics(d.get("results")).get(metric)
        if value is None:
            continue
        groups.setdefault((axis_text(x.value(d)), axis_text(y.value(d))), []).append((value, d))
    cells = []
    best_cell: dict[str, Any] | None = None
    for (xv, yv), members in groups.items():
        top_value, top_doc = members[0]
        for value, d in members[1:]:
            if better(value, top_value):
                top_value, top_doc = value, d
        cell = {
            "x": xv,
            "y": yv,
            "value": top_value,
            "mean": fmean(v for v, _ in members),
            "std": stdev(v for v, _ in members) if len(members) > 1 else None,
            "count": len(members),
            "experiment_id": top_doc["id"],
            "experiment_number": top_doc.get("number"),
            "experiment_ids": [d["id"] for _, d in members],
        }
        cells.append(cell)
        if best_cell is None or better(top_value, best_cell["value"]):
            best_cell = cell
    x_values = sorted({c["x"] for c in cells}, key=axis_sort_key)
    y_values = sorted({c["y"] for c in cells}, key=axis_sort_key)
    cells.sort(key=lambda c: (y_values.index(c["y"]), x_values.index(c["x"])))
    return {
        "metric": metric,
        "label": spec.label,
        "direction": spec.direction,
        "x_axis": {"name": x_axis, "label": x.label, "values": x_values},
        "y_axis": {"name": y_axis, "label": y.label, "values": y_values},
        "cells": cells,
        "best": best_cell,
    }


def dimensions(docs: Sequence[Doc]) -> dict[str, Any]:
    """The metrics that rank (catalogued, with a direction; not the baselines) present in completed
    results, in catalogue order, the heatmap axes, how many values each takes and the default pair."""
    present = {m for d in _completed(docs) for m in final_metrics(d.get("results"))}
    x, y = default_axes(docs)
    return {
        "metrics": [{"name": m.name, "label": m.label, "direction": m.direction} for m in metrics.rankable(present)],
        "axes": [{"name": a.name, "label": a.label} for a in AXES.values()],
        "distinct": distinct_values(docs),
        "default_axes": {"x_axis": x, "y_axis": y},
    }
