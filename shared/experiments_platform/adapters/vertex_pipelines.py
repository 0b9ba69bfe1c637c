"""Vertex AI Pipelines adapter of ``ports.pipelines.PipelineService``.

Submits the pipeline job JSON that TFX's ``KubeflowV2DagRunner`` compiles, labelled with the
experiment id (``google_events.EXPERIMENT_LABEL``) and named by ``google_events.new_pipeline_job_id``
so that the status watcher can tie every state event back to its experiment. The client is built
on first use, never at import time; tests hand in a client bound to their own transport.

Run as a module it is the ``submit`` step of the Cloud Build (``cloudbuild/compile-and-submit.yaml``):
it submits the compiled file and writes ``{"pipeline_job_name": ...}`` to ``$BUILDER_OUTPUT/output``,
which Cloud Build returns in ``results.buildStepOutputs`` of its notification.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from experiments_platform.adapters._shared import API_TIMEOUT_S, call_with_retries
from experiments_platform.adapters.vertex_children import VertexChildJobs
from experiments_platform.config import Settings, load_settings
from experiments_platform.domain import pipeline_jobs
from experiments_platform.errors import ConfigurationError, InvalidInput, PlatformError
from experiments_platform.events.google_events import (
    EXPERIMENT_LABEL,
    job_id_of,
    new_pipeline_job_id,
    pipeline_job_name,
)
from experiments_platform.jsonlog import configure_logging, fields, get_logger
from experiments_platform.ports.blobs import BlobStore
from experiments_platform.ports.pipelines import ChildJob, JobStatus, TaskStatus

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import PipelineServiceClient

PLATFORM_LABEL = "platform"
PLATFORM_LABEL_VALUE = "experiments-platform"
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")

log = get_logger(__name__)

T = TypeVar("T")


def _label_value(value: str, field: str) -> str:
    if not _LABEL_VALUE.match(value):
        raise InvalidInput(
            f"{value!r} cannot be a Vertex AI label value: use at most 63 lowercase letters, digits, '_' or '-'",
            field=field,
        )
    return value


def _default_client(region: str) -> PipelineServiceClient:
    from google.cloud import aiplatform_v1

    return aiplatform_v1.PipelineServiceClient(client_options={"api_endpoint": f"{region}-aiplatform.googleapis.com"})


class VertexPipelineService:
    """Pipeline jobs on Vertex AI, in ``projects/{project}/locations/{region}``."""

    def __init__(
        self,
        *,
        project: str,
        region: str,
        pipeline_root: str,
        service_account: str,
        blobs: BlobStore | None = None,
        client_factory: Callable[[], PipelineServiceClient] | None = None,
        retry_first_wait_s: float = 0.5,
        child_jobs: VertexChildJobs | None = None,
    ) -> None:
        if not pipeline_root.startswith("gs://"):
            raise ConfigurationError(
                f"PLATFORM_PIPELINE_ROOT must be a gs:// URI for Vertex AI, got {pipeline_root!r}",
                field="PLATFORM_PIPELINE_ROOT",
            )
        self.project = project
        self.region = region
        self.pipeline_root = pipeline_root.rstrip("/")
        self.service_account = service_account
        self._blobs = blobs
        self._client_factory = client_factory or (lambda: _default_client(region))
        self._client: PipelineServiceClient | None = None
        self.retry_first_wait_s = retry_first_wait_s
        self.child_jobs = child_jobs or VertexChildJobs(project, region, retry_first_wait_s=retry_first_wait_s)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        blobs: BlobStore | None = None,
        client_factory: Callable[[], PipelineServiceClient] | None = None,
    ) -> VertexPipelineService:
        missing = [
            name
            for name, value in (
                ("PLATFORM_GCP_PROJECT", settings.gcp_project),
                ("PLATFORM_PIPELINE_ROOT", settings.pipeline_root),
                ("PLATFORM_PIPELINE_SERVICE_ACCOUNT", settings.pipeline_service_account),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(f"the Vertex AI pipeline service needs {', '.join(missing)}")
        return cls(
            project=str(settings.gcp_project),
            region=settings.gcp_region,
            pipeline_root=str(settings.pipeline_root),
            service_account=str(settings.pipeline_service_account),
            blobs=blobs,
            client_factory=client_factory,
        )

    @property
    def client(self) -> PipelineServiceClient:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    def submit(self, experiment_id: str, compiled_uri: str) -> str:
        from google.api_core import exceptions

        job = self.pipeline_job(experiment_id, self._read_json(compiled_uri))
        job_id = new_pipeline_job_id(experiment_id)
        name = pipeline_job_name(self.project, self.region, job_id)

        def create() -> str:
            try:
                created = self.client.create_pipeline_job(
                    parent=self.parent, pipeline_job=job, pipeline_job_id=job_id, retry=None, timeout=API_TIMEOUT_S
                )
            except exceptions.AlreadyExists:
                return name
            return str(created.name)

        created_name = self._call(create, f"create Vertex AI pipeline job {job_id}")
        log.info("pipeline job submitted", extra=fields(experiment_id=experiment_id, pipeline_job_name=created_name))
        return created_name

    def job_name(self, name: str) -> str:
        """The job's full name in the configured project and region, from any name of it (item 4)."""
        return pipeline_jobs.rebuild(self.project, self.region, name)

    def cancel(self, job_name: str) -> None:
        from google.api_core import exceptions

        name = self.job_name(job_name)

        def cancel() -> None:
            try:
                self.client.cancel_pipeline_job(name=name, retry=None, timeout=API_TIMEOUT_S)
            except (exceptions.FailedPrecondition, exceptions.NotFound) as exc:
                log.info("pipeline job not cancellable", extra=fields(pipeline_job_name=name, reason=str(exc)))

        self._call(cancel, f"cancel Vertex AI pipeline job {job_id_of(name)}")

    def state(self, job_name: str) -> str:
        return str(self._get(job_name).state.name)

    def describe(self, job_name: str) -> JobStatus:
        """``GetPipelineJob``: state, each task's state and error, and the error text the failure
        classification reads (the DAG's summary names only the failed tasks; their own errors follow)."""
        job = self._get(job_name)
        tasks = tuple(
            TaskStatus(task_name=str(task.task_name), state=str(task.state.name),
                       error_message=str(task.error.message) if task.error else "")
            for task in job.job_detail.task_details
        )
        failed = [f"{task.task_name}: {task.error_message}" for task in tasks if task.error_message]
        summary = str(job.error.message) if job.error else ""
        return JobStatus(job_name=self.job_name(job_name), state=str(job.state.name),
                         error_message="\n".join(filter(None, [summary, *failed])), tasks=tasks)

    def children(self, experiment_id: str) -> list[ChildJob]:
        """The Trainer's custom job and any Dataflow jobs labelled with the experiment (item 6)."""
        return self.child_jobs.find(_label_value(experiment_id, "experiment_id"))

    def cancel_children(self, experiment_id: str) -> list[ChildJob]:
        return self.child_jobs.cancel(_label_value(experiment_id, "experiment_id"))

    def _get(self, job_name: str) -> Any:
        name = self.job_name(job_name)
        return self._call(lambda: self.client.get_pipeline_job(name=name, retry=None, timeout=API_TIMEOUT_S),
                          f"read Vertex AI pipeline job {job_id_of(name)}")

    def pipeline_job(self, experiment_id: str, compiled: dict[str, Any]) -> Any:
        """The ``PipelineJob`` request message for a compiled pipeline job JSON."""
        from google.cloud import aiplatform_v1
        from google.protobuf import json_format, struct_pb2

        spec = compiled.get("pipelineSpec")
        if not isinstance(spec, dict) or "root" not in spec:
            raise InvalidInput(
                "the compiled pipeline has no pipelineSpec with a root DAG; compile it with KubeflowV2DagRunner",
                field="pipelineSpec",
            )
        pipeline_spec = struct_pb2.Struct()
        pipeline_spec.update(spec)
        runtime = dict(compiled.get("runtimeConfig") or {})
        runtime.setdefault("gcsOutputDirectory", self.pipeline_root)
        runtime_config = aiplatform_v1.PipelineJob.RuntimeConfig()
        json_format.ParseDict(runtime, aiplatform_v1.PipelineJob.RuntimeConfig.pb(runtime_config))
        labels = {str(k): str(v) for k, v in (compiled.get("labels") or {}).items()}
        labels[EXPERIMENT_LABEL] = _label_value(experiment_id, "experiment_id")
        labels[PLATFORM_LABEL] = PLATFORM_LABEL_VALUE
        return aiplatform_v1.PipelineJob(
            display_name=f"quick test {experiment_id}",
            pipeline_spec=pipeline_spec,
            runtime_config=runtime_config,
            labels=labels,
            service_account=self.service_account,
        )

    def _call(self, fn: Callable[[], T], action: str) -> T:
        return call_with_retries(fn, action, first_wait_s=self.retry_first_wait_s)

    def _read_json(self, uri: str) -> dict[str, Any]:
        parsed = urlparse(uri)
        if parsed.scheme == "gs":
            if self._blobs is None:
                raise ConfigurationError(f"reading {uri} needs a blob store; pass blobs= to VertexPipelineService")
            raw = self._blobs.read_bytes(uri)
        elif parsed.scheme in ("", "file"):
            path = Path(parsed.path if parsed.scheme == "file" else uri)
            if not path.is_file():
                raise InvalidInput(f"compiled pipeline {uri} does not exist", field="compiled_uri")
            raw = path.read_bytes()
        else:
            raise InvalidInput(f"compiled pipeline URI {uri!r} must be gs://, file:// or a path", field="compiled_uri")
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(f"compiled pipeline {uri} is not JSON: {exc}", field="compiled_uri") from None
        if not isinstance(value, dict):
            raise InvalidInput(f"compiled pipeline {uri} must be a JSON object", field="compiled_uri")
        return value


