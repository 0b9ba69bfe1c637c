"""Job records and process identities of the local runners, with real processes (no TensorFlow)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from experiments_platform.adapters.local_builds import LocalBuildService
from experiments_platform.adapters.local_jobs import ProcessIdentity, RecordStore, group_members, kill_group
from experiments_platform.adapters.local_pipelines import LocalPipelineService
from experiments_platform.config import Settings
from experiments_platform.events.google_events import job_id_of, to_message
from experiments_platform.events.messages import BuildFinished, PipelineJobStateChanged, Topics
from fakes import RecordingBus

JOB = "projects/local/locations/local/pipelineJobs/qt-exp1-20260101000000"


def ended_process() -> ProcessIdentity:
    """The identity of a process that has run and ended."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    identity = ProcessIdentity.of(process.pid)
    process.wait()
    assert identity is not None and not identity.is_alive()
    return identity


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "60"], start_new_session=True)


def test_identity_tells_a_recycled_pid_apart():
    process = sleeper()
    try:
        identity = ProcessIdentity.of(process.pid)
        assert identity is not None and identity.is_alive()
        stranger = ProcessIdentity(pid=process.pid, start=identity.start - 1, boot=identity.boot)
        assert not stranger.is_alive() and stranger.pid_taken_by_another()
        assert kill_group(stranger) is False
        assert process.poll() is None, "a process that is not the recorded one must not be killed"
        assert kill_group(identity) is True
        assert group_members(process.pid) == []
    finally:
        process.kill()
        process.wait()


def test_a_record_from_another_boot_is_never_killed():
    process = sleeper()
    try:
        identity = ProcessIdentity.of(process.pid)
        assert identity is not None
        assert kill_group(ProcessIdentity(pid=identity.pid, start=identity.start, boot="another-boot")) is False
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_locked_updates_from_threads_are_serialised(tmp_path: Path):
    store = RecordStore(tmp_path)

    def bump() -> None:
        for _ in range(50):
            with store.locked("r") as record:
                record["n"] = record.get("n", 0) + 1

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.read("r") == {"n": 200}


def job_record(tmp_path: Path, **values: object) -> LocalPipelineService:
    pipelines = LocalPipelineService(Settings(data_dir=tmp_path, tfx_python=sys.executable), RecordingBus())
    with pipelines.jobs.locked(job_id_of(JOB)) as job:
        job.update(name=JOB, experiment_id="exp1", state="PIPELINE_STATE_RUNNING", tasks={"Trainer": "RUNNING"},
                   running_task="Trainer", error="", cancel_requested=False, exit_code=None, **values)
    return pipelines


def job_events(pipelines: LocalPipelineService) -> list[str]:
    return [m.state for m in pipelines.bus.typed(Topics.PIPELINE_STATE) if isinstance(m, PipelineJobStateChanged)]


def test_a_job_whose_processes_died_without_a_result_is_failed(tmp_path: Path):
    pipelines = job_record(tmp_path, process=ended_process().to_record(), owner=ended_process().to_record())
    assert pipelines.state(JOB) == "PIPELINE_STATE_FAILED"
    assert "without a result" in pipelines.jobs.read(job_id_of(JOB))["error"]
    assert pipelines.state(JOB) == "PIPELINE_STATE_FAILED"
    assert job_events(pipelines) == ["PIPELINE_STATE_FAILED"], "published once, by the process that recorded it"


def test_a_job_that_recorded_its_exit_is_resolved_from_it(tmp_path: Path):
    pipelines = job_record(tmp_path, process=ended_process().to_record(),
                           owner=ended_process().to_record())
    with pipelines.jobs.locked(job_id_of(JOB)) as job:
        job["exit_code"] = 0
    assert pipelines.state(JOB) == "PIPELINE_STATE_SUCCEEDED"


def test_a_running_job_of_a_live_runner_keeps_its_state(tmp_path: Path):
    process = sleeper()
    try:
        identity = ProcessIdentity.of(process.pid)
        assert identity is not None
        pipelines = job_record(tmp_path, process=identity.to_record(), owner=ended_process().to_record())
        assert pipelines.state(JOB) == "PIPELINE_STATE_RUNNING"
        pipelines.cancel(JOB)
        assert process.wait(timeout=10) != 0
        assert pipelines.state(JOB) == "PIPELINE_STATE_CANCELLED"
        assert job_events(pipelines) == ["PIPELINE_STATE_CANCELLING", "PIPELINE_STATE_CANCELLED"]
        pipelines.cancel(JOB)
        assert job_events(pipelines)[-1] == "PIPELINE_STATE_CANCELLED" and len(job_events(pipelines)) == 2
    finally:
        process.kill()
        process.wait()


def test_unknown_jobs_and_builds_are_not_found(tmp_path: Path):
    from experiments_platform.errors import NotFound

    pipelines = LocalPipelineService(Settings(data_dir=tmp_path, tfx_python=sys.executable), RecordingBus())
    builds = LocalBuildService(pipelines.settings, pipelines.bus, pipelines)
    with pytest.raises(NotFound):
        pipelines.state(JOB)
    with pytest.raises(NotFound):
        builds.status("nope")
    pipelines.cancel(JOB)
    assert pipelines.pool.started == 0, "reading and cancelling start no pipeline worker"


def test_a_build_whose_runner_stopped_is_reported_failed(tmp_path: Path):
    pipelines = LocalPipelineService(Settings(data_dir=tmp_path, tfx_python=sys.executable), RecordingBus())
    builds = LocalBuildService(pipelines.settings, pipelines.bus, pipelines)
    with builds.builds.locked("b1") as build:
        build.update(id="b1", experiment_id="exp1", spec_uri="file:///x/spec.json", status="WORKING",
                     created="2026-01-01T00:00:00+00:00", started="2026-01-01T00:00:01+00:00",
                     process=ended_process().to_record(), owner=ended_process().to_record(), handed_over=False,
                     pipeline_job_name=None, failure="", cancel_requested=False)
    result = builds.result("b1")
    assert result.status == "FAILURE" and "stopped before the build finished" in result.log_excerpt
    finished = [to_message(d, a) for t, d, a in pipelines.bus.published if t == Topics.BUILDS]
    assert [m.status for m in finished if isinstance(m, BuildFinished)] == ["FAILURE"]
