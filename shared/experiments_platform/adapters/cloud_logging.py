"""Cloud Logging adapter of ``ports.logs.LogStore``.

Where each component's lines live on GCP:

- ``Compile`` (the Cloud Build that compiles and submits the pipeline):
  ``resource.type="build" AND resource.labels.build_id="{cloud_build_id}"``;
- a pipeline component (``Trainer``, ...): each Vertex AI pipeline task runs as a CustomJob, whose
  container logs are ``resource.type="ml_job" AND resource.labels.job_id="{custom job id}"``. The
  custom job id comes from the pipeline job's task details (``GetPipelineJob``:
  ``job_detail.task_details[task_name == component].executor_detail.container_detail.main_job``).

Both filters also bound the time from the experiment's creation (otherwise the client adds a
"last 24 hours" bound). The ids and the time come from the caller (``ports.logs.LogSource``), which
read them from the experiment's document. One ``entries.list`` request fetches the newest ``lines`` entries
(``timestamp desc``), returned oldest first.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as gexc

from experiments_platform.adapters._shared import check_lines, check_log_name
from experiments_platform.config import Settings
from experiments_platform.errors import ConfigurationError, TransientError
from experiments_platform.ports.logs import LogSource

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import PipelineServiceClient
    from google.cloud.logging import Client as LoggingClient

DESCENDING = "timestamp desc"


def quote(value: str) -> str:
    """A Cloud Logging filter string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rfc3339(moment: datetime) -> str:
    """A filter timestamp (UTC, microseconds); a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_filter(build_id: str, since: str) -> str:
    return (f"resource.type={quote('build')} AND resource.labels.build_id={quote(build_id)} "
            f"AND timestamp>={quote(since)}")


def task_filter(custom_job_id: str, since: str) -> str:
    return (f"resource.type={quote('ml_job')} AND resource.labels.job_id={quote(custom_job_id)} "
            f"AND timestamp>={quote(since)}")


_LEVELS = {"DEFAULT": "INFO", "NOTICE": "INFO", "ALERT": "CRITICAL", "EMERGENCY": "CRITICAL"}
"""Cloud Logging's severities beyond Python's level names, as the component log's header writes them."""
_ENVELOPE = ("message", "logger", "severity", "time", "timestamp", "service")
"""``jsonlog.JsonFormatter``'s keys that the header line says; the other keys are the record's fields."""


def entry_text(entry: Any) -> str:
    """One entry as one log line. A text entry is its text; a JSON entry (a container's JSON line, which
    Cloud Logging parses into ``jsonPayload``) is written as the local runner writes a record
    (``pipeline.run_local.ComponentLogFormatter``): ``2026-01-05 10:01:00,000 INFO logger: message``, then
    its other fields as one JSON object, so that ``epoch finished`` keeps its epoch and losses and the
    Pipeline tab's summary (``domain.log_summary``) reads both stores' lines alike."""
    payload = entry.payload
    if isinstance(payload, str):
        return payload.rstrip("\n")
    if not isinstance(payload, dict):
        return "" if payload is None else str(payload)
    message = str(payload.get("message", "")).rstrip("\n")
    values = {k: v for k, v in payload.items() if k not in _ENVELOPE and not k.startswith("logging.googleapis.com/")}
    text = f"{message} {json.dumps(values, default=str)}".strip() if values else message
    moment = entry.timestamp
    if not isinstance(moment, datetime):
        return text
    severity = str(entry.severity or payload.get("severity") or "DEFAULT").upper()
    level = _LEVELS.get(severity, severity)
    logger = str(payload.get("logger") or "-").replace(" ", "_")
    at = moment.astimezone(timezone.utc)
    return f"{at:%Y-%m-%d %H:%M:%S},{at.microsecond // 1000:03d} {level} {logger}: {text}"


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
    """Reads component logs of an experiment from Cloud Logging."""

    def __init__(
        self,
        project: str,
        logging_client: LoggingClient | None = None,
        pipelines_client: PipelineServiceClient | None = None,
    ) -> None:
        if not project:
            raise ConfigurationError("PLATFORM_GCP_PROJECT is required by PLATFORM_LOG_STORE=cloudlogging")
        self.project = project
        self._logging = logging_client
        self._pipelines = pipelines_client

    @classmethod
    def from_settings(cls, settings: Settings) -> CloudLoggingLogStore:
        return cls(settings.gcp_project or "")

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

    def log_filter(self, source: LogSource, component: str) -> str | None:
        """The filter selecting one component's entries, or None while there is nothing to read."""
        since = rfc3339(source.since)
        if component == "Compile":
            return build_filter(source.build_id, since) if source.build_id else None
        job_name = source.pipeline_job_name
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

    def tail(self, source: LogSource, component: str, lines: int = 200) -> list[str]:
        check_log_name(component, "component")
        check_lines(lines)
        log_filter = self.log_filter(source, component)
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
