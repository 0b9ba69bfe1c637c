"""Test doubles of the ports, in one module that mypy checks against the ports (``make lint``).

Each class subclasses the port it stands in for, so a port that gains or changes a method fails
the type check here instead of drifting silently. They stand in only for what a test does not
exercise: blobs in memory, and compute services and a bus that record the calls the code under
test makes (the end-to-end tests run the real local runners instead).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import IO

from experiments_platform.errors import NotFound
from experiments_platform.events.google_events import TERMINAL_BUILD_STATES, to_message
from experiments_platform.events.messages import Message
from experiments_platform.ports.blobs import BlobStore
from experiments_platform.ports.builds import BuildResult, BuildService
from experiments_platform.ports.bus import EventBus
from experiments_platform.ports.pipelines import ChildJob, JobStatus, PipelineService, TaskStatus


class MemoryBlobs(BlobStore):
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def read_bytes(self, uri: str) -> bytes:
        if uri not in self.objects:
            raise NotFound(f"{uri} does not exist", field="uri")
        return self.objects[uri]

    def write_bytes(self, uri: str, data: bytes, content_type: str | None = None) -> None:
        self.objects[uri] = data

    def write_stream(self, uri: str, stream: IO[bytes], content_type: str | None = None) -> None:
        self.objects[uri] = stream.read()

    def exists(self, uri: str) -> bool:
        return uri in self.objects

    def list(self, prefix_uri: str) -> list[str]:
        return sorted(u for u in self.objects if u.startswith(prefix_uri))

    def delete(self, uri: str) -> None:
        self.objects.pop(uri, None)


class RecordingBus(EventBus):
    """Keeps every published message; delivers none."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        self.published.append((topic, data, dict(attributes or {})))
        return str(len(self.published))

    def typed(self, topic: str) -> list[Message]:
        """The messages published on ``topic``, decoded (Google-shaped events into their typed messages)."""
        decoded = (to_message(data, attributes) for t, data, attributes in self.published if t == topic)
        return [message for message in decoded if message is not None]


class RecordingBuilds(BuildService):
    """Builds that start as WORKING and stay in whatever state a test sets in ``states``.

    ``job_names`` holds the pipeline job a SUCCESS build reports (``result``); ``on_start`` runs
    when a build starts (a test's way to act while the submitter is between two steps).
    """

    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []
        self.cancelled: list[str] = []
        self.states: dict[str, str] = {}
        self.tasks: dict[str, list[TaskStatus]] = {}
        self.errors: dict[str, str] = {}
        self.child_jobs: dict[str, list[ChildJob]] = {}
        self.children_cancelled: list[str] = []
        self.job_names: dict[str, str] = {}
        self.on_start: Callable[[str], None] | None = None
        self._ids = itertools.count(1)

    def start(self, experiment_id: str, spec_uri: str) -> str:
        build_id = f"build-{next(self._ids)}"
        self.started.append((experiment_id, spec_uri))
        self.states[build_id] = "WORKING"
        if self.on_start:
            self.on_start(experiment_id)
        return build_id

    def cancel(self, build_id: str) -> None:
        self.cancelled.append(build_id)
        if self.states.get(build_id) in ("QUEUED", "WORKING"):
            self.states[build_id] = "CANCELLED"

    def status(self, build_id: str) -> str:
        return self.states.get(build_id, "SUCCESS")

    def result(self, build_id: str) -> BuildResult:
        status = self.status(build_id)
        failed = status in TERMINAL_BUILD_STATES and status not in ("SUCCESS", "CANCELLED")
        job_name = self.job_names.get(build_id) if status == "SUCCESS" else None
        return BuildResult(status=status, pipeline_job_name=job_name,
                           log_excerpt=f"build {build_id} ended {status}" if failed else "")


class RecordingPipelines(PipelineService):
    """Jobs are RUNNING until a test sets their state in ``states``; cancelling one records it."""

    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.states: dict[str, str] = {}
        self.tasks: dict[str, list[TaskStatus]] = {}
        self.errors: dict[str, str] = {}
        self.child_jobs: dict[str, list[ChildJob]] = {}
        self.children_cancelled: list[str] = []

    def submit(self, experiment_id: str, compiled_uri: str) -> str:
        raise AssertionError("the services never submit pipelines themselves; the build does")

    def cancel(self, job_name: str) -> None:
        self.cancelled.append(job_name)
        self.states[job_name] = "PIPELINE_STATE_CANCELLED"

    def state(self, job_name: str) -> str:
        return self.states.get(job_name, "PIPELINE_STATE_RUNNING")

    def describe(self, job_name: str) -> JobStatus:
        """The state in ``states``, the tasks in ``tasks`` and the error text in ``errors``."""
        return JobStatus(job_name=job_name, state=self.state(job_name), error_message=self.errors.get(job_name, ""),
                         tasks=tuple(self.tasks.get(job_name, ())))

    def children(self, experiment_id: str) -> list[ChildJob]:
        return list(self.child_jobs.get(experiment_id, []))

    def cancel_children(self, experiment_id: str) -> list[ChildJob]:
        found = self.children(experiment_id)
        self.children_cancelled += [child.name for child in found if child.active]
        return found


def recording_ports() -> dict[str, BlobStore | EventBus | BuildService | PipelineService]:
    """Fresh doubles by ``Platform`` port name: blobs in memory; bus, builds and pipelines recorded."""
    return {"blobs": MemoryBlobs(), "bus": RecordingBus(), "builds": RecordingBuilds(),
            "pipelines": RecordingPipelines()}
