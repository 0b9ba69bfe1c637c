"""Local adapter of ``ports.builds.BuildService``: the compile step as a subprocess, then submit.

Like the Cloud Build of ``cloudbuild/compile-and-submit.yaml``: ``start`` runs
``{tfx_python} -m experiments_platform.pipeline.compile --spec-uri … --output …/pipeline.json
--target local`` in its own process group (its output is ``{data_dir}/logs/{id}/Compile.log``),
submits the compiled pipeline to the local pipeline service, and publishes Cloud Build-shaped
notifications on ``Topics.BUILDS`` (WORKING, then SUCCESS with the pipeline job name, FAILURE
with the log's tail, or CANCELLED). ``cancel`` kills the compile process group; a build that has
already submitted its pipeline is finished, and cancelling the job is the caller's next step.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..config import Settings
from ..errors import NotFound
from ..google_events import TERMINAL_BUILD_STATES, build_notification, build_resource
from ..jsonlog import fields, get_logger
from ..messages import Topics
from ..ports.bus import EventBus
from ..ports.pipelines import PipelineService
from .local_pipelines import kill_group, resolve_python, spawn_group, uri_to_path

COMPILE_MODULE = "experiments_platform.pipeline.compile"
FAILURE_TAIL_CHARS = 2000

log = get_logger(__name__)


@dataclass
class LocalBuild:
    id: str
    experiment_id: str
    spec_uri: str
    status: str = "QUEUED"
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    started: datetime | None = None
    pipeline_job_name: str | None = None
    cancel_requested: bool = False
    process: object | None = None
    done: threading.Event = field(default_factory=threading.Event)


class LocalBuildService:
    def __init__(
        self, settings: Settings, bus: EventBus, pipelines: PipelineService, python: str | None = None
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.pipelines = pipelines
        self.python = resolve_python(python or settings.tfx_python)
        self.project = settings.gcp_project or "local"
        self.logs_root = settings.data_dir.resolve() / "logs"
        self._builds: dict[str, LocalBuild] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Settings, bus: EventBus, pipelines: PipelineService) -> LocalBuildService:
        return cls(settings, bus, pipelines)

    def start(self, experiment_id: str, spec_uri: str) -> str:
        spec_path = uri_to_path(spec_uri)
        if not spec_path.is_file():
            raise NotFound(f"quick-test spec {spec_uri} does not exist; the submitter writes it first")
        build = LocalBuild(id=str(uuid.uuid4()), experiment_id=experiment_id, spec_uri=spec_uri)
        with self._lock:
            self._builds[build.id] = build
        threading.Thread(target=self._run, args=(build, spec_path), daemon=True, name=f"build-{build.id[:8]}").start()
        return build.id

    def cancel(self, build_id: str) -> None:
        with self._lock:
            build = self._get(build_id)
            if build.status in TERMINAL_BUILD_STATES:
                return
            build.cancel_requested = True
            process = build.process
        if process is not None:
            kill_group(process)  # type: ignore[arg-type]
        build.done.wait(timeout=30)

    def status(self, build_id: str) -> str:
        with self._lock:
            return self._get(build_id).status

    def wait(self, build_id: str, timeout: float | None = None) -> str:
        """Block until the build ends (tests, the command line); return its status."""
        build = self._get(build_id)
        build.done.wait(timeout)
        return build.status

    def _get(self, build_id: str) -> LocalBuild:
        build = self._builds.get(build_id)
        if build is None:
            raise NotFound(f"build {build_id} is unknown to the local build runner")
        return build

    def _run(self, build: LocalBuild, spec_path: Path) -> None:
        logs_dir = self.logs_root / build.experiment_id
        logs_dir.mkdir(parents=True, exist_ok=True)
        log_path = logs_dir / "Compile.log"
        compiled = spec_path.parent / "pipeline.json"
        command = [self.python, "-m", COMPILE_MODULE, "--spec-uri", build.spec_uri, "--output", str(compiled),
                   "--target", "local"]
        with self._lock:
            if build.cancel_requested:
                self._finish(build, "CANCELLED")
                return
            build.started = datetime.now(timezone.utc)
            process = spawn_group(command)
            build.process = process
            self._publish(build, "WORKING")
        assert process.stdout is not None
        with log_path.open("a") as output:
            for line in process.stdout:
                output.write(line)
                output.flush()
        code = process.wait()
        with self._lock:
            if build.cancel_requested:
                self._finish(build, "CANCELLED")
                return
            if code != 0:
                tail = log_path.read_text(errors="replace")[-FAILURE_TAIL_CHARS:]
                self._finish(build, "FAILURE", failure=f"compile step exited with code {code}: {tail}")
                return
        try:
            job_name = self.pipelines.submit(build.experiment_id, compiled.as_uri())
        except Exception as exc:  # noqa: BLE001 - any submit error is the build's failure
            with self._lock:
                self._finish(build, "FAILURE", failure=f"submitting the pipeline failed: {exc}")
            return
        with self._lock:
            build.pipeline_job_name = job_name
            self._finish(build, "SUCCESS")

    def _finish(self, build: LocalBuild, status: str, failure: str = "") -> None:
        build.status = status
        self._publish(build, status, failure)
        build.done.set()
        log.info("local build finished", extra=fields(experiment_id=build.experiment_id, build_id=build.id,
                                                       status=status))

    def _publish(self, build: LocalBuild, status: str, failure: str = "") -> None:
        build.status = status
        resource = build_resource(
            build.id, build.experiment_id, status, project=self.project,
            pipeline_job_name=build.pipeline_job_name, failure_detail=failure,
            create_time=build.created, start_time=build.started,
            log_url=(self.logs_root / build.experiment_id / "Compile.log").as_uri(),
        )
        data, attributes = build_notification(resource)
        self.bus.publish(Topics.BUILDS, data, attributes)
