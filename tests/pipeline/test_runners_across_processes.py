"""The local runners' jobs seen, cancelled and resolved from other processes.

The other process is ``runner_process.py`` run by the services environment's python (as the
emulated-mode status watcher or a restarted stack would be), on the same data folder: the
session's MovieLens sample, whose data stages the e2e tests have usually cached. Real pipeline
workers, real TFX, a real MLflow server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.local_builds import LocalBuildService
from experiments_platform.adapters.local_jobs import ProcessIdentity, group_members
from experiments_platform.adapters.local_pipelines import LocalPipelineService
from experiments_platform.config import Settings
from experiments_platform.domain.model import ModelConfig
from experiments_platform.events.google_events import job_id_of, to_message
from experiments_platform.events.messages import (
    BuildFinished,
    PipelineJobStateChanged,
    PipelineTaskStateChanged,
    Topics,
)
from fakes import RecordingBus

from .factories import sample_spec

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SERVICES_PYTHON = ROOT / ".venv" / "bin" / "python"
HELPER = Path(__file__).with_name("runner_process.py")


def other_process(data_dir: Path, *args: str, timeout: float = 300) -> tuple[Any, list[tuple[str, bytes, dict]]]:
    """Run ``runner_process.py`` in the services environment; (its result, the messages it published).

    The result line is not always the last: a job watcher of the child may still publish while it exits.
    """
    if not SERVICES_PYTHON.exists():
        pytest.fail(f"{SERVICES_PYTHON} not found: the cross-process tests need the services environment (.venv)")
    done = subprocess.run([str(SERVICES_PYTHON), str(HELPER), str(data_dir), sys.executable, *args],
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [obj for line in done.stdout.splitlines() if line.startswith("{") for obj in json_objects(line)]
    published = [(m["topic"], m["data"].encode(), m["attributes"]) for m in lines if "topic" in m]
    results = [m["result"] for m in lines if "result" in m]
    assert len(results) == 1, f"one result line expected, got {len(results)}: {done.stdout[-3000:]}"
    return results[0], published


def json_objects(line: str) -> list[Any]:
    """Every JSON object of a stdout line: two threads of the child may write theirs without a newline between."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(line):
        obj, at = decoder.raw_decode(line, at)
        found.append(obj)
        while at < len(line) and line[at].isspace():
            at += 1
    return found


def typed(messages: list[tuple[str, bytes, dict]], topic: str) -> list[Any]:
    return [to_message(data, attrs) for t, data, attrs in messages if t == topic]


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def runners(movielens_dir: Path):
    bus = RecordingBus()
    settings = Settings(data_dir=movielens_dir, tfx_python=sys.executable)
    pipelines = LocalPipelineService(settings, bus)
    pipelines.pool.idle = 0
    yield bus, pipelines, LocalBuildService(settings, bus, pipelines)
    pipelines.close()


