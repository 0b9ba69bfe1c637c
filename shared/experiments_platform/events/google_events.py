"""Builders and parsers of the event shapes Google Cloud really delivers.

Three shapes reach the services (docs/decisions/004-google-event-shapes.md):

* Cloud Build notifications on the ``cloud-builds`` topic: ``data`` is the Build resource as
  JSON, attributes ``buildId`` and ``status``. The experiment id travels in the build's
  substitutions (``_EXPERIMENT_ID``) and tags (``experiment-{id}``); the submitted Vertex
  pipeline job name in the first build step output (``results.buildStepOutputs``, what a step
  writes to ``$BUILDER_OUTPUT/output``) as ``{"pipeline_job_name": ...}``.
* Vertex AI pipeline job and task state changes, as a Cloud Logging sink delivers them to
  Pub/Sub: ``data`` is a LogEntry (``logName`` ``.../logs/aiplatform.googleapis.com%2Fpipeline_job_events``,
  resource ``aiplatform.googleapis.com/PipelineJob``), attribute ``logging.googleapis.com/timestamp``.
* The platform's own typed messages (``messages.py``), attribute ``type``.

The local build and pipeline runners publish the first two shapes with the builders here, so
the status watcher runs the same parsing code on one machine and on GCP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any, get_args
from urllib.parse import quote

from pydantic import ValidationError

from experiments_platform.domain import pipeline_jobs
from experiments_platform.domain.status import COMPONENT_STAGES, Stage
from experiments_platform.events.messages import (
    MESSAGE_TYPES,
    BuildFinished,
    BuildState,
    Message,
    PipelineJobStateChanged,
    PipelineState,
    PipelineTaskStateChanged,
    TaskState,
    decode,
)

EXPERIMENT_SUBSTITUTION = "_EXPERIMENT_ID"
EXPERIMENT_TAG_PREFIX = "experiment-"
EXPERIMENT_LABEL = pipeline_jobs.EXPERIMENT_LABEL
PIPELINE_LOG_ID = "aiplatform.googleapis.com/pipeline_job_events"
PIPELINE_RESOURCE_TYPE = "aiplatform.googleapis.com/PipelineJob"
LOG_TIMESTAMP_ATTRIBUTE = "logging.googleapis.com/timestamp"

CLOUD_BUILD_EVENT_TYPE = "google.cloud.cloudbuild.build.v1.statusChanged"
PUBSUB_EVENT_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"

BUILD_STATES: frozenset[str] = frozenset(get_args(BuildState))
PIPELINE_STATES: frozenset[str] = frozenset(get_args(PipelineState))
TASK_STATES: frozenset[str] = frozenset(get_args(TaskState))
TERMINAL_BUILD_STATES = frozenset({"SUCCESS", "FAILURE", "INTERNAL_ERROR", "TIMEOUT", "CANCELLED", "EXPIRED"})
TERMINAL_PIPELINE_STATES = frozenset({"PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"})

# Build.Status as numbers (the CloudEvent data's proto enum may arrive numeric).
_BUILD_STATUS_NUMBERS = {
    1: "QUEUED", 2: "WORKING", 3: "SUCCESS", 4: "FAILURE", 5: "INTERNAL_ERROR",
    6: "TIMEOUT", 7: "CANCELLED", 9: "EXPIRED", 10: "QUEUED",
}
_JOB_ID_EXPERIMENT = re.compile(r"^qt-(?P<experiment>[a-z0-9]+)-\d{14}$")


class MalformedEvent(ValueError):
    """The payload is not a shape this platform understands; acknowledge and log, never retry."""


def rfc3339(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- pipeline job names ----------------------------------------------------------------------


def new_pipeline_job_id(experiment_id: str, at: datetime | None = None) -> str:
    """A Vertex-valid job id (``[a-z0-9][a-z0-9-]{0,127}``) that names its experiment."""
    stamp = (at or datetime.now(timezone.utc)).strftime("%Y%m%d%H%M%S")
    slug = re.sub(r"[^a-z0-9]", "", experiment_id.lower())[:100] or "x"
    return f"qt-{slug}-{stamp}"


def pipeline_job_name(project: str, location: str, job_id: str) -> str:
    """``projects/{project}/locations/{location}/pipelineJobs/{job_id}``."""
    return pipeline_jobs.full_name(project, location, job_id)


def job_id_of(job_name: str) -> str:
    """The job id of any name of the job (``domain.pipeline_jobs``: the job's identity)."""
    return pipeline_jobs.job_id(job_name)


def experiment_id_from_job(job_name: str) -> str | None:
    """The experiment id a job id made by ``new_pipeline_job_id`` carries (lower-cased slug)."""
    match = _JOB_ID_EXPERIMENT.match(job_id_of(job_name))
    return match.group("experiment") if match else None


# --- Cloud Build -----------------------------------------------------------------------------


def build_resource(
    build_id: str,
    experiment_id: str,
    status: str,
    *,
    project: str,
    pipeline_job_name: str | None = None,
    status_detail: str = "",
    failure_detail: str = "",
    create_time: datetime | None = None,
    start_time: datetime | None = None,
    finish_time: datetime | None = None,
    log_url: str | None = None,
) -> dict[str, Any]:
    """The Build resource JSON as the Cloud Build API renders it (a subset of its fields)."""
    if status not in BUILD_STATES:
        raise ValueError(f"build status {status!r} is not one of {sorted(BUILD_STATES)}")
    build: dict[str, Any] = {
        "id": build_id,
        "projectId": project,
        "status": status,
        "createTime": rfc3339(create_time),
        "substitutions": {EXPERIMENT_SUBSTITUTION: experiment_id},
        "tags": [f"{EXPERIMENT_TAG_PREFIX}{experiment_id}"],
        "logUrl": log_url or f"https://console.cloud.google.com/cloud-build/builds/{build_id}?project={project}",
    }
    if start_time or status != "QUEUED":
        build["startTime"] = rfc3339(start_time)
    if status in TERMINAL_BUILD_STATES:
        build["finishTime"] = rfc3339(finish_time)
    if status_detail:
        build["statusDetail"] = status_detail
    if failure_detail:
        build["failureInfo"] = {"type": "USER_BUILD_STEP", "detail": failure_detail}
    if pipeline_job_name:
        output = json.dumps({"pipeline_job_name": pipeline_job_name}).encode()
        build["results"] = {"buildStepOutputs": ["", base64.b64encode(output).decode()]}
    return build


def build_notification(build: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """Message body and attributes of a Cloud Build notification on ``cloud-builds``."""
    return json.dumps(build).encode(), {"buildId": str(build["id"]), "status": str(build["status"])}


def _build_status(value: Any) -> str:
    if isinstance(value, int):
        value = _BUILD_STATUS_NUMBERS.get(value, "")
    if value == "PENDING":
        value = "QUEUED"
    if value not in BUILD_STATES:
        raise MalformedEvent(f"build status {value!r} is not one of {sorted(BUILD_STATES)}")
    return str(value)


def _build_experiment_id(build: dict[str, Any]) -> str | None:
    substitutions = build.get("substitutions") or {}
    if substitutions.get(EXPERIMENT_SUBSTITUTION):
        return str(substitutions[EXPERIMENT_SUBSTITUTION])
    for tag in build.get("tags") or []:
        if isinstance(tag, str) and tag.startswith(EXPERIMENT_TAG_PREFIX):
            return tag[len(EXPERIMENT_TAG_PREFIX):]
    return None


def _build_job_name(build: dict[str, Any]) -> str | None:
    for encoded in (build.get("results") or {}).get("buildStepOutputs") or []:
        if not encoded:
            continue
        try:
            text = base64.b64decode(encoded).decode().strip()
        except (ValueError, UnicodeDecodeError):
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        if isinstance(value, dict) and value.get("pipeline_job_name"):
            return str(value["pipeline_job_name"])
        if isinstance(value, str) and "/pipelineJobs/" in value:
            return value
    return None


def parse_build(build: dict[str, Any], attributes: dict[str, str] | None = None) -> BuildFinished | None:
    """A ``BuildFinished`` from a Build resource; None for builds that are not experiments'."""
    attributes = attributes or {}
    build_id = build.get("id") or attributes.get("buildId")
    if not build_id:
        raise MalformedEvent("Cloud Build notification without a build id (data.id or attribute buildId)")
    status = _build_status(build.get("status", attributes.get("status")))
    experiment_id = _build_experiment_id(build)
    if experiment_id is None:
        return None
    excerpt = "\n".join(
        part for part in (build.get("statusDetail", ""), (build.get("failureInfo") or {}).get("detail", "")) if part
    )
    return BuildFinished(
        experiment_id=experiment_id,
        build_id=str(build_id),
        status=status,  # type: ignore[arg-type]
        pipeline_job_name=_build_job_name(build),
        log_excerpt=excerpt,
    )


# --- Vertex AI pipeline state log entries ----------------------------------------------------


def _log_entry(
    job_name: str,
    payload: dict[str, Any],
    *,
    experiment_id: str | None,
    severity: str,
    timestamp: datetime | None,
) -> dict[str, Any]:
    parts = job_name.split("/")
    project = parts[1] if len(parts) > 1 and parts[0] == "projects" else "local"
    location = parts[3] if len(parts) > 3 and parts[2] == "locations" else "local"
    job_id = job_id_of(job_name)
    when = rfc3339(timestamp)
    identity = f"{job_name}|{json.dumps(payload, sort_keys=True)}|{when}"
    entry: dict[str, Any] = {
        "insertId": hashlib.sha256(identity.encode()).hexdigest()[:16],
        "logName": f"projects/{project}/logs/{quote(PIPELINE_LOG_ID, safe='')}",
        "resource": {
            "type": PIPELINE_RESOURCE_TYPE,
            "labels": {"resource_container": project, "location": location, "pipeline_job_id": job_id},
        },
        "jsonPayload": {"pipelineJobName": job_name, **payload},
        "severity": severity,
        "timestamp": when,
        "receiveTimestamp": when,
    }
    if experiment_id:
        entry["labels"] = {EXPERIMENT_LABEL: experiment_id}
    return entry


def pipeline_job_log_entry(
    job_name: str,
    state: str,
    *,
    experiment_id: str | None = None,
    error_message: str = "",
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """LogEntry of a pipeline job state change."""
    if state not in PIPELINE_STATES:
        raise ValueError(f"pipeline state {state!r} is not one of {sorted(PIPELINE_STATES)}")
    payload: dict[str, Any] = {"state": state, "message": f"Pipeline job {job_id_of(job_name)} is {state}"}
    if error_message:
        payload["error"] = {"code": 9, "message": error_message}
    severity = "ERROR" if state == "PIPELINE_STATE_FAILED" else "INFO"
    return _log_entry(job_name, payload, experiment_id=experiment_id, severity=severity, timestamp=timestamp)


def pipeline_task_log_entry(
    job_name: str,
    task_name: str,
    state: str,
    *,
    experiment_id: str | None = None,
    error_message: str = "",
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """LogEntry of a pipeline task (TFX component) state change."""
    if state not in TASK_STATES:
        raise ValueError(f"task state {state!r} is not one of {sorted(TASK_STATES)}")
    payload: dict[str, Any] = {
        "taskName": task_name,
        "state": state,
        "message": f"Task {task_name} of pipeline job {job_id_of(job_name)} is {state}",
    }
    if error_message:
        payload["error"] = {"code": 9, "message": error_message}
    severity = "ERROR" if state == "FAILED" else "INFO"
    return _log_entry(job_name, payload, experiment_id=experiment_id, severity=severity, timestamp=timestamp)


def log_sink_message(entry: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """Body and attributes of a LogEntry as a Cloud Logging sink publishes it to Pub/Sub."""
    return json.dumps(entry).encode(), {LOG_TIMESTAMP_ATTRIBUTE: entry.get("timestamp", rfc3339())}


def _error_text(payload: dict[str, Any]) -> str:
    error = payload.get("error")
    if isinstance(error, dict):
        return str(error.get("message", ""))
    return str(error or "")


def parse_log_entry(entry: dict[str, Any]) -> PipelineJobStateChanged | PipelineTaskStateChanged | None:
    """The state change a pipeline_job_events LogEntry reports; None for other log entries."""
    payload = entry.get("jsonPayload")
    if not isinstance(payload, dict) or "state" not in payload:
        return None
    labels = (entry.get("resource") or {}).get("labels") or {}
    job_name = payload.get("pipelineJobName") or labels.get("pipeline_job_id")
    if not job_name:
        raise MalformedEvent("pipeline log entry names no job (jsonPayload.pipelineJobName or resource.labels)")
    experiment_id = (entry.get("labels") or {}).get(EXPERIMENT_LABEL) or experiment_id_from_job(job_name)
    if not experiment_id:
        return None
    state = payload["state"]
    task_name = payload.get("taskName")
    if task_name:
        if state not in TASK_STATES:
            raise MalformedEvent(f"task state {state!r} is not one of {sorted(TASK_STATES)}")
        return PipelineTaskStateChanged(
            experiment_id=experiment_id,
            job_name=job_name,
            task_name=task_name,
            stage=stage_of_task(task_name),
            state=state,
            error_message=_error_text(payload),
            occurred_at=entry.get("timestamp"),
        )
    if state not in PIPELINE_STATES:
        raise MalformedEvent(f"pipeline state {state!r} is not one of {sorted(PIPELINE_STATES)}")
    return PipelineJobStateChanged(
        experiment_id=experiment_id, job_name=job_name, state=state, error_message=_error_text(payload),
        occurred_at=entry.get("timestamp"),
    )


def stage_of_task(task_name: str) -> Stage | None:
    """The card stage of a TFX component id or Vertex task name (``trainer`` → train)."""
    if task_name in COMPONENT_STAGES:
        return COMPONENT_STAGES[task_name]
    lowered = {name.lower(): stage for name, stage in COMPONENT_STAGES.items()}
    return lowered.get(task_name.lower().replace("-", "").replace("_", ""))


# --- one entry for every shape ---------------------------------------------------------------


def to_message(data: bytes, attributes: dict[str, str] | None = None) -> Message | None:
    """The typed message a delivery carries, whatever its shape.

    Returns None for well-formed events that are not about an experiment (other builds, other
    log entries); raises ``MalformedEvent`` for anything unreadable.
    """
    attributes = dict(attributes or {})
    if attributes.get("type") in MESSAGE_TYPES:
        try:
            return decode(data, attributes)
        except ValueError as exc:
            raise MalformedEvent(f"malformed {attributes['type']} message: {exc}") from None
    try:
        body = json.loads(data or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedEvent("message body is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedEvent(f"message body is a JSON {type(body).__name__}, expected an object")
    try:
        if "buildId" in attributes or ("id" in body and "status" in body and "logName" not in body):
            return parse_build(body, attributes)
        if "logName" in body or "jsonPayload" in body:
            return parse_log_entry(body)
    except ValidationError as exc:
        problems = "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in exc.errors())
        raise MalformedEvent(f"malformed event: {problems}") from None
    raise MalformedEvent(
        "unrecognised message: expected a typed platform message (attribute 'type'), "
        "a Cloud Build notification or a pipeline log entry"
    )
