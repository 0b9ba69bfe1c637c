"""The Cloud Build adapter's requests, as they arrive at the gRPC transport.

A real gRPC server on 127.0.0.1 (``integration.cloud_build_grpc``) implements
``google.devtools.cloudbuild.v1.CloudBuild`` and records each request message the real
``CloudBuildClient`` sends over the wire.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from experiments_platform.adapters.cloud_build import CloudBuildService
from experiments_platform.config import load_settings
from experiments_platform.errors import ConfigurationError, InvalidInput, TransientError
from experiments_platform.events import google_events
from experiments_platform.ports.builds import BuildResult
from google.cloud.devtools import cloudbuild_v1
from google.protobuf import json_format
from integration.cloud_build_grpc import ENV, PROJECT, REGION, CloudBuildRecorder, cloud_build_server, fail

BUILD_CONFIG = Path(__file__).parents[2] / "cloudbuild" / "compile-and-submit.yaml"
SPEC_URI = "gs://demo-project-artifacts/experiments/a1b2c3/spec.json"


def as_json(build: cloudbuild_v1.Build) -> dict[str, Any]:
    """The Build as the REST API and ``cloudbuild.yaml`` spell it (camelCase, enum names)."""
    return json_format.MessageToDict(cloudbuild_v1.Build.pb(build))


@pytest.fixture
def recorder() -> Iterator[CloudBuildRecorder]:
    with cloud_build_server() as recorder:
        yield recorder


@pytest.fixture
def service(recorder: CloudBuildRecorder) -> CloudBuildService:
    return recorder.service()


def substitute(value: Any, substitutions: dict[str, str]) -> Any:
    """Cloud Build's ``$NAME`` / ``${NAME}`` substitution, applied to a YAML value."""
    if isinstance(value, str):
        return re.sub(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", lambda m: substitutions[m.group(1)], value)
    if isinstance(value, list):
        return [substitute(v, substitutions) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, substitutions) for k, v in value.items()}
    return value


def test_start_creates_the_compile_and_submit_build_for_the_experiment(
    service: CloudBuildService, recorder: CloudBuildRecorder
) -> None:
    build_id = service.start("a1b2c3", SPEC_URI)

    assert build_id == "b-0001"
    [request] = recorder.of("CreateBuild")
    assert request.parent == f"projects/{PROJECT}/locations/{REGION}"
    assert request.project_id == PROJECT
    build = request.build
    assert [step.id for step in build.steps] == ["compile", "submit"]
    assert {step.name for step in build.steps} == {"${_COMPILER_IMAGE}"}
    assert list(build.steps[0].args) == [
        "-m", "experiments_platform.pipeline.compile",
        "--spec-uri", "${_SPEC_URI}", "--output", "/workspace/pipeline.json",
    ]
    assert list(build.steps[1].args) == [
        "-m", "experiments_platform.adapters.vertex_pipelines", "submit",
        "--experiment-id", "${_EXPERIMENT_ID}", "--compiled", "/workspace/pipeline.json",
    ]
    assert list(build.steps[1].wait_for) == ["compile"]
    assert dict(build.substitutions) == {
        "_EXPERIMENT_ID": "a1b2c3",
        "_SPEC_URI": SPEC_URI,
        "_REGION": REGION,
        "_COMPILER_IMAGE": ENV["PLATFORM_COMPILER_IMAGE"],
        "_PIPELINE_IMAGE": ENV["PLATFORM_PIPELINE_IMAGE"],
        "_PIPELINE_ROOT": ENV["PLATFORM_PIPELINE_ROOT"],
        "_ARTIFACTS_URI": ENV["PLATFORM_ARTIFACTS_URI"],
        "_STAGING_URI": ENV["PLATFORM_STAGING_URI"],
        "_PIPELINE_SERVICE_ACCOUNT": ENV["PLATFORM_PIPELINE_SERVICE_ACCOUNT"],
        "_MLFLOW_TRACKING_URI": ENV["PLATFORM_MLFLOW_TRACKING_URI"],
    }
    assert list(build.tags) == ["experiments-platform", "experiment-a1b2c3"]
    assert list(build.images) == []
    assert build.service_account == f"projects/{PROJECT}/serviceAccounts/{ENV['PLATFORM_BUILD_SERVICE_ACCOUNT']}"
    assert build.options.logging == cloudbuild_v1.BuildOptions.LoggingMode.CLOUD_LOGGING_ONLY
    assert "PLATFORM_PIPELINE_ROOT=${_PIPELINE_ROOT}" in build.options.env
    assert build.timeout.total_seconds() == 1800


