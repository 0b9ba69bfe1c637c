"""Status watcher: build notifications and pipeline state events move an experiment forward.

Each event goes through ``handlers.compute``: the moves of ``domain.lifecycle`` applied in one
repository transaction that writes only when something changed (status and stage statuses only
move forward), so a duplicate, stale or out-of-order event changes nothing and replaying every
event of a finished experiment leaves it as it was. Side effects on compute (cancelling a
pipeline that a build submitted while a cancel was in flight) happen after the transaction, and
are idempotent themselves.
"""

from __future__ import annotations

from experiments_platform.bootstrap import Platform
from experiments_platform.events.messages import BuildFinished, PipelineJobStateChanged, PipelineTaskStateChanged
from experiments_platform.handlers import compute


def on_build(platform: Platform, event: BuildFinished) -> None:
    """A Cloud Build notification (topic ``cloud-builds``)."""
    compute.apply_build(platform, event)


def on_task(platform: Platform, event: PipelineTaskStateChanged) -> None:
    """A pipeline task's state (topic ``pipeline-state``)."""
    compute.apply_task(platform, event)


def on_job(platform: Platform, event: PipelineJobStateChanged) -> None:
    """The pipeline job's state (topic ``pipeline-state``)."""
    compute.apply_job(platform, event)
