"""Local adapter of ``ports.builds.BuildService``: the compile step in a pipeline worker, then submit.

Like the Cloud Build of ``cloudbuild/compile-and-submit.yaml``: ``start`` hands the spec to a
pre-imported pipeline-environment worker (``pipeline.worker_pool``), which compiles it as
``python -m experiments_platform.pipeline.compile --target local`` would (output appended to
``{data_dir}/logs/{id}/Compile.log``, IR written to ``pipeline.json`` beside the spec); the build
then submits the compiled pipeline to the pipeline service, handing over the same worker when the
pipeline service is the local one (TensorFlow is imported once per quick test, and the worker
serves that one experiment only). Cloud Build-shaped notifications go to ``Topics.BUILDS``:
WORKING, then SUCCESS with the pipeline job name, FAILURE with the log's tail, or CANCELLED.

Every build is a record ``{data_dir}/builds/{build_id}.json`` updated under a file lock, so
``status``, ``result``, ``wait`` and ``cancel`` work from any process. ``cancel`` kills the
compiling worker's process group (after checking it is still the recorded process); once the
build has handed its worker to the pipeline job it is finished, and cancelling the job is the
caller's next step (decision 005). A build whose processes all ended without a terminal state is
reported FAILURE. Whoever records a terminal state publishes it, so it is published once.
"""

from __future__ import annotations

import subprocess
import threading
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from experiments_platform.adapters._shared import now_text, process_alive, uri_to_path
from experiments_platform.adapters.local_jobs import ProcessIdentity, RecordStore, kill_group, wait_until
from experiments_platform.adapters.local_pipelines import LocalPipelineService
from experiments_platform.adapters.local_workers import Worker, WorkerGone, WorkerPool, ended_text
from experiments_platform.config import Settings
from experiments_platform.errors import NotFound
from experiments_platform.events.google_events import TERMINAL_BUILD_STATES, build_notification, build_resource
from experiments_platform.events.messages import Topics
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.builds import BuildResult
from experiments_platform.ports.bus import EventBus
from experiments_platform.ports.pipelines import PipelineService

FAILURE_TAIL_CHARS = 2000
CANCEL_WAIT_S = 30.0

log = get_logger(__name__)


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


