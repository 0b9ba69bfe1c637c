"""Local adapter of ``ports.pipelines.PipelineService``: TFX LocalDagRunner in a subprocess.

``submit`` starts ``{tfx_python} -m experiments_platform.pipeline.run_local`` on the compiled
pipeline IR in its own process group and returns a Vertex-style job name
(``projects/{project}/locations/local/pipelineJobs/qt-{experiment}-{stamp}``). A reader thread
turns the runner's task lines into Vertex AI log-sink entries on ``Topics.PIPELINE_STATE``
(job RUNNING, each task RUNNING/SUCCEEDED/SKIPPED/FAILED, then the job's final state), keeps the
process output in ``{data_dir}/logs/{experiment_id}/pipeline.log`` (the runner writes one file per
component next to it) and records the job state in ``{data_dir}/pipelines/jobs/{job_id}.json``.
``cancel`` kills the whole process group: no training process survives a cancelled job.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from ..config import Settings
from ..errors import InvalidInput, NotFound
from ..google_events import (
    job_id_of,
    log_sink_message,
    new_pipeline_job_id,
    pipeline_job_log_entry,
    pipeline_job_name,
    pipeline_task_log_entry,
)
from ..jsonlog import fields, get_logger
from ..messages import Topics
from ..ports.bus import EventBus

EVENT_PREFIX = "@@qt-task "  # experiments_platform.pipeline.run_local.EVENT_PREFIX (no TF import here)
RUN_MODULE = "experiments_platform.pipeline.run_local"
KILL_GRACE_S = 5.0
TERMINAL = frozenset({"PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"})

log = get_logger(__name__)


def uri_to_path(uri: str) -> Path:
    if uri.startswith("file://"):
        return Path(uri[len("file://"):])
    if "://" in uri:
        raise InvalidInput(f"the local pipeline service reads file:// URIs only, got {uri!r}", field="compiled_uri")
    return Path(uri)


def pipeline_env() -> dict[str, str]:
    """Environment of a pipeline-environment subprocess."""
    return {**os.environ, "TF_USE_LEGACY_KERAS": "1", "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "1"}


def spawn_group(command: list[str], cwd: Path | None = None) -> subprocess.Popen[str]:
    """Start ``command`` as the leader of a new process group, stdout and stderr merged."""
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        start_new_session=True, env=pipeline_env(), cwd=cwd,
    )


def kill_group(process: subprocess.Popen[str], grace_s: float = KILL_GRACE_S) -> None:
    """SIGTERM the process group, SIGKILL whatever is left after ``grace_s`` (children included)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def resolve_python(python: str) -> str:
    """An interpreter path made absolute, symlinks kept (a venv's python is a symlink to its base)."""
    return os.path.abspath(python) if "/" in python else python


@dataclass
class LocalJob:
    name: str
    experiment_id: str
    process: subprocess.Popen[str] | None = None
    state: str = "PIPELINE_STATE_PENDING"
    cancel_requested: bool = False
    running_task: str | None = None
    error: str = ""
    tasks: dict[str, str] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)


