"""The experiment status machine and the pipeline stages.

Status only moves forward. ``transition`` is a pure check; stores apply it inside a
transaction so that a stale or duplicate event can never move an experiment backwards.

An experiment is created ``pending``; admission (``domain.admission``, decision 052) either
admits it at once (``submitting``: it holds one of the deployment's run slots) or puts it in the
queue (``queued``) until a slot frees. Only ``submitting`` and ``running`` experiments hold a slot.
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    PENDING = "pending"
    QUEUED = "queued"
    SUBMITTING = "submitting"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.QUEUED, Status.SUBMITTING, Status.FAILED, Status.CANCELLED}),
    Status.QUEUED: frozenset({Status.SUBMITTING, Status.FAILED, Status.CANCELLED}),
    Status.SUBMITTING: frozenset({Status.RUNNING, Status.FAILED, Status.CANCELLED}),
    Status.RUNNING: frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED}),
    Status.COMPLETED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
}

CANCELLABLE = frozenset({Status.PENDING, Status.QUEUED, Status.SUBMITTING, Status.RUNNING})
ACTIVE = frozenset(s for s in Status if s not in TERMINAL)
WAITING = frozenset({Status.PENDING, Status.QUEUED})
"""Not admitted yet: no run slot, no compute; a cancel ends them at once."""
HOLDS_SLOT = frozenset({Status.SUBMITTING, Status.RUNNING})
"""Admitted: counted against the deployment's concurrency limit until they end."""


class IllegalTransition(Exception):
    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(f"illegal status transition {current.value} → {target.value}")
        self.current = current
        self.target = target


def can_transition(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def transition(current: Status, target: Status) -> Status:
    if not can_transition(current, target):
        raise IllegalTransition(current, target)
    return target


class Stage(str, Enum):
    """The stages shown on an experiment card, in pipeline order: six for every run, and Push
    (TFX Pusher and the Registrar) for a full training (decision 075)."""

    COMPILE = "compile"
    EXAMPLES = "examples"
    STATS = "stats"
    SCHEMA = "schema"
    TRANSFORM = "transform"
    TRAIN = "train"
    PUSH = "push"


STAGE_ORDER: tuple[Stage, ...] = (Stage.COMPILE, Stage.EXAMPLES, Stage.STATS, Stage.SCHEMA, Stage.TRANSFORM,
                                  Stage.TRAIN)
"""The six stages of a quick test (and the first six of a full training)."""
FULL_TRAINING_STAGE_ORDER: tuple[Stage, ...] = (*STAGE_ORDER, Stage.PUSH)


def stage_order(run_kind: str) -> tuple[Stage, ...]:
    """The stages of a run of this kind (``quick_test`` or ``full_training``)."""
    return FULL_TRAINING_STAGE_ORDER if run_kind == "full_training" else STAGE_ORDER

STAGE_LABELS = {
    Stage.COMPILE: "Compile",
    Stage.EXAMPLES: "Examples",
    Stage.STATS: "Stats",
    Stage.SCHEMA: "Schema",
    Stage.TRANSFORM: "Transform",
    Stage.TRAIN: "Train",
    Stage.PUSH: "Push",
}

# TFX component ids of the pipeline (and Vertex task names) mapped to stages.
COMPONENT_STAGES = {
    "Compile": Stage.COMPILE,
    "ExampleGen": Stage.EXAMPLES,
    "BigQueryExampleGen": Stage.EXAMPLES,
    "CsvExampleGen": Stage.EXAMPLES,
    "ImportExampleGen": Stage.EXAMPLES,
    "StatisticsGen": Stage.STATS,
    "SchemaGen": Stage.SCHEMA,
    "Transform": Stage.TRANSFORM,
    "Trainer": Stage.TRAIN,
    "Evaluator": Stage.TRAIN,
    "Pusher": Stage.PUSH,
    "Registrar": Stage.PUSH,
}


class StageStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def rank(self) -> int:
        return _STAGE_RANK[self]


_STAGE_RANK = {
    StageStatus.PENDING: 0,
    StageStatus.RUNNING: 1,
    StageStatus.SUCCEEDED: 2,
    StageStatus.FAILED: 2,
    StageStatus.CANCELLED: 2,
}


def stage_can_move(current: StageStatus, target: StageStatus) -> bool:
    """Stage statuses move forward only: pending → running → one terminal state."""
    return target.rank > current.rank
