"""Every legal and illegal experiment status transition, and the stage status rules."""

from __future__ import annotations

import itertools

import pytest
from experiments_platform.domain.status import (
    ACTIVE,
    CANCELLABLE,
    COMPONENT_STAGES,
    HOLDS_SLOT,
    STAGE_ORDER,
    WAITING,
    IllegalTransition,
    Stage,
    StageStatus,
    Status,
    can_transition,
    stage_can_move,
    transition,
)

S = Status
LEGAL = {
    (S.PENDING, S.QUEUED), (S.PENDING, S.SUBMITTING), (S.PENDING, S.FAILED), (S.PENDING, S.CANCELLED),
    (S.QUEUED, S.SUBMITTING), (S.QUEUED, S.FAILED), (S.QUEUED, S.CANCELLED),
    (S.SUBMITTING, S.RUNNING), (S.SUBMITTING, S.FAILED), (S.SUBMITTING, S.CANCELLED),
    (S.RUNNING, S.COMPLETED), (S.RUNNING, S.FAILED), (S.RUNNING, S.CANCELLED),
}
ALL_PAIRS = list(itertools.product(Status, Status))
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in LEGAL]


def test_the_table_covers_every_pair() -> None:
    assert len(ALL_PAIRS) == 49
    assert len(ILLEGAL) == 36


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL), ids=lambda s: s.value)
def test_legal_transition(current: Status, target: Status) -> None:
    assert can_transition(current, target)
    assert transition(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=lambda s: s.value)
def test_illegal_transition(current: Status, target: Status) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition) as raised:
        transition(current, target)
    assert raised.value.current is current
    assert raised.value.target is target
    assert str(raised.value) == f"illegal status transition {current.value} → {target.value}"


def test_status_never_moves_backwards_or_stays() -> None:
    order = [S.PENDING, S.QUEUED, S.SUBMITTING, S.RUNNING]
    for earlier, later in itertools.combinations(order, 2):
        assert not can_transition(later, earlier)
    assert not any(can_transition(s, s) for s in Status)


def test_terminal_states_are_final() -> None:
    assert {s for s in Status if s.terminal} == {S.COMPLETED, S.FAILED, S.CANCELLED}
    for terminal in (S.COMPLETED, S.FAILED, S.CANCELLED):
        assert not any(can_transition(terminal, target) for target in Status)


def test_cancellable_is_every_non_terminal_status() -> None:
    assert {S.PENDING, S.QUEUED, S.SUBMITTING, S.RUNNING} == CANCELLABLE == ACTIVE
    assert all(can_transition(s, S.CANCELLED) for s in CANCELLABLE)
    assert WAITING | HOLDS_SLOT == ACTIVE and not WAITING & HOLDS_SLOT


def test_statuses_serialize_as_their_names() -> None:
    assert [s.value for s in Status] == ["pending", "queued", "submitting", "running", "completed", "failed",
                                         "cancelled"]
    assert Status("running") is S.RUNNING


STAGE_LEGAL = {
    (StageStatus.PENDING, StageStatus.RUNNING),
    (StageStatus.PENDING, StageStatus.SUCCEEDED),
    (StageStatus.PENDING, StageStatus.FAILED),
    (StageStatus.PENDING, StageStatus.CANCELLED),
    (StageStatus.RUNNING, StageStatus.SUCCEEDED),
    (StageStatus.RUNNING, StageStatus.FAILED),
    (StageStatus.RUNNING, StageStatus.CANCELLED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(StageStatus, StageStatus)),
                         ids=lambda s: s.value)
def test_stage_status_moves_forward_only(current: StageStatus, target: StageStatus) -> None:
    assert stage_can_move(current, target) is ((current, target) in STAGE_LEGAL)


def test_stages_in_pipeline_order() -> None:
    assert [s.value for s in STAGE_ORDER] == ["compile", "examples", "stats", "schema", "transform", "train"]


def test_component_stages() -> None:
    assert COMPONENT_STAGES["Compile"] is Stage.COMPILE
    assert {COMPONENT_STAGES[c] for c in ("ExampleGen", "BigQueryExampleGen", "CsvExampleGen")} == {Stage.EXAMPLES}
    assert COMPONENT_STAGES["StatisticsGen"] is Stage.STATS
    assert COMPONENT_STAGES["SchemaGen"] is Stage.SCHEMA
    assert COMPONENT_STAGES["Transform"] is Stage.TRANSFORM
    assert COMPONENT_STAGES["Trainer"] is Stage.TRAIN
    assert set(COMPONENT_STAGES.values()) == set(Stage)