def write_builder_output(job_name: str, builder_output: str | None = None) -> Path | None:
    """Write ``{"pipeline_job_name": ...}`` where Cloud Build collects a step's output."""
    folder = builder_output or os.environ.get("BUILDER_OUTPUT")
    if not folder:
        return None
    path = Path(folder) / "output"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pipeline_job_name": job_name}))
    return path


def main(argv: Sequence[str] | None = None, client_factory: Callable[[], Any] | None = None) -> int:
    """``submit --experiment-id ID --compiled PATH``: the Cloud Build submit step."""
    parser = argparse.ArgumentParser(prog="python -m experiments_platform.adapters.vertex_pipelines")
    commands = parser.add_subparsers(dest="command", required=True)
    submit = commands.add_parser("submit", help="submit a compiled pipeline job JSON to Vertex AI")
    submit.add_argument("--experiment-id", required=True)
    submit.add_argument("--compiled", required=True, help="path or file:// URI of the compiled pipeline job JSON")
    submit.add_argument("--builder-output", default=None, help="folder for the step output (default $BUILDER_OUTPUT)")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging("cloud-build-submit", settings.gcp_project)
    try:
        service = VertexPipelineService.from_settings(settings, client_factory=client_factory)
        job_name = service.submit(args.experiment_id, args.compiled)
    except PlatformError as exc:
        log.error("pipeline submission failed", extra=fields(experiment_id=args.experiment_id, error=exc.to_dict()))
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    write_builder_output(job_name, args.builder_output)
    print(job_name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


