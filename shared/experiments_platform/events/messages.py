"""Typed messages and the topics they travel on, each defined once.

Commands are imperative (``SubmitExperiment``), events past tense (``BuildFinished``).
Every message is a pydantic model carried as JSON in the message body, with its type name
in the ``type`` attribute. Google-shaped payloads (Cloud Build notifications, Vertex AI
log-sink entries) are translated into these events by ``experiments_platform.events.google_events``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict

from experiments_platform.domain.status import Stage
from experiments_platform.ports.documents import DOCUMENT_ID_RULE, is_document_id


def _experiment_id(value: str) -> str:
    if not is_document_id(value):
        raise ValueError(f"experiment_id {value[:80]!r} is no valid id ({DOCUMENT_ID_RULE})")
    return value


ExperimentId = Annotated[str, AfterValidator(_experiment_id)]
"""An experiment id every store accepts: a message naming anything else is malformed, never retried."""


class Topics:
    SUBMIT = "experiment-submit"
    CANCEL = "experiment-cancel"
    BUILDS = "cloud-builds"  # Google's Cloud Build notification topic (its name is fixed)
    PIPELINE_STATE = "pipeline-state"

    ALL: ClassVar[tuple[str, ...]] = (SUBMIT, CANCEL, BUILDS, PIPELINE_STATE)

    @staticmethod
    def dead_letter(topic: str) -> str:
        return f"{topic}-dead-letter"


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        return self.model_dump_json().encode(), {"type": type(self).__name__}


class SubmitExperiment(Message):
    experiment_id: ExperimentId


class CancelExperiment(Message):
    experiment_id: ExperimentId


BuildState = Literal["QUEUED", "WORKING", "SUCCESS", "FAILURE", "INTERNAL_ERROR", "TIMEOUT", "CANCELLED", "EXPIRED"]
PipelineState = Literal[
    "PIPELINE_STATE_QUEUED", "PIPELINE_STATE_PENDING", "PIPELINE_STATE_RUNNING", "PIPELINE_STATE_SUCCEEDED",
    "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLING", "PIPELINE_STATE_CANCELLED", "PIPELINE_STATE_PAUSED",
]
TaskState = Literal[
    "PENDING", "RUNNING", "SUCCEEDED", "CANCEL_PENDING", "CANCELLING", "CANCELLED", "FAILED", "SKIPPED",
    "NOT_TRIGGERED",
]


class BuildFinished(Message):
    """The compile-and-submit build reached a state (Cloud Build notification)."""

    experiment_id: ExperimentId
    build_id: str
    status: BuildState
    pipeline_job_name: str | None = None
    log_excerpt: str = ""


class PipelineJobStateChanged(Message):
    experiment_id: ExperimentId
    job_name: str
    state: PipelineState
    error_message: str = ""
    occurred_at: datetime | None = None
    """When the job changed state (the log entry's ``timestamp``); None when found by a poll."""


class PipelineTaskStateChanged(Message):
    experiment_id: ExperimentId
    job_name: str
    task_name: str
    stage: Stage | None = None
    state: TaskState
    error_message: str = ""
    occurred_at: datetime | None = None
    """When the task changed state (the log entry's ``timestamp``): a redelivered event stamps its stage
    with this, not with the time it was processed. None when found by a poll."""


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.__name__: cls
    for cls in (SubmitExperiment, CancelExperiment, BuildFinished, PipelineJobStateChanged, PipelineTaskStateChanged)
}


def decode(data: bytes | str | dict[str, Any], attributes: dict[str, str] | None = None) -> Message:
    """Rebuild a typed message from a body and its ``type`` attribute.

    Raises ``ValueError`` for an unknown type or a malformed body (callers acknowledge and log
    such poison-free malformed messages instead of retrying them).
    """
    attributes = attributes or {}
    kind = attributes.get("type")
    if kind not in MESSAGE_TYPES:
        raise ValueError(f"unknown message type {kind!r}; expected one of {sorted(MESSAGE_TYPES)}")
    payload = data if isinstance(data, dict) else json.loads(data)
    return MESSAGE_TYPES[kind].model_validate(payload)
