"""Sweeps: up to three axes over configuration fields, each cell repeated as a seed group (decision 066).

A sweep is a request for the Cartesian product of its axes' values, each cell run ``repeats``
times with different training seeds (same split). A seed group on its own is a sweep without
axes. An axis names one configuration field (``SWEEP_FIELDS``) or a feature to switch on and off
(``feature:<tower>.<column>``, values true/false); ``apply_axis`` changes a copy of the
parameters, model config or feature config accordingly. Every child is an ordinary experiment
(the same launch check and admission) that carries its ``SweepMembership``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from experiments_platform.domain.base import Document, DomainModel
from experiments_platform.domain.noise import MAX_REPEATS

MAX_AXES = 3
MAX_VALUES = 10
MAX_CHILDREN = 64
FEATURE_PREFIX = "feature:"
NO_AXES_CELL = "-"

Target = Literal["parameters", "model", "features"]


@dataclass(frozen=True)
class SweepField:
    name: str
    label: str
    target: Target
    paths: tuple[str, ...]
    """Field names in the target (several: set together, e.g. both towers' layers)."""


SWEEP_FIELDS: dict[str, SweepField] = {f.name: f for f in (
    SweepField("epochs", "Epochs", "parameters", ("epochs",)),
    SweepField("batch_size", "Batch size", "parameters", ("batch_size",)),
    SweepField("learning_rate", "Learning rate", "parameters", ("learning_rate",)),
    SweepField("optimizer", "Optimizer", "model", ("optimizer",)),
    SweepField("output_dim", "Output dim", "model", ("output_dim",)),
    SweepField("activation", "Activation", "model", ("activation",)),
    SweepField("l2_regularization", "L2 regularization", "model", ("l2_regularization",)),
    SweepField("sampling_bias_correction", "Sampling-bias correction", "model", ("sampling_bias_correction",)),
    SweepField("tower_layers", "Tower layers (both)", "model", ("query_tower_layers", "candidate_tower_layers")),
    SweepField("query_tower_layers", "Query tower layers", "model", ("query_tower_layers",)),
    SweepField("candidate_tower_layers", "Candidate tower layers", "model", ("candidate_tower_layers",)),
    SweepField("embedding_dims", "Id embedding dims", "features", ("embedding_dim",)),
)}


class SweepAxis(DomainModel):
    field: str = Field(min_length=1, description=f"one of {', '.join(SWEEP_FIELDS)} or feature:<tower>.<column>")
    values: list[Any] = Field(min_length=2, max_length=MAX_VALUES)

    @model_validator(mode="after")
    def _distinct(self) -> SweepAxis:
        texts = [value_text(v) for v in self.values]
        if len(set(texts)) != len(texts):
            raise ValueError(f"values: listed twice: {sorted({t for t in texts if texts.count(t) > 1})}")
        return self


class SweepRequest(DomainModel):
    name: str = Field(min_length=1, max_length=160)
    description: str = Field(default="", max_length=2000)
    dataset_id: str | None = None
    feature_config_id: str = Field(min_length=1)
    model_config_id: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)
    axes: list[SweepAxis] = Field(default_factory=list, max_length=MAX_AXES)
    repeats: int = Field(default=1, ge=1, le=MAX_REPEATS)

    @model_validator(mode="after")
    def _bounded(self) -> SweepRequest:
        if len({a.field for a in self.axes}) != len(self.axes):
            raise ValueError("axes: each field may be an axis once")
        if not self.axes and self.repeats < 2:
            raise ValueError("repeats: a sweep without axes is a seed group and needs 2 repeats or more")
        children = self.repeats
        for axis in self.axes:
            children *= len(axis.values)
        if children > MAX_CHILDREN:
            raise ValueError(f"axes: {children} experiments (cells × repeats); at most {MAX_CHILDREN}: "
                             "drop values or repeats")
        return self

    def cells(self) -> list[dict[str, Any]]:
        """Every combination of the axes' values (one empty cell without axes)."""
        names = [a.field for a in self.axes]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(a.values for a in self.axes))]


class SweepChild(DomainModel):
    experiment_id: str
    number: int
    cell_key: str
    cell: dict[str, str]
    repeat: int


class SweepEstimate(DomainModel):
    experiments: int
    run_s: float = Field(description="sum of the children's estimated durations")
    wall_s: float = Field(description="run_s spread over the concurrency limit")
    cost_usd: float
    concurrency: int


class Sweep(Document):
    dataset_id: str
    feature_config_id: str
    model_config_id: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    axes: list[SweepAxis] = Field(default_factory=list)
    repeats: int = 1
    children: list[SweepChild] = Field(default_factory=list)
    expected_children: int = 0
    cancel_requested: bool = False
    estimate: SweepEstimate | None = None
    refused: str | None = Field(default=None, description="why a child could not be started (the rest were not)")


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "→".join(str(v) for v in value) or "—"
    return "none" if value is None else str(value)


def cell_key(cell: dict[str, Any]) -> str:
    return ",".join(f"{name}={value_text(value)}" for name, value in cell.items()) or NO_AXES_CELL


def feature_axis(field: str) -> tuple[str, str] | None:
    """``feature:query.age`` → ("query", "age"); None for another field."""
    if not field.startswith(FEATURE_PREFIX):
        return None
    tower, _, column = field[len(FEATURE_PREFIX):].partition(".")
    return (tower, column) if tower in ("query", "candidate") and column else None


def apply_axis(field: str, value: Any, parameters: dict[str, Any], model: dict[str, Any],
               features: dict[str, Any]) -> None:
    """Set ``field`` to ``value`` in the documents it belongs to (changed in place; validated later)."""
    toggle = feature_axis(field)
    if toggle is not None:
        tower, column = toggle
        if not isinstance(value, bool):
            raise ValueError(f"a feature axis takes true or false, got {value!r}")
        if not value:
            key = f"{tower}_features"
            features[key] = [f for f in features.get(key, []) if f.get("column") != column]
            features["cross_features"] = [c for c in features.get("cross_features", [])
                                          if not (c.get("tower") == tower and column in c.get("columns", []))]
        return
    spec = SWEEP_FIELDS[field]
    if spec.target == "parameters":
        parameters[spec.paths[0]] = value
    elif spec.target == "model":
        for path in spec.paths:
            model[path] = value
    else:
        for key in ("query_features", "candidate_features"):
            for feature in features.get(key, []):
                if feature.get("kind") == "id":
                    feature["embedding_dim"] = value
