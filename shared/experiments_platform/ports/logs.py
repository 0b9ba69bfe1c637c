"""Log store port (Cloud Logging; per-component log files locally)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class LogSource:
    """Where an experiment's logs are, as its document says: the caller reads the document, not the store."""

    experiment_id: str
    since: datetime
    """The experiment's creation: no log line of it is older."""
    build_id: str | None = None
    """The Cloud Build that compiles and submits the pipeline (``Compile``), once started."""
    pipeline_job_name: str | None = None
    """The pipeline job (``projects/…/locations/…/pipelineJobs/…``), once submitted."""


class LogStore(Protocol):
    def tail(self, source: LogSource, component: str, lines: int = 200) -> list[str]:
        """The last ``lines`` log lines of one pipeline component (or ``Compile``) of an experiment."""
        ...
