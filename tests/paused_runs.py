"""A local quick test held still where a test needs to see it: its pipeline worker stopped and continued.

A 50-user run can finish between two polls of a card. A test that must see the run in a state (a stage
running, a cancel arriving while a stage runs) waits until the run's job record says it is there, stops
the worker's whole process group (``SIGSTOP``, what a starved process looks like to the rest of the
stack) and continues it on leaving (``SIGCONT``), instead of hoping the machine is slow enough. The
stack, its events and the UI go on as they would; only the run waits.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

Job = dict[str, Any]
TERMINAL = {"PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"}
POLL_S = 0.02


class PipelineRun:
    """The local pipeline job of one experiment, found in the stack's data folder."""

    def __init__(self, data_dir: Path, experiment_id: str) -> None:
        self.jobs = data_dir / "pipelines" / "jobs"
        self.experiment_id = experiment_id

    def job(self) -> Job | None:
        for path in self.jobs.glob("*.json"):
            with suppress(OSError, ValueError):
                record = json.loads(path.read_text())
                if record.get("experiment_id") == self.experiment_id:
                    return dict(record)
        return None

    def wait_for(self, condition: Callable[[Job], bool], timeout_s: float = 300) -> Job:
        """The job record once ``condition`` holds; fails if the job ends first or the time runs out."""
        deadline = time.monotonic() + timeout_s
        job: Job | None = None
        while time.monotonic() < deadline:
            job = self.job()
            if job is not None and condition(job):
                return job
            if job is not None and job.get("state") in TERMINAL:
                raise AssertionError(f"the run ended before the awaited state: {job}")
            time.sleep(POLL_S)
        raise AssertionError(f"the run did not reach the awaited state in {timeout_s:.0f} s: {job}")

    @contextmanager
    def paused(self, condition: Callable[[Job], bool], timeout_s: float = 300) -> Iterator[Job]:
        """Stop the run's worker once ``condition`` holds for its job record; continue it on leaving."""
        job = self.wait_for(condition, timeout_s)
        group = int(job["pid"])
        os.killpg(group, signal.SIGSTOP)
        try:
            yield job
        finally:
            with suppress(ProcessLookupError):
                os.killpg(group, signal.SIGCONT)


def started(job: Job) -> bool:
    """The worker was handed the run."""
    return job.get("state") == "PIPELINE_STATE_RUNNING"


def running(task: str | None = None) -> Callable[[Job], bool]:
    """``task`` (any task when None) is running."""
    return lambda job: job.get("running_task") is not None and task in (None, job.get("running_task"))
