"""Sweeps and seed groups: estimate, start, view (the grid filling live), cancel (decisions 065, 066).

``start_sweep`` validates every cell before anything is stored (an axis value a config refuses is a
400 naming ``axes[i].values[j]``), stores the derived configs a cell needs (deterministic ids, so a
second sweep over the same value reuses them), then starts each child through
``experiments.start_experiment`` (the launch check and the admission queue every experiment goes
through) and records its ``SweepMembership``. Repeat r of a cell trains with ``training_seed =
seed + r``: same split, different initialisation and shuffling.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from pydantic import ValidationError

from experiments_platform.domain import metrics
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.dataset import Column, TableSource
from experiments_platform.domain.experiment import Experiment, SweepMembership
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.metrics_report import final_metrics
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.names import closest_names
from experiments_platform.domain.noise import spread
from experiments_platform.domain.status import CANCELLABLE, Status
from experiments_platform.domain.sweep import (
    SWEEP_FIELDS,
    Sweep,
    SweepChild,
    SweepEstimate,
    SweepRequest,
    apply_axis,
    cell_key,
    feature_axis,
    value_text,
)
from experiments_platform.errors import Conflict, InvalidInput, PlatformError
from experiments_platform.handlers import configs, experiments
from experiments_platform.handlers.dashboard import ranking_metric
from experiments_platform.handlers.experiments import Estimator, Launcher, PreparedExperiment
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.bus import EventBus
from experiments_platform.ports.documents import Doc, DocumentStore
from experiments_platform.ports.warehouse import Warehouse
from experiments_platform.repositories.experiments import ExperimentRepository
from experiments_platform.repositories.sweeps import SweepRepository

log = get_logger(__name__)

ENDED = (Status.COMPLETED.value, Status.FAILED.value, Status.CANCELLED.value)


class _OnceWarehouse:
    """The launcher's warehouse for the children of one sweep request: each distinct ``describe`` and
    count query runs once (the children share the dataset and split; each child's rules still run)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self._warehouse = warehouse
        self.dialect = warehouse.dialect
        self._described: dict[str, tuple[list[Column], int]] = {}
        self._answers: dict[str, list[dict[str, Any]]] = {}

    def describe(self, source: TableSource) -> tuple[list[Column], int]:
        key = source.model_dump_json()
        if key not in self._described:
            self._described[key] = self._warehouse.describe(source)
        columns, rows = self._described[key]
        return list(columns), rows

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        key = json.dumps([sql, parameters], sort_keys=True, default=str)
        if key not in self._answers:
            self._answers[key] = self._warehouse.query(sql, parameters)
        return [dict(row) for row in self._answers[key]]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._warehouse, name)


class _Cell:
    def __init__(self, cell: dict[str, Any], payload: dict[str, Any], model: ModelConfig | None,
                 features: FeatureConfig | None) -> None:
        self.cell = cell
        self.key = cell_key(cell)
        self.texts = {name: value_text(value) for name, value in cell.items()}
        self.payload = payload
        self.model = model
        self.features = features


def _request(payload: Any) -> SweepRequest:
    request = configs.validated(SweepRequest, payload)
    for i, axis in enumerate(request.axes):
        toggle = feature_axis(axis.field)
        if axis.field not in SWEEP_FIELDS and toggle is None:
            known = [*SWEEP_FIELDS, "feature:<tower>.<column>"]
            raise InvalidInput(f"axes[{i}].field: unknown field {axis.field!r}; use one of {', '.join(known)}",
                               field=f"axes[{i}].field", suggestions=closest_names(axis.field, SWEEP_FIELDS))
    return request