class LocalPipelineService:
    def __init__(self, settings: Settings, bus: EventBus, python: str | None = None) -> None:
        self.settings = settings
        self.bus = bus
        self.python = resolve_python(python or settings.tfx_python)
        self.project = settings.gcp_project or "local"
        self.jobs_dir = settings.data_dir.resolve() / "pipelines" / "jobs"
        self.logs_root = settings.data_dir.resolve() / "logs"
        self._jobs: dict[str, LocalJob] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Settings, bus: EventBus) -> LocalPipelineService:
        return cls(settings, bus)

    def submit(self, experiment_id: str, compiled_uri: str) -> str:
        compiled = uri_to_path(compiled_uri)
        if not compiled.is_file():
            raise NotFound(f"compiled pipeline {compiled_uri} does not exist; run the compile step first")
        name = pipeline_job_name(self.project, "local", new_pipeline_job_id(experiment_id))
        logs_dir = self.logs_root / experiment_id
        logs_dir.mkdir(parents=True, exist_ok=True)
        command = [self.python, "-m", RUN_MODULE, "--compiled", str(compiled), "--logs-dir", str(logs_dir),
                   "--artifacts-json", str(compiled.parent / "artifacts.json")]
        job = LocalJob(name=name, experiment_id=experiment_id)
        with self._lock:
            self._jobs[name] = job
            self._set_state(job, "PIPELINE_STATE_RUNNING")
            job.process = spawn_group(command)
        log.info("local pipeline started", extra=fields(experiment_id=experiment_id, job_name=name,
                                                         pid=job.process.pid))
        threading.Thread(target=self._follow, args=(job, logs_dir / "pipeline.log"), daemon=True,
                         name=f"pipeline-{job_id_of(name)}").start()
        return name

    def cancel(self, job_name: str) -> None:
        with self._lock:
            job = self._jobs.get(job_name)
            if job is None or job.state in TERMINAL:
                return
            job.cancel_requested = True
            self._set_state(job, "PIPELINE_STATE_CANCELLING")
            process = job.process
        if process is not None:
            kill_group(process)
        job.done.wait(timeout=30)

    def state(self, job_name: str) -> str:
        with self._lock:
            job = self._jobs.get(job_name)
            if job is not None:
                return job.state
        record = self.jobs_dir / f"{job_id_of(job_name)}.json"
        if not record.exists():
            raise NotFound(f"pipeline job {job_name} is unknown to the local pipeline service")
        return str(json.loads(record.read_text())["state"])

    def wait(self, job_name: str, timeout: float | None = None) -> str:
        """Block until the job ends (tests, the command line); return its final state."""
        job = self._jobs[job_name]
        job.done.wait(timeout)
        return job.state

    def _follow(self, job: LocalJob, log_path: Path) -> None:
        assert job.process is not None and job.process.stdout is not None
        with log_path.open("a") as output:
            self._pump(job, job.process.stdout, output)
        code = job.process.wait()
        with self._lock:
            if job.cancel_requested:
                if job.running_task:
                    self._publish_task(job, job.running_task, "CANCELLED")
                self._set_state(job, "PIPELINE_STATE_CANCELLED")
            elif code == 0:
                self._set_state(job, "PIPELINE_STATE_SUCCEEDED")
            else:
                job.error = job.error or f"pipeline runner exited with code {code}; see pipeline.log"
                self._set_state(job, "PIPELINE_STATE_FAILED")
        job.done.set()

    def _pump(self, job: LocalJob, lines: IO[str], output: IO[str]) -> None:
        for line in lines:
            if not line.startswith(EVENT_PREFIX):
                output.write(line)
                output.flush()
                continue
            try:
                event = json.loads(line[len(EVENT_PREFIX):])
            except json.JSONDecodeError:
                output.write(line)
                continue
            with self._lock:
                if job.cancel_requested:
                    continue
                component, state = str(event["component"]), str(event["state"])
                job.running_task = component if state == "RUNNING" else None
                if state == "FAILED":
                    job.error = f"{component}: {event.get('error', '')}"
                job.tasks[component] = state
                self._publish_task(job, component, state, event.get("error", ""), event.get("time"))
                self._record(job)

    def _publish_task(self, job: LocalJob, task: str, state: str, error: str = "", at: str | None = None) -> None:
        moment = datetime.fromisoformat(at) if at else datetime.now(timezone.utc)
        entry = pipeline_task_log_entry(job.name, task, state, experiment_id=job.experiment_id,
                                        error_message=error, timestamp=moment)
        data, attributes = log_sink_message(entry)
        self.bus.publish(Topics.PIPELINE_STATE, data, attributes)

    def _set_state(self, job: LocalJob, state: str) -> None:
        job.state = state
        entry = pipeline_job_log_entry(job.name, state, experiment_id=job.experiment_id, error_message=job.error)
        data, attributes = log_sink_message(entry)
        self.bus.publish(Topics.PIPELINE_STATE, data, attributes)
        self._record(job)
        log.info("local pipeline state", extra=fields(experiment_id=job.experiment_id, job_name=job.name, state=state))

    def _record(self, job: LocalJob) -> None:
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        record: dict[str, Any] = {"name": job.name, "experiment_id": job.experiment_id, "state": job.state,
                                  "tasks": job.tasks, "error": job.error,
                                  "pid": job.process.pid if job.process else None}
        (self.jobs_dir / f"{job_id_of(job.name)}.json").write_text(json.dumps(record, indent=2))
