"""Cloud Logging adapter of ``ports.logs.LogStore``.

Where each component's lines live on GCP:

- ``Compile`` (the Cloud Build that compiles and submits the pipeline):
  ``resource.type="build" AND resource.labels.build_id="{cloud_build_id}"``;
- a pipeline component (``Trainer``, ...): each Vertex AI pipeline task runs as a CustomJob, whose
  container logs are ``resource.type="ml_job" AND resource.labels.job_id="{custom job id}"``. The
  custom job id comes from the pipeline job's task details (``GetPipelineJob``:
  ``job_detail.task_details[task_name == component].executor_detail.container_detail.main_job``).

Both filters also bound the time from the experiment's ``created_at`` (otherwise the client adds a
"last 24 hours" bound). One ``entries.list`` request fetches the newest ``lines`` entries
(``timestamp desc``), returned oldest first.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as gexc

from experiments_platform.adapters._shared import check_doc_id, check_lines, check_log_name
from experiments_platform.config import Settings
from experiments_platform.errors import ConfigurationError, NotFound, TransientError
from experiments_platform.ports.documents import DocumentStore

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import PipelineServiceClient
    from google.cloud.logging import Client as LoggingClient

DESCENDING = "timestamp desc"


def quote(value: str) -> str:
    """A Cloud Logging filter string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_filter(build_id: str, since: str) -> str:
    return (f"resource.type={quote('build')} AND resource.labels.build_id={quote(build_id)} "
            f"AND timestamp>={quote(since)}")


def task_filter(custom_job_id: str, since: str) -> str:
    return (f"resource.type={quote('ml_job')} AND resource.labels.job_id={quote(custom_job_id)} "
            f"AND timestamp>={quote(since)}")


def entry_text(entry: Any) -> str:
    payload = entry.payload
    if isinstance(payload, str):
        return payload.rstrip("\n")
    if isinstance(payload, dict):
        message = payload.get("message")
        return str(message).rstrip("\n") if message is not None else json.dumps(payload, sort_keys=True, default=str)
    return "" if payload is None else str(payload)


def custom_job_id(pipeline_job: Any, component: str) -> str | None:
    """The CustomJob id that ran ``component`` in a ``PipelineJob``, or None before it started."""
    for task in pipeline_job.job_detail.task_details:
        if task.task_name != component:
            continue
        detail = task.executor_detail
        job = detail.container_detail.main_job or detail.custom_job_detail.job
        return job.rsplit("/", 1)[-1] if job else None
    return None


class CloudLoggingLogStore:
    """Reads component logs of an experiment; ids come from its document (``experiments/{id}``)."""

    def __init__(
        self,
        project: str,
        documents: DocumentStore,
        logging_client: LoggingClient | None = None,
        pipelines_client: PipelineServiceClient | None = None,
    ) -> None:
        if not project:
            raise ConfigurationError("PLATFORM_GCP_PROJECT is required by PLATFORM_LOG_STORE=cloudlogging")
        self.project = project
        self.documents = documents
        self._logging = logging_client
        self._pipelines = pipelines_client

    @classmethod
    def from_settings(cls, settings: Settings, documents: DocumentStore) -> CloudLoggingLogStore:
        return cls(settings.gcp_project or "", documents)

    @property
    def logging_client(self) -> LoggingClient:
        if self._logging is None:
            from google.cloud.logging import Client as LoggingClient

            self._logging = LoggingClient(project=self.project)
        return self._logging

    def _pipelines_client(self, job_name: str) -> PipelineServiceClient:
        if self._pipelines is None:
            from google.cloud.aiplatform_v1 import PipelineServiceClient

            parts = job_name.split("/")
            location = parts[3] if len(parts) > 3 and parts[2] == "locations" else "us-central1"
            endpoint = f"{location}-aiplatform.googleapis.com"
            self._pipelines = PipelineServiceClient(client_options={"api_endpoint": endpoint})
        return self._pipelines

    def log_filter(self, experiment_id: str, component: str) -> str | None:
        """The filter selecting one component's entries, or None while there is nothing to read."""
        doc = self.documents.get("experiments", check_doc_id(experiment_id))
        if doc is None:
            raise NotFound(f"experiment {experiment_id} does not exist", field="experiment_id")
        since = str(doc.get("created_at") or "1970-01-01T00:00:00Z")
        if component == "Compile":
            build_id = doc.get("cloud_build_id")
            return build_filter(build_id, since) if build_id else None
        job_name = doc.get("pipeline_job_name")
        if not job_name:
            return None
        try:
            pipeline_job = self._pipelines_client(job_name).get_pipeline_job(name=job_name)
        except gexc.NotFound:
            return None
        except gexc.GoogleAPICallError as exc:
            raise TransientError(f"reading pipeline job {job_name} failed: {exc}") from exc
        job_id = custom_job_id(pipeline_job, component)
        return task_filter(job_id, since) if job_id else None

    def tail(self, experiment_id: str, component: str, lines: int = 200) -> list[str]:
        check_log_name(component, "component")
        check_lines(lines)
        log_filter = self.log_filter(experiment_id, component)
        if log_filter is None:
            return []
        try:
            entries = self.logging_client.list_entries(
                resource_names=[f"projects/{self.project}"],
                filter_=log_filter,
                order_by=DESCENDING,
                page_size=lines,
                max_results=lines,
            )
            newest_first = [entry_text(entry) for entry in entries]
        except gexc.GoogleAPICallError as exc:
            raise TransientError(f"reading Cloud Logging entries failed: {exc}") from exc
        return newest_first[::-1]