def test_the_notification_of_that_build_names_its_experiment(
    service: CloudBuildService, recorder: CloudBuildRecorder
) -> None:
    service.start("a1b2c3", SPEC_URI)
    [request] = recorder.of("CreateBuild")
    sent = as_json(request.build)
    notification = {**sent, "id": "b-0001", "status": "SUCCESS"}

    event = google_events.parse_build(notification, {"buildId": "b-0001", "status": "SUCCESS"})

    assert event is not None and event.experiment_id == "a1b2c3"


def test_the_request_is_the_build_of_cloudbuild_yaml(service: CloudBuildService, recorder: CloudBuildRecorder) -> None:
    service.start("a1b2c3", SPEC_URI)
    [request] = recorder.of("CreateBuild")
    sent = as_json(request.build)
    config = yaml.safe_load(BUILD_CONFIG.read_text())

    assert set(config["substitutions"]) == set(sent["substitutions"])
    assert sent["steps"] == config["steps"]
    assert sent["options"]["env"] == config["options"]["env"]
    assert sent["options"]["logging"] == config["options"]["logging"]
    assert sent["timeout"] == config["timeout"] and sent["queueTtl"] == config["queueTtl"]
    assert sent["tags"] == substitute(config["tags"], {**sent["substitutions"], "PROJECT_ID": PROJECT})


def test_every_substitution_the_steps_use_is_set_and_every_one_set_is_used(
    service: CloudBuildService, recorder: CloudBuildRecorder
) -> None:
    service.start("a1b2c3", SPEC_URI)
    [request] = recorder.of("CreateBuild")
    sent = as_json(request.build)
    used = set(re.findall(r"\$\{(_[A-Z0-9_]+)\}", str(sent["steps"]) + str(sent["options"]["env"])))

    assert used == set(sent["substitutions"])


def test_start_does_not_repeat_a_create_whose_response_was_lost(
    service: CloudBuildService, recorder: CloudBuildRecorder
) -> None:
    recorder.then("CreateBuild", fail(grpc.StatusCode.DEADLINE_EXCEEDED, "response lost"))

    with pytest.raises(TransientError):
        service.start("a1b2c3", SPEC_URI)
    assert len(recorder.of("CreateBuild")) == 1


def test_start_retries_a_create_the_service_refused_as_unavailable(
    service: CloudBuildService, recorder: CloudBuildRecorder
) -> None:
    recorder.then("CreateBuild", fail(grpc.StatusCode.UNAVAILABLE, "try again"))

    assert service.start("a1b2c3", SPEC_URI) == "b-0001"
    assert len(recorder.of("CreateBuild")) == 2


def test_cancel_names_the_regional_build_and_ignores_a_finished_one(
    service: CloudBuildService, recorder: CloudBuildRecorder
) -> None:
    recorder.then("CancelBuild", fail(grpc.StatusCode.FAILED_PRECONDITION, "build is already SUCCESS"))

    service.cancel("b-0001")
    service.cancel("b-0001")

    requests = recorder.of("CancelBuild")
    assert [(r.name, r.project_id, r.id) for r in requests] == [
        (f"projects/{PROJECT}/locations/{REGION}/builds/b-0001", PROJECT, "b-0001")
    ] * 2


def test_status_reads_the_build(service: CloudBuildService, recorder: CloudBuildRecorder) -> None:
    assert service.status("b-0001") == "WORKING"
    [request] = recorder.of("GetBuild")
    assert request.name == f"projects/{PROJECT}/locations/{REGION}/builds/b-0001"