def test_a_job_started_here_is_cancelled_from_another_process(runners, movielens_dir, wheel_cache, mlflow_server):
    bus, pipelines, builds = runners
    model = ModelConfig(name="long", query_tower_layers=[16], candidate_tower_layers=[16])
    spec = sample_spec(movielens_dir, wheel_cache, mlflow_server, "xcancel", model, epochs=100)
    build_id = builds.start(spec.experiment_id, spec.artifacts.spec)
    assert builds.wait(build_id, timeout=300) == "SUCCESS"
    job = builds.result(build_id).pipeline_job_name
    wait_for(lambda: ("Trainer", "RUNNING") in [(m.task_name, m.state) for m in bus.typed(Topics.PIPELINE_STATE)
                                               if isinstance(m, PipelineTaskStateChanged)], 300, "Trainer")
    pid = pipelines.jobs.read(job_id_of(job))["pid"]

    state, published = other_process(movielens_dir, "cancel-job", job)

    assert state == "PIPELINE_STATE_CANCELLED"
    assert group_members(pid) == [], "no process of the worker's group is left"
    assert pipelines.wait(job, timeout=30) == "PIPELINE_STATE_CANCELLED"
    wait_for(lambda: ProcessIdentity.of(pid) is None, 30, "the worker to be reaped")
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    everything = bus.published + published
    jobs = [m.state for m in typed(everything, Topics.PIPELINE_STATE) if isinstance(m, PipelineJobStateChanged)]
    assert jobs.count("PIPELINE_STATE_CANCELLING") == 1 and jobs.count("PIPELINE_STATE_CANCELLED") == 1, jobs
    for messages in (bus.published, published):  # each process's own order; which one ends the job is a race
        own = [m.state for m in typed(messages, Topics.PIPELINE_STATE) if isinstance(m, PipelineJobStateChanged)]
        if "PIPELINE_STATE_CANCELLED" in own:
            assert own[-1] == "PIPELINE_STATE_CANCELLED", own
    tasks = [(m.task_name, m.state) for m in typed(everything, Topics.PIPELINE_STATE)
             if isinstance(m, PipelineTaskStateChanged)]
    assert tasks.count(("Trainer", "CANCELLED")) == 1 and tasks[-1] == ("Trainer", "CANCELLED")
    assert not (movielens_dir / "artifacts" / "experiments" / "xcancel" / "metrics.json").exists()


def test_a_build_compiling_here_is_cancelled_from_another_process(runners, movielens_dir, wheel_cache, mlflow_server):
    bus, pipelines, builds = runners
    spec = sample_spec(movielens_dir, wheel_cache, mlflow_server, "xbuild", ModelConfig(name="m"))
    build_id = builds.start(spec.experiment_id, spec.artifacts.spec)
    wait_for(lambda: (builds.builds.read(build_id) or {}).get("process"), 30, "the compiling worker")
    pid = builds.builds.read(build_id)["process"]["pid"]
    wait_for(lambda: b"--experiment xbuild" in Path(f"/proc/{pid}/cmdline").read_bytes(), 30,
             "the worker's title to name its experiment while it still imports")

    status, published = other_process(movielens_dir, "cancel-build", build_id)

    assert status == "CANCELLED" and builds.wait(build_id, timeout=30) == "CANCELLED"
    assert group_members(pid) == []
    notifications = [m.status for m in typed(bus.published + published, Topics.BUILDS) if isinstance(m, BuildFinished)]
    assert notifications == ["WORKING", "CANCELLED"]
    assert builds.result(build_id).pipeline_job_name is None
    assert not (movielens_dir / "artifacts" / "experiments" / "xbuild" / "pipeline.json").exists()


def test_a_job_outlives_the_process_that_started_it(movielens_dir, wheel_cache, mlflow_server):
    """A stack that stops mid-job: the worker finishes, records its exit, a new process reads SUCCEEDED."""
    spec = sample_spec(movielens_dir, wheel_cache, mlflow_server, "xorphan", ModelConfig(name="m"), epochs=1)
    started, _ = other_process(movielens_dir, "start", spec.experiment_id, spec.artifacts.spec)
    assert started["status"] == "SUCCESS"
    job = started["job"]
    pipelines = LocalPipelineService(Settings(data_dir=movielens_dir, tfx_python=sys.executable), RecordingBus())
    record = pipelines.jobs.read(job_id_of(job))
    assert not ProcessIdentity.from_record(record["owner"]).is_alive()
    wait_for(lambda: pipelines.state(job) != "PIPELINE_STATE_RUNNING", 300, "the orphaned job to end")
    assert pipelines.state(job) == "PIPELINE_STATE_SUCCEEDED"
    assert pipelines.jobs.read(job_id_of(job))["exit_code"] == 0
    assert (movielens_dir / "artifacts" / "experiments" / "xorphan" / "metrics.json").exists()
    jobs = [m.state for m in pipelines.bus.typed(Topics.PIPELINE_STATE) if isinstance(m, PipelineJobStateChanged)]
    assert jobs == ["PIPELINE_STATE_SUCCEEDED"], "the process that records the end publishes it"
