"""Reconcile with the real Cloud Build adapter, its client talking gRPC to a recording server.

Every notification of these builds was lost: reconcile learns what happened from GetBuild
(status, the job name in ``results.buildStepOutputs``, the failure detail) and applies it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.bootstrap import Platform
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.status import Status
from experiments_platform.handlers import reconcile
from google.cloud.devtools import cloudbuild_v1

from .cloud_build_grpc import PROJECT, REGION, CloudBuildRecorder, cloud_build_server
from .lifecycle_support import make_experiment, make_platform, store, stored, write_interactions

LATER = timedelta(minutes=5)


def job_of(experiment_id: str) -> str:
    return f"projects/{PROJECT}/locations/{REGION}/pipelineJobs/qt-{experiment_id}-20260101120000"


def build(build_id: str, experiment_id: str, status: Any, **fields: Any) -> cloudbuild_v1.Build:
    """A Build as GetBuild answers it for a build the Cloud Build adapter started."""
    return cloudbuild_v1.Build(id=build_id, status=status, substitutions={"_EXPERIMENT_ID": experiment_id},
                               tags=["experiments-platform", f"experiment-{experiment_id}"], **fields)


def succeeded(build_id: str, experiment_id: str) -> cloudbuild_v1.Build:
    output = json.dumps({"pipeline_job_name": job_of(experiment_id)}).encode()
    return build(build_id, experiment_id, cloudbuild_v1.Build.Status.SUCCESS,
                 results=cloudbuild_v1.Results(build_step_outputs=[b"", output]))


@pytest.fixture
def recorder() -> Iterator[CloudBuildRecorder]:
    with cloud_build_server() as recorder:
        yield recorder


@pytest.fixture
def platform(tmp_path: Path, recorder: CloudBuildRecorder) -> Iterator[Platform]:
    recorded = make_platform(tmp_path)
    platform = Platform(recorded.settings, documents=recorded.documents, warehouse=recorded.warehouse,
                        blobs=recorded.blobs, bus=recorded.bus, pipelines=recorded.pipelines,
                        builds=recorder.service())
    yield platform
    platform.close()


def submitting(platform: Platform, tmp_path: Path, build_id: str, number: int = 1, **values: Any) -> str:
    experiment = make_experiment(write_interactions(tmp_path), number=number, cloud_build_id=build_id,
                                 **{"status": Status.SUBMITTING, **values})
    return store(platform, experiment).id


def test_a_build_that_succeeded_unnoticed_starts_following_the_job_it_submitted(
    platform: Platform, recorder: CloudBuildRecorder, tmp_path: Path
) -> None:
    experiment_id = submitting(platform, tmp_path, "b-7")
    recorder.then("GetBuild", lambda req, ctx: succeeded(req.id, experiment_id))

    report = reconcile.reconcile(platform, now=utcnow() + LATER)

    assert report.repaired == [experiment_id]
    doc = stored(platform, experiment_id)
    assert doc["status"] == "running" and doc["pipeline_job_name"] == job_of(experiment_id)
    assert doc["stages"]["compile"]["status"] == "succeeded"
    [request] = recorder.of("GetBuild")
    assert (request.name, request.project_id, request.id) == (
        f"projects/{PROJECT}/locations/{REGION}/builds/b-7", PROJECT, "b-7")

    platform.pipelines.states[job_of(experiment_id)] = "PIPELINE_STATE_FAILED"  # type: ignore[attr-defined]
    reconcile.reconcile(platform, now=utcnow() + LATER)
    assert stored(platform, experiment_id)["status"] == "failed"
    assert len(recorder.of("GetBuild")) == 1, "once the job is known, the pipeline service is asked instead"


def test_a_build_that_failed_unnoticed_fails_the_experiment_with_its_failure_detail(
    platform: Platform, recorder: CloudBuildRecorder, tmp_path: Path
) -> None:
    experiment_id = submitting(platform, tmp_path, "b-8")
    recorder.then("GetBuild", lambda req, ctx: build(
        req.id, experiment_id, cloudbuild_v1.Build.Status.FAILURE,
        status_detail='Build step failure: build step 0 "compile" failed: step exited with non-zero status: 1',
        failure_info=cloudbuild_v1.Build.FailureInfo(detail="KeyError: 'user_idd' is not a column")))

    reconcile.reconcile(platform, now=utcnow() + LATER)

    doc = stored(platform, experiment_id)
    assert doc["status"] == "failed" and doc["stages"]["compile"]["status"] == "failed"
    assert "KeyError: 'user_idd'" in doc["error"]["excerpt"]


def test_a_build_still_working_is_left_alone(platform: Platform, recorder: CloudBuildRecorder, tmp_path: Path) -> None:
    experiment_id = submitting(platform, tmp_path, "b-9")

    assert reconcile.reconcile(platform, now=utcnow() + LATER).repaired == []
    assert stored(platform, experiment_id)["status"] == "submitting"
    assert len(recorder.of("GetBuild")) == 1


def test_a_cancelled_experiment_whose_build_submitted_a_job_unnoticed_gets_that_job_cancelled(
    platform: Platform, recorder: CloudBuildRecorder, tmp_path: Path
) -> None:
    experiment_id = submitting(platform, tmp_path, "b-10", status=Status.CANCELLED, cancel_requested=True)
    recorder.then("GetBuild", lambda req, ctx: succeeded(req.id, experiment_id))

    assert reconcile.reconcile(platform).repaired == [experiment_id]

    assert platform.pipelines.cancelled == [job_of(experiment_id)]  # type: ignore[attr-defined]
    doc = stored(platform, experiment_id)
    assert doc["status"] == "cancelled" and doc["pipeline_job_name"] is None, "an ended experiment records nothing"
    assert recorder.of("CancelBuild") == []

    recorder.then("GetBuild", lambda req, ctx: succeeded(req.id, experiment_id))
    assert reconcile.reconcile(platform).repaired == [], "the job is stopped already"
    assert recorder.of("CancelBuild") == []
    assert platform.pipelines.cancelled == [job_of(experiment_id)]  # type: ignore[attr-defined]


def test_a_cancelled_experiment_whose_build_still_works_gets_the_build_cancelled(
    platform: Platform, recorder: CloudBuildRecorder, tmp_path: Path
) -> None:
    experiment_id = submitting(platform, tmp_path, "b-11", status=Status.CANCELLED, cancel_requested=True)

    assert reconcile.reconcile(platform).repaired == [experiment_id]
    [request] = recorder.of("CancelBuild")
    assert request.id == "b-11"


def test_the_recorded_build_service_reports_results_as_the_port_says(tmp_path: Path) -> None:
    platform = make_platform(tmp_path)
    builds: Any = platform.builds
    success = submitting(platform, tmp_path, "build-1", number=1)
    failure = submitting(platform, tmp_path, "build-2", number=2)
    builds.states.update({"build-1": "SUCCESS", "build-2": "TIMEOUT"})
    builds.job_names["build-1"] = job_of(success)

    assert sorted(reconcile.reconcile(platform, now=utcnow() + LATER).repaired) == sorted([success, failure])
    assert stored(platform, success)["status"] == "running"
    assert stored(platform, success)["pipeline_job_name"] == job_of(success)
    assert stored(platform, failure)["status"] == "failed"
    platform.close()
