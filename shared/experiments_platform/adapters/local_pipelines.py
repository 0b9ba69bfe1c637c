"""Local adapter of ``ports.pipelines.PipelineService``: TFX LocalDagRunner in a pipeline worker.

``submit`` hands the compiled pipeline IR to a pre-imported pipeline-environment worker
(``pipeline.worker_pool``; the build's own worker when the local build service submits, so a
quick test imports TensorFlow once) and returns a Vertex-style job name
(``projects/{project}/locations/local/pipelineJobs/qt-{experiment}-{stamp}``). A thread of the
submitting process turns the worker's task replies into Vertex AI log-sink entries on
``Topics.PIPELINE_STATE`` (job RUNNING, each task RUNNING/SUCCEEDED/SKIPPED/FAILED, then the job's
final state). The worker writes its output to ``{data_dir}/logs/{experiment_id}/pipeline.log``
and one file per component next to it.

Every job is a record ``{data_dir}/pipelines/jobs/{job_id}.json`` (state, tasks, the worker's and
the submitting process's identities, cancel request, exit code), updated under a file lock, so
``state``, ``wait`` and ``cancel`` work from any process: ``cancel`` kills the worker's process
group (after checking it is still the recorded process) and records CANCELLED; a job whose
worker ended while its submitting process was gone is resolved from the exit code the worker
recorded (none: FAILED). Whoever records a terminal state publishes it, so it is published once.

``asynchronous_cancel`` reproduces Vertex AI's cancel (issue 13 item 6): ``cancel`` records the
request and the CANCELLING state and returns; the worker is stopped and CANCELLED recorded and
published from a thread, so callers learn of the end from the event or ``state``, as on GCP.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from experiments_platform.adapters._shared import now_text, process_alive, uri_to_path
from experiments_platform.adapters.local_jobs import ProcessIdentity, RecordStore, kill_group, wait_until
from experiments_platform.adapters.local_workers import Worker, WorkerGone, WorkerPool, ended_text
from experiments_platform.adapters.memory_guard import MemoryGuard
from experiments_platform.config import Settings
from experiments_platform.errors import NotFound
from experiments_platform.events.google_events import (
    TERMINAL_PIPELINE_STATES,
    job_id_of,
    log_sink_message,
    new_pipeline_job_id,
    pipeline_job_log_entry,
    pipeline_job_name,
    pipeline_task_log_entry,
)
from experiments_platform.events.messages import Topics
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.bus import EventBus
from experiments_platform.ports.pipelines import ChildJob, JobStatus, TaskStatus

TERMINAL = TERMINAL_PIPELINE_STATES
CANCEL_WAIT_S = 30.0

log = get_logger(__name__)


class LocalPipelineService:
    def __init__(self, settings: Settings, bus: EventBus, python: str | None = None,
                 pool: WorkerPool | None = None, asynchronous_cancel: bool = False) -> None:
        self.settings = settings
        self.bus = bus
        self.project = settings.gcp_project or "local"
        root = settings.data_dir.resolve()
        self.jobs = RecordStore(root / "pipelines" / "jobs")
        self.jobs_dir = self.jobs.folder
        self.logs_root = root / "logs"
        self.pool = pool or WorkerPool(python or settings.tfx_python, root / "pipelines" / "workers.log",
                                       idle=settings.pipeline_idle_workers)
        self.python = self.pool.python
        self._done: dict[str, threading.Event] = {}
        self._workers: dict[str, Worker] = {}
        self._lock = threading.Lock()
        self.asynchronous_cancel = asynchronous_cancel

    @classmethod
    def from_settings(cls, settings: Settings, bus: EventBus) -> LocalPipelineService:
        return cls(settings, bus)

    def prewarm(self) -> None:
        """Start the idle pipeline worker now, so the next quick test finds TensorFlow imported."""
        self.pool.prewarm()

    def close(self) -> None:
        """Stop the idle workers (running jobs go on)."""
        self.pool.close()

    def submit(self, experiment_id: str, compiled_uri: str, worker: Worker | None = None) -> str:
        """Start the job; ``worker``: the build's worker that compiled this pipeline (else one from the pool)."""
        compiled = uri_to_path(compiled_uri)
        if not compiled.is_file():
            raise NotFound(f"compiled pipeline {compiled_uri} does not exist; run the compile step first")
        name = pipeline_job_name(self.project, "local", new_pipeline_job_id(experiment_id))
        key = job_id_of(name)
        logs_dir = self.logs_root / experiment_id
        logs_dir.mkdir(parents=True, exist_ok=True)
        worker = worker or self.pool.take()
        done = threading.Event()
        with self._lock:
            self._done[name] = done
            self._workers[name] = worker
        with self.jobs.locked(key) as job:
            job.update(name=name, experiment_id=experiment_id, state="PIPELINE_STATE_PENDING", tasks={},
                       running_task=None, error="", pid=worker.pid, process=worker.identity.to_record(),
                       owner=ProcessIdentity.current().to_record(), compiled=str(compiled), started_at=now_text(),
                       finished_at=None, cancel_requested=False, exit_code=None)
            self._set_state(job, "PIPELINE_STATE_RUNNING")
        try:
            worker.send({"kind": "run", "experiment_id": experiment_id, "compiled": str(compiled),
                         "logs_dir": str(logs_dir), "artifacts_json": str(compiled.parent / "artifacts.json"),
                         "log": str(logs_dir / "pipeline.log"),
                         "record": {"folder": str(self.jobs.folder), "key": key}})
        except WorkerGone as exc:
            self._finish(key, error=f"the pipeline worker ended before the job started: {exc}")
            return name
        log.info("local pipeline started", extra=fields(experiment_id=experiment_id, job_name=name, pid=worker.pid,
                                                         worker_ready=worker.ready is not None))
        guard = MemoryGuard(worker.pid, self.settings.resolved_local_run_memory_bytes).start()
        threading.Thread(target=self._follow, args=(name, worker, guard), daemon=True, name=f"pipeline-{key}").start()
        return name

    def cancel(self, job_name: str) -> None:
        key = job_id_of(job_name)
        with self.jobs.locked(key) as job:
            if not job:
                log.warning("cancel of an unknown local pipeline job", extra=fields(job_name=job_name))
                return
            if job["state"] in TERMINAL:
                return
            if not job.get("cancel_requested"):
                job["cancel_requested"] = True
                self._set_state(job, "PIPELINE_STATE_CANCELLING")
            process = ProcessIdentity.from_record(job.get("process"))
        if self.asynchronous_cancel:
            threading.Thread(target=self._stop, args=(job_name, process), daemon=True, name=f"cancel-{key}").start()
        else:
            self._stop(job_name, process)

    def _stop(self, job_name: str, process: ProcessIdentity | None) -> None:
        if process is not None:
            kill_group(process)
        with self._lock:
            worker = self._workers.get(job_name)
        if worker is not None:
            worker.wait(timeout=CANCEL_WAIT_S)
        self._finish(job_id_of(job_name))

    def state(self, job_name: str) -> str:
        key = job_id_of(job_name)
        job = self.jobs.read(key)
        if not job:
            raise NotFound(f"pipeline job {job_name} is unknown to the local pipeline service")
        if job["state"] in TERMINAL or process_alive(job, "process") or process_alive(job, "owner"):
            return str(job["state"])
        return self._finish(key, error=ended_text(
            f"the pipeline worker (pid {job.get('pid')}){self._during(job)}, watched by no runner,",
            job.get("exit_code"), self._log(job)))

    def describe(self, job_name: str) -> JobStatus:
        """The job record as Vertex AI's ``GetPipelineJob`` reports a job: state, tasks, error text."""
        state = self.state(job_name)
        job = self.jobs.read(job_id_of(job_name)) or {}
        error = str(job.get("error") or "")
        failed = error.split(":", 1)[0] if error else None
        tasks = tuple(TaskStatus(task_name=name, state=str(task_state),
                                 error_message=error if name == failed and task_state == "FAILED" else "")
                      for name, task_state in (job.get("tasks") or {}).items())
        return JobStatus(job_name=str(job.get("name", job_name)), state=state, error_message=error, tasks=tasks)

    def children(self, experiment_id: str) -> list[ChildJob]:
        """None: Beam and the Trainer run inside the pipeline worker, which ``cancel`` stops."""
        return []

    def cancel_children(self, experiment_id: str) -> list[ChildJob]:
        return []

    def wait(self, job_name: str, timeout: float | None = None) -> str:
        """Block until the job ends (tests, the command line); return its final state."""
        with self._lock:
            done = self._done.get(job_name)
        if done is not None:
            done.wait(timeout)
        else:
            wait_until(lambda: self.state(job_name) in TERMINAL, timeout if timeout is not None else float("inf"), 0.2)
        return self.state(job_name)

    def _follow(self, name: str, worker: Worker, guard: MemoryGuard | None = None) -> None:
        key = job_id_of(name)
        for message in worker.messages():
            if message.get("type") == "task":
                self._task(key, message)
        code = worker.wait()
        if guard is not None:
            guard.stop()
            log.info("local pipeline worker ended", extra=fields(job_name=name, exit_code=code,
                                                                 peak_memory_bytes=guard.peak))
        if guard is not None and guard.exceeded:
            job = self.jobs.read(key) or {}
            self._finish(key, exit_code=code, error=f"the pipeline worker (pid {worker.pid}){self._during(job)} "
                                                    f"{guard.ended_text()}")
        else:
            self._finish(key, exit_code=code)
        with self._lock:
            self._workers.pop(name, None)

    def _task(self, key: str, event: dict[str, Any]) -> None:
        with self.jobs.locked(key) as job:
            if job.get("cancel_requested") or job["state"] in TERMINAL:
                return
            component, state = str(event["component"]), str(event["state"])
            job["running_task"] = component if state == "RUNNING" else None
            if state == "FAILED":
                job["error"] = f"{component}: {event.get('error', '')}"
            job["tasks"][component] = state
            self._publish_task(job, component, state, event.get("error", ""), event.get("time"))

    def _finish(self, key: str, exit_code: int | None = None, error: str = "") -> str:
        """Record and publish the job's terminal state unless another process already has."""
        with self.jobs.locked(key) as job:
            if job["state"] not in TERMINAL:
                code = exit_code if exit_code is not None else job.get("exit_code")
                if job.get("cancel_requested"):
                    if job.get("running_task"):
                        self._publish_task(job, job["running_task"], "CANCELLED")
                    state = "PIPELINE_STATE_CANCELLED"
                elif code == 0:
                    state = "PIPELINE_STATE_SUCCEEDED"
                else:
                    job["error"] = job.get("error") or error or ended_text(
                        f"the pipeline worker (pid {job.get('pid')}){self._during(job)}", code, self._log(job))
                    state = "PIPELINE_STATE_FAILED"
                job.update(running_task=None, finished_at=now_text(), exit_code=code)
                self._set_state(job, state)
            final = str(job["state"])
        with self._lock:
            done = self._done.get(job["name"])
        if done is not None:
            done.set()
        return final

    def _log(self, job: dict[str, Any]) -> Path:
        return self.logs_root / str(job["experiment_id"]) / "pipeline.log"

    @staticmethod
    def _during(job: dict[str, Any]) -> str:
        task = job.get("running_task")
        return f" running {task}" if task else ""

    def _publish_task(self, job: dict[str, Any], task: str, state: str, error: str = "", at: str | None = None) -> None:
        moment = datetime.fromisoformat(at) if at else datetime.now(timezone.utc)
        entry = pipeline_task_log_entry(job["name"], task, state, experiment_id=job["experiment_id"],
                                        error_message=error, timestamp=moment)
        data, attributes = log_sink_message(entry)
        self.bus.publish(Topics.PIPELINE_STATE, data, attributes)

    def _set_state(self, job: dict[str, Any], state: str) -> None:
        job["state"] = state
        entry = pipeline_job_log_entry(job["name"], state, experiment_id=job["experiment_id"],
                                       error_message=job.get("error", ""))
        data, attributes = log_sink_message(entry)
        self.bus.publish(Topics.PIPELINE_STATE, data, attributes)
        log.info("local pipeline state", extra=fields(experiment_id=job["experiment_id"], job_name=job["name"],
                                                      state=state))
