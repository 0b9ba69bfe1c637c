"""The local quick-test path end to end on a MovieLens 100k sample: build → LocalDagRunner → metrics.

Real subprocesses of the pipeline environment, real TFX, a real MLflow server. The events the
runners publish are parsed with the status watcher's own parser (``google_events.to_message``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from experiments_platform.adapters.local_builds import LocalBuildService
from experiments_platform.adapters.local_pipelines import LocalPipelineService
from experiments_platform.config import Settings
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.noise import HITS_FILE, BuyerHits
from experiments_platform.domain.pipeline_spec import QuickTestSpec
from experiments_platform.events.google_events import job_id_of
from experiments_platform.events.messages import (
    BuildFinished,
    PipelineJobStateChanged,
    PipelineTaskStateChanged,
    Topics,
)
from fakes import RecordingBus
from mlflow import MlflowClient

from .factories import example_rows, rows_read
from .factories import sample_spec as make_spec

pytestmark = pytest.mark.e2e
COMPONENTS = ["ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator"]
DATA_STAGES = ["ExampleGen", "StatisticsGen", "SchemaGen", "Transform"]


@pytest.fixture(scope="module")
def runners(movielens_dir: Path):
    bus = RecordingBus()
    settings = Settings(data_dir=movielens_dir, tfx_python=sys.executable)
    pipelines = LocalPipelineService(settings, bus)
    yield bus, pipelines, LocalBuildService(settings, bus, pipelines)
    pipelines.close()


def run_quick_test(runners, spec: QuickTestSpec) -> str:
    bus, pipelines, builds = runners
    build_id = builds.start(spec.experiment_id, spec.artifacts.spec)
    assert builds.wait(build_id, timeout=300) == "SUCCESS", builds.logs_root / spec.experiment_id / "Compile.log"
    job = builds.result(build_id).pipeline_job_name
    assert pipelines.wait(job, timeout=900) == "PIPELINE_STATE_SUCCEEDED", pipelines.logs_root / spec.experiment_id
    return job


def local_path(uri: str) -> Path:
    assert uri.startswith("file:///"), f"artifacts.json holds URIs: {uri}"
    return Path(uri.removeprefix("file://"))


def task_states(bus: RecordingBus, experiment_id: str) -> list[tuple[str, str]]:
    return [(m.task_name, m.state) for m in bus.typed(Topics.PIPELINE_STATE)
            if isinstance(m, PipelineTaskStateChanged) and m.experiment_id == experiment_id]


def test_quick_test_end_to_end(runners, movielens_dir, wheel_cache, mlflow_server):
    bus = runners[0]
    model = ModelConfig(name="towers", query_tower_layers=[32], candidate_tower_layers=[32], l2_regularization=1e-5)
    spec = make_spec(movielens_dir, wheel_cache, mlflow_server, "e2erich1", model)
    job = run_quick_test(runners, spec)

    builds = [m for m in bus.typed(Topics.BUILDS) if isinstance(m, BuildFinished)]
    assert [b.status for b in builds] == ["WORKING", "SUCCESS"] and builds[-1].pipeline_job_name == job
    states = task_states(bus, "e2erich1")
    assert states == [(c, s) for c in COMPONENTS for s in ("RUNNING", "SUCCEEDED")]
    jobs = [m.state for m in bus.typed(Topics.PIPELINE_STATE) if isinstance(m, PipelineJobStateChanged)]
    assert jobs[0] == "PIPELINE_STATE_RUNNING" and jobs[-1] == "PIPELINE_STATE_SUCCEEDED"

    experiment_dir = movielens_dir / "artifacts" / "experiments" / "e2erich1"
    artifacts = json.loads((experiment_dir / "artifacts.json").read_text())
    assert list(artifacts) == COMPONENTS
    examples = local_path(artifacts["ExampleGen"]["examples"][0])
    for split in ("train", "eval", "test"):
        assert list((examples / f"Split-{split}").glob("*.gz")), split
        assert (local_path(artifacts["StatisticsGen"]["statistics"][0]) / f"Split-{split}" / "FeatureStats.pb").exists()
    assert (local_path(artifacts["SchemaGen"]["schema"][0]) / "schema.pbtxt").exists()
    assert (local_path(artifacts["Transform"]["transform_graph"][0]) / "transform_fn" / "saved_model.pb").exists()
    assert (local_path(artifacts["Trainer"]["model"][0]) / "Format-Serving" / "candidate_embeddings.npz").exists()
    assert (local_path(artifacts["Evaluator"]["evaluation"][0]) / "metrics.json").exists()
    for component in ["Compile", *COMPONENTS]:
        assert (movielens_dir / "logs" / "e2erich1" / f"{component}.log").stat().st_size > 0, component
    # Issue 15: the trainer logs the rows it read of each split (the Pipeline tab: "Read 4,280 training rows")
    assert rows_read(movielens_dir / "logs" / "e2erich1" / "Trainer.log") == [
        {"split": split, "rows": example_rows(examples / f"Split-{split}")} for split in ("train", "eval", "test")]

    metrics = json.loads((experiment_dir / "metrics.json").read_text())
    corpus = metrics["protocol"]["corpus_size"]
    assert 1000 < corpus <= 1682, "every item the 50 sampled users rated"
    random_recall = 100 / corpus
    assert metrics["final"]["recall_at_100"] > 2 * random_recall, metrics["final"]
    assert len(metrics["history"]) == 3 and metrics["history"][0]["regularization_loss"] > 0
    hits = BuyerHits.model_validate_json((experiment_dir / HITS_FILE).read_text())  # decision 065
    assert hits.recall("all_items", 100) == pytest.approx(metrics["final"]["recall_at_100"])
    assert len(hits.buyers) <= 50
    assert set(metrics["vocabularies"]) == {"query.user_id", "query.occupation", "query.gender",
                                            "candidate.item_id", "candidate.title", "candidate.genres"}
    assert metrics["vocabularies"]["query.user_id"]["vocab_size"] == 50
    client = MlflowClient(mlflow_server)
    run = client.get_run(metrics["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == [1, 2, 3]
    assert run.data.metrics["recall_at_100"] == pytest.approx(metrics["final"]["recall_at_100"])
    assert run.data.params["sampling_bias_correction"] == "True"


def test_model_only_change_reuses_cached_data_stages(runners, movielens_dir, wheel_cache, mlflow_server):
    model = ModelConfig(name="other towers", query_tower_layers=[16], candidate_tower_layers=[16],
                        sampling_bias_correction=False)
    spec = make_spec(movielens_dir, wheel_cache, mlflow_server, "e2erich2", model, epochs=1)
    run_quick_test(runners, spec)
    states = dict((c, s) for c, s in task_states(runners[0], "e2erich2") if s != "RUNNING")
    assert {c: states[c] for c in DATA_STAGES} == {c: "SKIPPED" for c in DATA_STAGES}
    assert states["Trainer"] == states["Evaluator"] == "SUCCEEDED"


def test_cancel_kills_the_training_process(runners, movielens_dir, wheel_cache, mlflow_server):
    bus, pipelines, builds = runners
    model = ModelConfig(name="long", query_tower_layers=[16], candidate_tower_layers=[16])
    spec = make_spec(movielens_dir, wheel_cache, mlflow_server, "e2ecancel", model, epochs=100)
    build_id = builds.start(spec.experiment_id, spec.artifacts.spec)
    assert builds.wait(build_id, timeout=300) == "SUCCESS"
    job = builds.result(build_id).pipeline_job_name
    deadline = time.monotonic() + 300
    while ("Trainer", "RUNNING") not in task_states(bus, "e2ecancel"):
        assert time.monotonic() < deadline and pipelines.state(job) == "PIPELINE_STATE_RUNNING"
        time.sleep(0.2)
    time.sleep(3)
    pid = pipelines.jobs.read(job_id_of(job))["pid"]
    pipelines.cancel(job)
    assert pipelines.state(job) == "PIPELINE_STATE_CANCELLED"
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert ("Trainer", "CANCELLED") in task_states(bus, "e2ecancel")
    assert not (movielens_dir / "artifacts" / "experiments" / "e2ecancel" / "metrics.json").exists()
