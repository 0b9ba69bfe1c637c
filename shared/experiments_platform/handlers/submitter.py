"""Submitter: turn a pending experiment into a running build.

For ``SubmitExperiment`` of a pending experiment it first asks admission (``handlers.admission``,
decision 052) for one of the deployment's run slots: without a free one the experiment is queued
and the command ends there; the slot's next holder gets its ``SubmitExperiment`` again when a run
ends. For an admitted experiment (``submitting``, no build yet) it loads the experiment with its
frozen snapshots, reads the dataset's real schema from the warehouse, renders the per-split
queries against it (an unknown column fails the experiment with the closest real names), writes
the quick-test spec as ``spec.json``, starts the build, and records the build id with Compile
running.

Idempotent without locks: the build is started first and recorded in a transaction that only
accepts an admitted experiment without a build and without a cancel; a build that loses that race (a redelivered
command, a cancel that arrived meanwhile) is cancelled at once, so no second build keeps running.
"""

from __future__ import annotations

from experiments_platform.bootstrap import Platform
from experiments_platform.domain import error_codes, lifecycle
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.error_patterns import classify
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.pipeline_spec import QuickTestSpec, SplitQueries, build_spec
from experiments_platform.domain.status import Stage, Status
from experiments_platform.errors import InvalidInput
from experiments_platform.events.messages import SubmitExperiment
from experiments_platform.handlers import admission
from experiments_platform.handlers.compute import ended
from experiments_platform.handlers.preflight import live_dataset
from experiments_platform.jsonlog import fields, get_logger, log_context
from experiments_platform.repositories.experiments import ExperimentRepository

log = get_logger(__name__)


def on_submit(platform: Platform, command: SubmitExperiment) -> None:
    with log_context(experiment_id=command.experiment_id, stage=Stage.COMPILE.value):
        experiment = ExperimentRepository(platform.documents).find(command.experiment_id)
        if experiment is None:
            log.warning("submit for an unknown experiment")
            return
        if experiment.status is Status.PENDING and not experiment.cancel_requested:
            if experiment.id not in {e.id for e in admission.admit(platform, newcomer=experiment.id).admitted}:
                return
        elif experiment.status is Status.QUEUED and not experiment.cancel_requested:
            admission.admit_next(platform)  # a repeated submit: the queue's order decides, never the command
            return
        elif (experiment.status is not Status.SUBMITTING or experiment.cloud_build_id is not None
              or experiment.cancel_requested):
            log.info("nothing to submit", extra=fields(status=experiment.status.value,
                                                       cancel_requested=experiment.cancel_requested))
            return
        try:
            spec = render_spec(platform, experiment)
        except InvalidInput as exc:
            _reject(platform, experiment.id, exc)
            return
        platform.blobs.write_bytes(spec.artifacts.spec, spec.to_json().encode(), content_type="application/json")
        build_id = platform.builds.start(experiment.id, spec.artifacts.spec)
        if not _record_build(platform, experiment.id, build_id):
            log.info("experiment no longer pending: cancelling the build just started", extra=fields(build_id=build_id))
            platform.builds.cancel(build_id)
            return
        log.info("build started", extra=fields(build_id=build_id, spec_uri=spec.artifacts.spec))


def render_spec(platform: Platform, experiment: Experiment) -> QuickTestSpec:
    """Queries rendered against the real schema, and the spec; ``InvalidInput`` names a bad column."""
    from experiments_platform.sql import render_split_queries

    dataset = live_dataset(platform.warehouse, experiment.dataset_snapshot)
    rendered = render_split_queries(
        dataset, experiment.feature_config_snapshot, experiment.parameters, platform.warehouse.dialect
    )
    queries = SplitQueries(
        dialect=rendered.dialect, train=rendered.train, eval=rendered.eval, test=rendered.test,
        candidates=rendered.candidates,
    )
    settings = platform.settings
    return build_spec(
        experiment,
        queries,
        pipeline_root=settings.resolved_pipeline_root,
        artifacts_root=settings.resolved_artifacts_uri,
        mlflow_tracking_uri=settings.mlflow_tracking_uri,
    )


def _reject(platform: Platform, experiment_id: str, problem: InvalidInput) -> None:
    now = utcnow()
    excerpt = problem.message
    if problem.field:
        excerpt = f"{problem.field}: {excerpt}"
    error = classify(excerpt, Stage.COMPILE)
    if error.code in (error_codes.UNKNOWN.code, error_codes.UNKNOWN_COLUMN.code):
        error = error_codes.UNKNOWN_COLUMN.error(
            stage=Stage.COMPILE,
            excerpt=excerpt,
            fix=(
                f"Use {' or '.join(repr(s) for s in problem.suggestions)} instead, or fix the feature config"
                if problem.suggestions else
                "Fix the feature config or the dataset so that every configured column exists"
            ),
        )
    failed, changed = ExperimentRepository(platform.documents).update(experiment_id,
                                                                      lambda e: lifecycle.fail(e, error, now))
    log.warning("experiment rejected: configured columns do not match the dataset",
                extra=fields(field=problem.field, suggestions=problem.suggestions))
    if changed and failed is not None:
        ended(platform, failed, now)


def _record_build(platform: Platform, experiment_id: str, build_id: str) -> bool:
    """True when the experiment took the build (or had already taken it)."""
    now = utcnow()
    experiment, _ = ExperimentRepository(platform.documents).update(
        experiment_id, lambda e: lifecycle.build_started(e, build_id, now))
    return experiment is not None and experiment.cloud_build_id == build_id