def test_result_reads_the_submitted_job_from_the_build_step_outputs(
    service: CloudBuildService, recorder: CloudBuildRecorder
) -> None:
    job = "projects/demo-project/locations/europe-west1/pipelineJobs/qt-a1b2c3-20260101120000"
    output = json.dumps({"pipeline_job_name": job}).encode()
    recorder.then("GetBuild", lambda req, ctx: cloudbuild_v1.Build(
        id=req.id, status=cloudbuild_v1.Build.Status.SUCCESS, substitutions={"_EXPERIMENT_ID": "a1b2c3"},
        tags=["experiments-platform", "experiment-a1b2c3"],
        results=cloudbuild_v1.Results(build_step_outputs=[b"", output])))

    assert service.result("b-0001") == BuildResult(status="SUCCESS", pipeline_job_name=job)
    [request] = recorder.of("GetBuild")
    assert (request.name, request.project_id, request.id) == (
        f"projects/{PROJECT}/locations/{REGION}/builds/b-0001", PROJECT, "b-0001")


def test_result_of_a_failed_build_carries_its_failure_detail(
    service: CloudBuildService, recorder: CloudBuildRecorder
) -> None:
    recorder.then("GetBuild", lambda req, ctx: cloudbuild_v1.Build(
        id=req.id, status=cloudbuild_v1.Build.Status.FAILURE, tags=["experiment-a1b2c3"],
        status_detail="Build step failure: build step 0 \"compile\" failed: step exited with non-zero status: 1",
        failure_info=cloudbuild_v1.Build.FailureInfo(detail="KeyError: 'user_idd'")))
    recorder.then("GetBuild", lambda req, ctx: cloudbuild_v1.Build(id=req.id, status=cloudbuild_v1.Build.Status.QUEUED))

    failed = service.result("b-0001")
    assert failed.status == "FAILURE" and failed.pipeline_job_name is None
    assert "step 0" in failed.log_excerpt and "KeyError: 'user_idd'" in failed.log_excerpt
    assert service.result("b-0002") == BuildResult(status="QUEUED")


@pytest.mark.parametrize(
    ("experiment_id", "spec_uri", "field"),
    [
        ("a1; rm -rf /", SPEC_URI, "experiment_id"),
        ("A1B2", SPEC_URI, "experiment_id"),
        ("a1b2c3", "/tmp/spec.json", "spec_uri"),
        ("a1b2c3", "gs://bucket/spec.json; echo $PROJECT_ID", "spec_uri"),
    ],
)
def test_values_that_could_escape_a_substitution_are_refused_before_any_request(
    service: CloudBuildService, recorder: CloudBuildRecorder, experiment_id: str, spec_uri: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        service.start(experiment_id, spec_uri)
    assert info.value.field == field
    assert recorder.requests == []


def test_from_settings_names_every_missing_variable() -> None:
    settings = load_settings({"PLATFORM_BUILD_SERVICE": "cloudbuild", "PLATFORM_GCP_PROJECT": PROJECT})

    with pytest.raises(ConfigurationError) as info:
        CloudBuildService.from_settings(settings)
    for name in ("PLATFORM_COMPILER_IMAGE", "PLATFORM_BUILD_SERVICE_ACCOUNT", "PLATFORM_STAGING_URI"):
        assert name in info.value.message


def test_local_uris_are_refused_for_cloud_build() -> None:
    settings = load_settings({**ENV, "PLATFORM_ARTIFACTS_URI": "file:///srv/artifacts"})

    with pytest.raises(ConfigurationError, match="PLATFORM_ARTIFACTS_URI must be a gs:// URI"):
        CloudBuildService.from_settings(settings)


def test_no_client_is_built_before_the_first_call() -> None:
    def factory() -> Any:
        raise AssertionError("must not be called")

    CloudBuildService.from_settings(load_settings(ENV), client_factory=factory)
