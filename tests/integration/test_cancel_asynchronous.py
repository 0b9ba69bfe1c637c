"""Cancel is asynchronous on Vertex AI (issue 13 item 6): the job turns CANCELLING and ends later,
and child jobs (the Trainer's custom job, Dataflow jobs) run on unless cancelled themselves.

The local pipeline stand-in reproduces it (``asynchronous_cancel``): ``cancel`` records the request
and returns with the job CANCELLING while its process takes its time to stop (it traps SIGTERM, as
a task finishing its step does); the CANCELLED state arrives later as a log-sink event on the bus.
The experiment shows "cancelling" (``cancel_requested``, still active) until that event confirms it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from experiments_platform.adapters.local_jobs import ProcessIdentity
from experiments_platform.adapters.local_pipelines import LocalPipelineService
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.events import google_events as ge
from experiments_platform.events.messages import CancelExperiment, PipelineJobStateChanged, SubmitExperiment, Topics
from experiments_platform.handlers import cancel, experiments, status_watcher, submitter
from fakes import RecordingBus

from .lifecycle_support import make_experiment, make_platform, store, stored, write_interactions

SLOW_TO_STOP = "trap 'sleep 1.5; exit 143' TERM; while :; do sleep 0.1; done"


def running_experiment(platform: Platform, tmp_path: Path, job: str) -> str:
    experiment = store(platform, make_experiment(write_interactions(tmp_path)))
    submitter.on_submit(platform, SubmitExperiment(experiment_id=experiment.id))
    build = stored(platform, experiment.id)["cloud_build_id"]
    status_watcher.on_build(platform, ge.parse_build(ge.build_resource(build, experiment.id, "SUCCESS", project="local",
                                                                       pipeline_job_name=job)))
    assert stored(platform, experiment.id)["status"] == "running"
    return experiment.id


@pytest.fixture
def worker() -> subprocess.Popen[bytes]:
    process = subprocess.Popen(["bash", "-c", SLOW_TO_STOP], start_new_session=True)
    yield process
    process.kill()
    process.wait()


def test_an_experiment_shows_cancelling_until_its_job_confirms_the_cancel(
    tmp_path: Path, worker: subprocess.Popen[bytes]
) -> None:
    platform = make_platform(tmp_path)
    bus = RecordingBus()
    pipelines = LocalPipelineService(Settings(data_dir=tmp_path / "runner", tfx_python=sys.executable), bus,
                                     asynchronous_cancel=True)
    platform._ports["pipelines"] = pipelines  # the stand-in of Vertex AI, the rest recorded
    try:
        job = "projects/local/locations/local/pipelineJobs/qt-{}-20260101000000"
        experiment_id = running_experiment(platform, tmp_path, job.format("x"))
        job = stored(platform, experiment_id)["pipeline_job_name"]
        identity = ProcessIdentity.of(worker.pid)
        assert identity is not None
        with pipelines.jobs.locked(ge.job_id_of(job)) as record:
            record.update(name=job, experiment_id=experiment_id, state="PIPELINE_STATE_RUNNING",
                          tasks={"Trainer": "RUNNING"}, running_task="Trainer", error="", cancel_requested=False,
                          exit_code=None, process=identity.to_record(), owner=ProcessIdentity.current().to_record())

        experiments.cancel_experiment(platform.documents, platform.bus, experiment_id)
        cancel.on_cancel(platform, CancelExperiment(experiment_id=experiment_id))

        doc = stored(platform, experiment_id)
        assert pipelines.state(job) == "PIPELINE_STATE_CANCELLING"
        assert doc["status"] == "running" and doc["cancel_requested"] is True, "cancelling, not cancelled yet"

        assert pipelines.wait(job, timeout=30) == "PIPELINE_STATE_CANCELLED"
        assert worker.wait(timeout=10) == 143, "the worker stopped in its own time"
        [confirmed] = [m for m in bus.typed(Topics.PIPELINE_STATE)
                       if isinstance(m, PipelineJobStateChanged) and m.state == "PIPELINE_STATE_CANCELLED"]
        status_watcher.on_job(platform, confirmed)  # the log-sink event, as the status watcher receives it

        doc = stored(platform, experiment_id)
        assert doc["status"] == "cancelled"
        assert doc["stages"]["train"]["status"] in ("cancelled", "pending")
    finally:
        pipelines.close()
        platform.close()