def _derived_id(base_id: str, changes: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(changes, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{base_id}--sweep-{digest}"[:256]


def _check_values(request: SweepRequest, base: PreparedExperiment) -> None:
    """Each axis value on its own against the base configuration: a value no config accepts is refused
    naming ``axes[i].values[j]``."""
    for i, axis in enumerate(request.axes):
        for j, value in enumerate(axis.values):
            field = f"axes[{i}].values[{j}]"
            parameters = copy.deepcopy(request.parameters)
            model, features = base.model.to_document(), base.feature_config.to_document()
            try:
                apply_axis(axis.field, value, parameters, model, features)
                ModelConfig.model_validate(model)
                FeatureConfig.model_validate(features)
                experiments._parameters(parameters, base.dataset, base.model)
            except ValidationError as exc:
                raise InvalidInput(f"{field}: {axis.field} = {value!r}: {configs.invalid_input(exc).message}",
                                   field=field) from exc
            except (InvalidInput, ValueError) as exc:
                message = exc.message if isinstance(exc, InvalidInput) else str(exc)
                raise InvalidInput(f"{field}: {axis.field} = {value!r}: {message}", field=field) from exc


def _plan(documents: DocumentStore, request: SweepRequest, base: PreparedExperiment) -> list[_Cell]:
    """Each cell's start payload and the derived configs it needs, validated, nothing stored."""
    _check_values(request, base)
    cells = []
    base_model = base.model.to_document()
    base_features = base.feature_config.to_document()
    for cell in request.cells():
        parameters = copy.deepcopy(request.parameters)
        model, features = copy.deepcopy(base_model), copy.deepcopy(base_features)
        for axis in request.axes:
            apply_axis(axis.field, cell[axis.field], parameters, model, features)
        texts = ", ".join(f"{k}={value_text(v)}" for k, v in cell.items())
        derived_model = derived_features = None
        model_id, feature_id = base.model.id, base.feature_config.id
        try:
            if model != base_model:
                changes = {k: v for k, v in model.items() if base_model.get(k) != v}
                model_id = _derived_id(base.model.id, changes)
                model.update(id=model_id, name=f"{base.model.name} [{texts}]"[:200])
                derived_model = ModelConfig.model_validate(model)
            if features != base_features:
                feature_id = _derived_id(base.feature_config.id, {"features": features})
                features.update(id=feature_id, name=f"{base.feature_config.name} [{texts}]"[:200])
                derived_features = FeatureConfig.model_validate(features)
        except ValidationError as exc:
            raise InvalidInput(f"axes: the cell {texts} makes an invalid config: "
                               f"{configs.invalid_input(exc).message}", field="axes") from exc
        payload = {"name": f"{request.name} · {texts}" if texts else request.name,
                   "description": request.description, "dataset_id": base.dataset.id,
                   "feature_config_id": feature_id, "model_config_id": model_id, "parameters": parameters}
        try:
            experiments._parameters(parameters, base.dataset, derived_model or base.model)
        except InvalidInput as exc:
            raise InvalidInput(f"axes: the cell {texts}: {exc.message}", field=exc.field or "axes") from exc
        cells.append(_Cell(cell, payload, derived_model, derived_features))
    return cells


def _store_derived(documents: DocumentStore, cells: Sequence[_Cell]) -> None:
    for cell in cells:
        for kind, config in ((configs.MODEL_CONFIGS, cell.model), (configs.FEATURE_CONFIGS, cell.features)):
            if config is not None and configs.get_or_none(documents, kind.collection, config.id) is None:
                documents.set(kind.collection, config.id, config.to_document())


def _base(documents: DocumentStore, request: SweepRequest) -> PreparedExperiment:
    return experiments.prepare(documents, {
        "name": request.name, "description": request.description, "dataset_id": request.dataset_id,
        "feature_config_id": request.feature_config_id, "model_config_id": request.model_config_id,
        "parameters": request.parameters})


def _child_payloads(request: SweepRequest, base: PreparedExperiment, cells: Sequence[_Cell]
                    ) -> list[tuple[_Cell, int, dict[str, Any]]]:
    children = []
    for cell in cells:
        for repeat in range(request.repeats):
            payload = copy.deepcopy(cell.payload)
            if request.repeats > 1:
                payload["parameters"]["training_seed"] = base.parameters.seed + repeat
                payload["name"] = f"{payload['name']} · seed {repeat + 1}/{request.repeats}"[:200]
            children.append((cell, repeat, payload))
    return children


def estimate_sweep(documents: DocumentStore, payload: Any, estimator: Estimator, concurrency: int = 1
                   ) -> dict[str, Any]:
    """Time and cost of the whole sweep before launch: every child's estimate, spread over the run slots."""
    request = _request(payload)
    base = _base(documents, request)
    cells = _plan(documents, request, base)
    run_s = cost = 0.0
    per_cell = []
    for cell in cells:
        model = cell.model or base.model
        features = cell.features or base.feature_config
        parameters = experiments._parameters(cell.payload["parameters"], base.dataset, model)
        estimate = estimator(base.dataset, features, model, parameters)
        run_s += estimate.duration_s * request.repeats
        cost += estimate.cost_usd * request.repeats
        per_cell.append({"cell": cell.texts, "duration_s": estimate.duration_s, "cost_usd": estimate.cost_usd})
    total = SweepEstimate(experiments=len(cells) * request.repeats, run_s=run_s,
                          wall_s=run_s / max(1, concurrency), cost_usd=cost, concurrency=max(1, concurrency))
    return {**total.to_document(), "cells": per_cell}


def start_sweep(documents: DocumentStore, bus: EventBus, payload: Any, launcher: Launcher,
                estimator: Estimator | None = None, concurrency: int = 1,
                make_room: Callable[[int], None] | None = None) -> Doc:
    """Validate every cell, store the sweep, start every child experiment (queued behind the run slots).

    ``make_room(n)`` (the gateway: ``admission.refuse_when_full``) refuses the whole sweep before
    anything is stored when its ``n`` children would wait past the queue's bound."""
    request = _request(payload)
    base = _base(documents, request)
    cells = _plan(documents, request, base)
    launcher = dataclasses.replace(launcher, warehouse=cast(Warehouse, _OnceWarehouse(launcher.warehouse)))
    launcher.check(base)  # the split refusals apply to every cell alike: refuse before storing anything
    estimate = None
    if estimator is not None:
        estimate = SweepEstimate.model_validate(
            {k: v for k, v in estimate_sweep(documents, payload, estimator, concurrency).items() if k != "cells"})
    children = _child_payloads(request, base, cells)
    if make_room is not None:
        make_room(len(children))
    sweep = SweepRepository(documents).create(Sweep(
        name=request.name, description=request.description, dataset_id=base.dataset.id,
        feature_config_id=base.feature_config.id, model_config_id=base.model.id, parameters=request.parameters,
        axes=request.axes, repeats=request.repeats, expected_children=len(children), estimate=estimate))
    _store_derived(documents, cells)
    repository = SweepRepository(documents)
    for cell, repeat, child_payload in children:
        if repository.get(sweep.id).cancel_requested:
            break
        try:
            doc = experiments.start_experiment(documents, bus, child_payload, launcher, estimator)
        except PlatformError as exc:  # a refusal at launch, or the admission queue full (429)
            repository.update(sweep.id, _refuse(exc.message))
            raise
        membership = SweepMembership(sweep_id=sweep.id, cell_key=cell.key, cell=cell.texts, repeat=repeat,
                                     repeats=request.repeats)
        ExperimentRepository(documents).update(doc["id"], _join(membership))
        child = SweepChild(experiment_id=doc["id"], number=doc["number"], cell_key=cell.key, cell=cell.texts,
                           repeat=repeat)
        repository.update(sweep.id, _append(child))
    log.info("sweep started", extra=fields(sweep_id=sweep.id, experiments=len(children)))
    return sweep_view(documents, sweep.id)


def _join(membership: SweepMembership) -> Callable[[Experiment], bool]:
    def change(experiment: Experiment) -> bool:
        experiment.sweep = membership
        return True

    return change


def _append(child: SweepChild) -> Callable[[Sweep], None]:
    def change(sweep: Sweep) -> None:
        sweep.children.append(child)

    return change


def _refuse(message: str) -> Callable[[Sweep], None]:
    def change(sweep: Sweep) -> None:
        sweep.refused = message

    return change


def _cancel(sweep: Sweep) -> None:
    sweep.cancel_requested = True


def cancel_sweep(documents: DocumentStore, bus: EventBus, sweep_id: str) -> Doc:
    """Stop creating children and cancel every child not yet ended (queued ones never start)."""
    repository = SweepRepository(documents)
    sweep = repository.get(sweep_id)
    repository.update(sweep_id, _cancel)
    cancellable = {s.value for s in CANCELLABLE}
    for child in sweep.children:
        doc = documents.get("experiments", child.experiment_id) or {}
        if doc.get("status") in cancellable:
            with contextlib.suppress(Conflict):  # ended meanwhile
                experiments.cancel_experiment(documents, bus, child.experiment_id)
    log.info("sweep cancel requested", extra=fields(sweep_id=sweep_id))
    return sweep_view(documents, sweep_id)


def sweep_view(documents: DocumentStore, sweep_id: str, metric: str = metrics.PRIMARY_METRIC) -> Doc:
    """The sweep, its status and its grid: per cell the children's statuses and the metric's mean ± std."""
    spec = ranking_metric(metric)
    sweep = SweepRepository(documents).get(sweep_id, "sweep_id")
    docs = {c.experiment_id: documents.get("experiments", c.experiment_id) or {} for c in sweep.children}
    cells: dict[str, dict[str, Any]] = {}
    for child in sweep.children:
        doc = docs[child.experiment_id]
        cell = cells.setdefault(child.cell_key, {"key": child.cell_key, "cell": child.cell, "experiments": [],
                                                 "statuses": {}, "values": []})
        status = doc.get("status", "pending")
        cell["statuses"][status] = cell["statuses"].get(status, 0) + 1
        value = final_metrics(doc.get("results")).get(metric) if status == Status.COMPLETED.value else None
        cell["experiments"].append({"id": child.experiment_id, "number": child.number, "repeat": child.repeat,
                                    "status": status, "value": value})
        if value is not None:
            cell["values"].append(value)
    for cell in cells.values():
        s = spread(cell.pop("values"))
        cell["spread"] = s.to_document() if s else None
        cell["done"] = sum(n for st, n in cell["statuses"].items() if st in ENDED)
    ended = sum(1 for d in docs.values() if d.get("status") in ENDED)
    expected = len(sweep.children) if sweep.cancel_requested or sweep.refused else sweep.expected_children
    status = ("cancelled" if sweep.cancel_requested and ended == len(docs) else
              "completed" if ended == expected and len(docs) == expected else "running")
    best = None
    for cell in cells.values():
        s = cell["spread"]
        if s and (best is None or spec.better(s["mean"], best["mean"])):
            best = {"key": cell["key"], "mean": s["mean"]}
    axes = [{"field": a.field, "label": SWEEP_FIELDS[a.field].label if a.field in SWEEP_FIELDS else a.field,
             "values": [value_text(v) for v in a.values]} for a in sweep.axes]
    return {**sweep.to_document(), "status": status, "metric": metric, "metric_label": spec.label,
            "direction": spec.direction, "grid_axes": axes, "cells": list(cells.values()), "best_cell": best,
            "ended": ended, "started_at": sweep.created_at.isoformat(), "now": utcnow().isoformat()}


def list_sweeps(documents: DocumentStore) -> dict[str, Any]:
    sweeps = sorted(SweepRepository(documents).all(), key=lambda s: s.created_at, reverse=True)
    items = [{"id": s.id, "name": s.name, "axes": [a.field for a in s.axes], "repeats": s.repeats,
              "experiments": len(s.children), "expected": s.expected_children,
              "cancel_requested": s.cancel_requested, "created_at": s.to_document()["created_at"]} for s in sweeps]
    return {"items": items, "total": len(items)}
