"""A full training's card has a seventh stage, Push (TFX Pusher and the Registrar, decision 075)."""

from __future__ import annotations

from datetime import datetime, timezone

from experiments_platform.domain import lifecycle
from experiments_platform.domain.full_training import FullTrainingParameters
from experiments_platform.domain.status import COMPONENT_STAGES, STAGE_ORDER, Stage, StageStatus, stage_order
from experiments_platform.events.google_events import stage_of_task
from experiments_platform.events.messages import PipelineTaskStateChanged
from integration.lifecycle_support import make_experiment

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
JOB = "projects/p/locations/r/pipelineJobs/qt-e1-20260101120000"


def test_push_is_a_stage_of_full_trainings_only():
    assert stage_order("quick_test") == STAGE_ORDER and Stage.PUSH not in STAGE_ORDER
    assert stage_order("full_training") == (*STAGE_ORDER, Stage.PUSH)
    assert COMPONENT_STAGES["Pusher"] is COMPONENT_STAGES["Registrar"] is Stage.PUSH
    assert stage_of_task("Pusher") is Stage.PUSH and stage_of_task("Registrar") is Stage.PUSH
    quick = make_experiment("file:///tiny.csv", id="e1")
    full = make_experiment("file:///tiny.csv", id="e1", full_training=FullTrainingParameters())
    assert quick.run_kind == "quick_test" and list(quick.stages) == list(STAGE_ORDER)
    assert full.run_kind == "full_training" and list(full.stages) == [*STAGE_ORDER, Stage.PUSH]
    assert list(type(full).model_validate(full.to_document()).stages) == [*STAGE_ORDER, Stage.PUSH]


def _running(**values):
    subject = make_experiment("file:///tiny.csv", id="e1", **values)
    assert lifecycle.admitted(subject, NOW) and lifecycle.build_started(subject, "b1", NOW)
    lifecycle.job_adopted(subject, JOB, NOW)
    lifecycle.pipeline_started(subject, JOB, NOW)
    assert subject.status.value == "running"
    return subject


def _task(name, state):
    return PipelineTaskStateChanged(experiment_id="e1", job_name=JOB, task_name=name, stage=stage_of_task(name),
                                    state=state)


def test_the_pusher_moves_push_and_a_cancel_in_push_cancels_it():
    full = _running(full_training=FullTrainingParameters())
    assert lifecycle.apply_task(full, _task("Pusher", "RUNNING"), NOW)
    assert full.stages[Stage.PUSH].status is StageStatus.RUNNING
    assert lifecycle.cancelled(full, NOW)
    assert full.stages[Stage.PUSH].status is StageStatus.CANCELLED


def test_a_quick_test_ignores_a_push_event_and_fails_in_push_name_the_stage():
    quick = _running()
    assert not lifecycle.apply_task(quick, _task("Pusher", "RUNNING"), NOW)
    assert Stage.PUSH not in quick.stages
    full = _running(full_training=FullTrainingParameters())
    lifecycle.apply_task(full, _task("Registrar", "RUNNING"), NOW)
    assert lifecycle.failed_stage(full) is Stage.PUSH


def test_the_spec_of_a_full_training_carries_its_block_and_registry_without_the_caller_passing_them():
    from experiments_platform.domain.pipeline_spec import SplitQueries, build_spec

    queries = SplitQueries(dialect="duckdb", train="SELECT 1", eval="SELECT 1", test="SELECT 1", candidates="SELECT 1")
    roots = {"pipeline_root": "file:///p", "artifacts_root": "file:///a", "mlflow_tracking_uri": "http://m"}
    full = make_experiment("file:///tiny.csv", id="e1", full_training=FullTrainingParameters(max_epochs=5))
    spec = build_spec(full, queries, **roots)
    assert spec.run_kind == "full_training" and spec.full_training == full.full_training
    assert spec.registry is not None and spec.registry.uri == "file:///a/registry/ds1"
    assert spec.mlflow.experiment_name.startswith("full-training/")
    quick = build_spec(make_experiment("file:///tiny.csv", id="e2"), queries, **roots)
    assert quick.run_kind == "quick_test" and quick.full_training is None and quick.registry is None