class LocalBuildService:
    def __init__(
        self, settings: Settings, bus: EventBus, pipelines: PipelineService, python: str | None = None
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.pipelines = pipelines
        self.project = settings.gcp_project or "local"
        root = settings.data_dir.resolve()
        self.logs_root = root / "logs"
        self.builds = RecordStore(root / "builds")
        if isinstance(pipelines, LocalPipelineService) and python is None:
            self.pool = pipelines.pool
        else:
            self.pool = WorkerPool(python or settings.tfx_python, root / "pipelines" / "workers.log",
                                   idle=settings.pipeline_idle_workers)
        self.python = self.pool.python
        self._done: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, bus: EventBus, pipelines: PipelineService) -> LocalBuildService:
        return cls(settings, bus, pipelines)

    def prewarm(self) -> None:
        """Start the idle pipeline worker now, so the next build finds TensorFlow imported."""
        self.pool.prewarm()

    def start(self, experiment_id: str, spec_uri: str) -> str:
        spec_path = uri_to_path(spec_uri)
        if not spec_path.is_file():
            raise NotFound(f"quick-test spec {spec_uri} does not exist; the submitter writes it first")
        build_id = str(uuid.uuid4())
        with self._lock:
            self._done[build_id] = threading.Event()
        with self.builds.locked(build_id) as build:
            build.update(id=build_id, experiment_id=experiment_id, spec_uri=spec_uri, status="QUEUED",
                         created=now_text(), started=None, finished=None, process=None, handed_over=False,
                         owner=ProcessIdentity.current().to_record(), pipeline_job_name=None, failure="",
                         cancel_requested=False)
        threading.Thread(target=self._run, args=(build_id, spec_path), daemon=True,
                         name=f"build-{build_id[:8]}").start()
        return build_id

    def cancel(self, build_id: str) -> None:
        with self.builds.locked(build_id) as build:
            if not build:
                raise NotFound(f"build {build_id} is unknown to the local build runner")
            if build["status"] in TERMINAL_BUILD_STATES:
                return
            build["cancel_requested"] = True
            handed_over = bool(build.get("handed_over"))
            process = None if handed_over else ProcessIdentity.from_record(build.get("process"))
        if handed_over:
            wait_until(lambda: self.status(build_id) in TERMINAL_BUILD_STATES, CANCEL_WAIT_S)
            return
        if process is not None:
            kill_group(process)
        self._finish(build_id, "CANCELLED")

    def status(self, build_id: str) -> str:
        return self.result(build_id).status

    def result(self, build_id: str) -> BuildResult:
        """Status, submitted pipeline job and failure excerpt, from the build's record."""
        build = self.builds.read(build_id)
        if not build:
            raise NotFound(f"build {build_id} is unknown to the local build runner")
        if build["status"] not in TERMINAL_BUILD_STATES and not process_alive(build, "owner") \
                and not process_alive(build, "process"):
            self._finish(build_id, "FAILURE", "the local build runner stopped before the build finished")
            build = self.builds.read(build_id) or build
        return BuildResult(status=str(build["status"]), pipeline_job_name=build.get("pipeline_job_name"),
                           log_excerpt=str(build.get("failure") or ""))

    def wait(self, build_id: str, timeout: float | None = None) -> str:
        """Block until the build ends (tests, the command line); return its status."""
        with self._lock:
            done = self._done.get(build_id)
        if done is not None:
            done.wait(timeout)
        else:
            wait_until(lambda: self.status(build_id) in TERMINAL_BUILD_STATES,
                       timeout if timeout is not None else float("inf"), 0.2)
        return self.status(build_id)

    def _run(self, build_id: str, spec_path: Path) -> None:
        record = self.builds.read(build_id) or {}
        experiment_id = str(record["experiment_id"])
        log_path = self.logs_root / experiment_id / "Compile.log"
        compiled = spec_path.parent / "pipeline.json"
        if record.get("cancel_requested") or record["status"] in TERMINAL_BUILD_STATES:
            self._finish(build_id, "CANCELLED")
            return
        try:
            worker = self.pool.take()
        except OSError as exc:
            self._finish(build_id, "FAILURE", f"the pipeline environment could not start ({self.python}): {exc}")
            return
        with self.builds.locked(build_id) as build:
            proceed = not build.get("cancel_requested") and build["status"] not in TERMINAL_BUILD_STATES
            if proceed:
                build.update(process=worker.identity.to_record(), started=now_text())
                self._publish(build, "WORKING")
        if not proceed:
            worker.kill()
            self._finish(build_id, "CANCELLED")
            return
        outcome = self._compile(worker, experiment_id, str(record["spec_uri"]), compiled, log_path)
        with self.builds.locked(build_id) as build:
            handed_over = outcome.get("ok") is True and not build.get("cancel_requested") \
                and build["status"] not in TERMINAL_BUILD_STATES
            build["worker"] = worker.describe()
            if handed_over:
                build.update(handed_over=True, process=None)
        if not handed_over:
            if outcome.get("ok") is True:
                worker.kill()
                self._finish(build_id, "CANCELLED")
            else:
                try:
                    code = worker.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    code = worker.wait()
                self._finish(build_id, "FAILURE", self._compile_failure(outcome, worker, code, log_path))
            return
        try:
            if isinstance(self.pipelines, LocalPipelineService):
                job_name = self.pipelines.submit(experiment_id, compiled.as_uri(), worker=worker)
            else:
                worker.release()
                job_name = self.pipelines.submit(experiment_id, compiled.as_uri())
        except Exception as exc:  # noqa: BLE001 - any submit error is the build's failure
            worker.kill()
            self._finish(build_id, "FAILURE", f"submitting the pipeline failed: {exc}")
            return
        self._finish(build_id, "SUCCESS", pipeline_job_name=job_name)

    def _compile(self, worker: Worker, experiment_id: str, spec_uri: str, compiled: Path,
                 log_path: Path) -> dict[str, Any]:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            worker.send({"kind": "compile", "experiment_id": experiment_id, "spec_uri": spec_uri,
                         "output": str(compiled), "target": "local", "log": str(log_path)})
        except WorkerGone:
            return {"ok": False}
        for message in worker.messages():
            if message.get("type") == "compiled":
                return message
        return {"ok": False}

    @staticmethod
    def _compile_failure(outcome: dict[str, Any], worker: Worker, code: int, log_path: Path) -> str:
        """The failed compile step's text: the compile error the worker replied, else how the worker ended."""
        if outcome.get("type") == "compiled":
            tail = log_path.read_text(errors="replace")[-FAILURE_TAIL_CHARS:] if log_path.exists() else ""
            return f"compile step exited with code {code or 1}: {tail}"
        return ended_text(f"compile step: the pipeline worker (pid {worker.pid})", code, log_path)

    def _finish(self, build_id: str, status: str, failure: str = "", pipeline_job_name: str | None = None) -> None:
        """Record and publish the build's terminal status unless it already has one."""
        with self.builds.locked(build_id) as build:
            if build.get("cancel_requested") and status == "FAILURE":
                status = "CANCELLED"
            if build["status"] not in TERMINAL_BUILD_STATES:
                build.update(failure=failure, finished=now_text(), process=None,
                             pipeline_job_name=pipeline_job_name or build.get("pipeline_job_name"))
                self._publish(build, status)
                log.info("local build finished", extra=fields(experiment_id=build["experiment_id"],
                                                               build_id=build_id, status=status))
        with self._lock:
            done = self._done.get(build_id)
        if done is not None:
            done.set()

    def _publish(self, build: dict[str, Any], status: str) -> None:
        build["status"] = status
        resource = build_resource(
            build["id"], build["experiment_id"], status, project=self.project,
            pipeline_job_name=build.get("pipeline_job_name"), failure_detail=build.get("failure", ""),
            create_time=_time(build.get("created")), start_time=_time(build.get("started")),
            log_url=(self.logs_root / build["experiment_id"] / "Compile.log").as_uri(),
        )
        data, attributes = build_notification(resource)
        self.bus.publish(Topics.BUILDS, data, attributes)
