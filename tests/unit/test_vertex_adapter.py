"""The Vertex AI adapter's requests, as they arrive at the gRPC transport.

A real gRPC server on 127.0.0.1 (``grpc_recorder``) implements ``google.cloud.aiplatform.v1.PipelineService``
and records each request message the real ``PipelineServiceClient`` sends over the wire.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from experiments_platform.adapters import vertex_pipelines
from experiments_platform.adapters.vertex_pipelines import VertexPipelineService
from experiments_platform.config import load_settings
from experiments_platform.errors import ConfigurationError, InvalidInput, TransientError
from experiments_platform.events import google_events
from google.cloud import aiplatform_v1
from google.cloud.aiplatform_v1.services.pipeline_service.transports import PipelineServiceGrpcTransport
from google.protobuf import empty_pb2, json_format
from grpc_recorder import GrpcRecorder, Method, fail, serving

COMPILED = Path(__file__).parents[1] / "deploy" / "fixtures" / "kubeflow_v2_pipeline_job.json"
SERVICE = "google.cloud.aiplatform.v1.PipelineService"
PROJECT, REGION = "demo-project", "europe-west1"
PIPELINE_SA = "pipeline@demo-project.iam.gserviceaccount.com"

class PipelineServiceRecorder(GrpcRecorder):
    """The Vertex AI pipeline service: CreatePipelineJob, CancelPipelineJob and GetPipelineJob."""

    def __init__(self) -> None:
        super().__init__(SERVICE, {
            "CreatePipelineJob": Method(
                aiplatform_v1.CreatePipelineJobRequest, aiplatform_v1.PipelineJob.serialize,
                lambda req, ctx: aiplatform_v1.PipelineJob(
                    name=f"{req.parent}/pipelineJobs/{req.pipeline_job_id}",
                    state=aiplatform_v1.PipelineState.PIPELINE_STATE_PENDING,
                ),
            ),
            "CancelPipelineJob": Method(
                aiplatform_v1.CancelPipelineJobRequest, empty_pb2.Empty.SerializeToString,
                lambda req, ctx: empty_pb2.Empty(),
            ),
            "GetPipelineJob": Method(
                aiplatform_v1.GetPipelineJobRequest, aiplatform_v1.PipelineJob.serialize,
                lambda req, ctx: aiplatform_v1.PipelineJob(
                    name=req.name, state=aiplatform_v1.PipelineState.PIPELINE_STATE_RUNNING
                ),
            ),
        })


@pytest.fixture
def recorder() -> Iterator[PipelineServiceRecorder]:
    with serving(PipelineServiceRecorder()) as recorder:
        yield recorder


@pytest.fixture
def client_factory(recorder: PipelineServiceRecorder) -> Callable[[], aiplatform_v1.PipelineServiceClient]:
    def build() -> aiplatform_v1.PipelineServiceClient:
        channel = grpc.insecure_channel(recorder.address)
        return aiplatform_v1.PipelineServiceClient(transport=PipelineServiceGrpcTransport(channel=channel))

    return build


@pytest.fixture
def service(client_factory: Callable[[], aiplatform_v1.PipelineServiceClient]) -> VertexPipelineService:
    return VertexPipelineService(
        project=PROJECT,
        region=REGION,
        pipeline_root="gs://demo-pipeline-root/quick-tests",
        service_account=PIPELINE_SA,
        client_factory=client_factory,
        retry_first_wait_s=0.01,
    )


def test_submit_sends_the_compiled_spec_with_labels_service_account_and_pipeline_root(
    service: VertexPipelineService, recorder: PipelineServiceRecorder
) -> None:
    compiled = json.loads(COMPILED.read_text())

    job_name = service.submit("a1b2c3d4e5f6a7b8c9d0", str(COMPILED))

    [request] = recorder.of("CreatePipelineJob")
    assert request.parent == f"projects/{PROJECT}/locations/{REGION}"
    assert re.fullmatch(r"qt-a1b2c3d4e5f6a7b8c9d0-\d{14}", request.pipeline_job_id)
    assert job_name == f"projects/{PROJECT}/locations/{REGION}/pipelineJobs/{request.pipeline_job_id}"
    job = request.pipeline_job
    assert json_format.MessageToDict(aiplatform_v1.PipelineJob.pb(job).pipeline_spec) == compiled["pipelineSpec"]
    assert job.runtime_config.gcs_output_directory == compiled["runtimeConfig"]["gcsOutputDirectory"]
    assert dict(job.labels) == {
        **compiled["labels"],
        "experiment_id": "a1b2c3d4e5f6a7b8c9d0",
        "platform": "experiments-platform",
    }
    assert job.service_account == PIPELINE_SA
    assert job.display_name == "quick test a1b2c3d4e5f6a7b8c9d0"
    assert google_events.experiment_id_from_job(job_name) == "a1b2c3d4e5f6a7b8c9d0"


def test_submit_uses_the_configured_pipeline_root_when_the_compile_set_none(
    service: VertexPipelineService, recorder: PipelineServiceRecorder, tmp_path: Path
) -> None:
    compiled = json.loads(COMPILED.read_text())
    del compiled["runtimeConfig"]
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(compiled))

    service.submit("exp1", path.as_uri())

    [request] = recorder.of("CreatePipelineJob")
    assert request.pipeline_job.runtime_config.gcs_output_directory == "gs://demo-pipeline-root/quick-tests"


def test_submit_retries_an_unavailable_service_with_the_same_job_id(
    service: VertexPipelineService, recorder: PipelineServiceRecorder
) -> None:
    recorder.then("CreatePipelineJob", fail(grpc.StatusCode.UNAVAILABLE, "try again"))

    job_name = service.submit("exp1", str(COMPILED))

    first, second = recorder.of("CreatePipelineJob")
    assert first.pipeline_job_id == second.pipeline_job_id
    assert job_name.endswith(second.pipeline_job_id)


def test_submit_whose_first_attempt_landed_returns_the_existing_job(
    service: VertexPipelineService, recorder: PipelineServiceRecorder
) -> None:
    recorder.then("CreatePipelineJob", fail(grpc.StatusCode.DEADLINE_EXCEEDED, "response lost"))
    recorder.then("CreatePipelineJob", fail(grpc.StatusCode.ALREADY_EXISTS, "job exists"))

    job_name = service.submit("exp1", str(COMPILED))

    attempts = recorder.of("CreatePipelineJob")
    assert len(attempts) == 2
    assert job_name == f"projects/{PROJECT}/locations/{REGION}/pipelineJobs/{attempts[0].pipeline_job_id}"


def test_submit_gives_up_after_repeated_unavailability_with_a_transient_error(
    service: VertexPipelineService, recorder: PipelineServiceRecorder
) -> None:
    for _ in range(4):
        recorder.then("CreatePipelineJob", fail(grpc.StatusCode.UNAVAILABLE, "down"))

    with pytest.raises(TransientError, match="create Vertex AI pipeline job"):
        service.submit("exp1", str(COMPILED))
    assert len(recorder.of("CreatePipelineJob")) == 4


def test_permission_denied_is_a_configuration_error_naming_the_fix(
    service: VertexPipelineService, recorder: PipelineServiceRecorder
) -> None:
    recorder.then("CreatePipelineJob", fail(grpc.StatusCode.PERMISSION_DENIED, "aiplatform.pipelineJobs.create"))

    with pytest.raises(ConfigurationError, match="grant the calling service account"):
        service.submit("exp1", str(COMPILED))
    assert len(recorder.of("CreatePipelineJob")) == 1


def test_cancel_sends_the_job_name_and_ignores_a_job_that_already_ended(
    service: VertexPipelineService, recorder: PipelineServiceRecorder
) -> None:
    name = f"projects/{PROJECT}/locations/{REGION}/pipelineJobs/qt-exp1-20260101120000"
    recorder.then("CancelPipelineJob", lambda req, ctx: empty_pb2.Empty())
    recorder.then("CancelPipelineJob", fail(grpc.StatusCode.FAILED_PRECONDITION, "job is already SUCCEEDED"))

    service.cancel(name)
    service.cancel(name)

    assert [r.name for r in recorder.of("CancelPipelineJob")] == [name, name]


def test_state_reads_the_job(service: VertexPipelineService, recorder: PipelineServiceRecorder) -> None:
    name = f"projects/{PROJECT}/locations/{REGION}/pipelineJobs/qt-exp1-20260101120000"

    assert service.state(name) == "PIPELINE_STATE_RUNNING"
    assert [r.name for r in recorder.of("GetPipelineJob")] == [name]


def test_no_client_is_built_before_the_first_call() -> None:
    built: list[int] = []

    def factory() -> Any:
        built.append(1)
        raise AssertionError("must not be called")

    VertexPipelineService(
        project=PROJECT, region=REGION, pipeline_root="gs://r", service_account=PIPELINE_SA, client_factory=factory
    )
    assert built == []


@pytest.mark.parametrize(
    ("compiled", "message"),
    [
        ({"displayName": "x"}, "no pipelineSpec with a root DAG"),
        ({"pipelineSpec": {"pipelineInfo": {"name": "x"}}}, "no pipelineSpec with a root DAG"),
    ],
)
def test_a_compiled_file_without_a_pipeline_spec_is_rejected_before_any_request(
    service: VertexPipelineService, recorder: PipelineServiceRecorder, tmp_path: Path, compiled: dict, message: str
) -> None:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(compiled))

    with pytest.raises(InvalidInput, match=message) as info:
        service.submit("exp1", str(path))
    assert info.value.field == "pipelineSpec"
    assert recorder.requests == []


def test_an_experiment_id_that_cannot_be_a_label_is_rejected(service: VertexPipelineService) -> None:
    with pytest.raises(InvalidInput, match="label value") as info:
        service.submit("Exp One!", str(COMPILED))
    assert info.value.field == "experiment_id"


def test_a_missing_compiled_file_names_the_path(service: VertexPipelineService, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        service.submit("exp1", str(tmp_path / "absent.json"))


def test_from_settings_names_every_missing_variable() -> None:
    settings = load_settings({"PLATFORM_PIPELINE_SERVICE": "vertex", "PLATFORM_GCP_PROJECT": PROJECT})

    with pytest.raises(ConfigurationError) as info:
        VertexPipelineService.from_settings(settings)
    assert "PLATFORM_PIPELINE_ROOT" in info.value.message
    assert "PLATFORM_PIPELINE_SERVICE_ACCOUNT" in info.value.message


def test_a_local_pipeline_root_is_refused_for_vertex() -> None:
    with pytest.raises(ConfigurationError, match="PLATFORM_PIPELINE_ROOT must be a gs:// URI"):
        VertexPipelineService(project=PROJECT, region=REGION, pipeline_root="file:///tmp/p", service_account="sa")


def test_the_build_step_reports_the_job_name_the_status_watcher_reads(
    client_factory: Callable[[], aiplatform_v1.PipelineServiceClient],
    recorder: PipelineServiceRecorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "PLATFORM_PIPELINE_SERVICE": "vertex",
        "PLATFORM_GCP_PROJECT": PROJECT,
        "PLATFORM_GCP_REGION": REGION,
        "PLATFORM_PIPELINE_ROOT": "gs://demo-pipeline-root/quick-tests",
        "PLATFORM_PIPELINE_SERVICE_ACCOUNT": PIPELINE_SA,
        "BUILDER_OUTPUT": str(tmp_path / "builder"),
    }.items():
        monkeypatch.setenv(name, value)

    exit_code = vertex_pipelines.main(
        ["submit", "--experiment-id", "exp1", "--compiled", str(COMPILED)], client_factory=client_factory
    )

    assert exit_code == 0
    [request] = recorder.of("CreatePipelineJob")
    output = (tmp_path / "builder" / "output").read_bytes()
    build = google_events.build_resource("b-1", "exp1", "SUCCESS", project=PROJECT)
    build["results"] = {"buildStepOutputs": ["", base64.b64encode(output).decode()]}
    event = google_events.parse_build(build)
    assert event is not None
    assert event.pipeline_job_name == f"projects/{PROJECT}/locations/{REGION}/pipelineJobs/{request.pipeline_job_id}"


# --- job identity (issue 13 item 4) and what reconcile polls (item 5) ---------------------------

JOB_ID = "qt-exp1-20260101120000"
BY_ID = f"projects/{PROJECT}/locations/{REGION}/pipelineJobs/{JOB_ID}"


@pytest.mark.parametrize("stored", [f"projects/123456789012/locations/{REGION}/pipelineJobs/{JOB_ID}", JOB_ID],
                         ids=["project-number", "bare-job-id"])
def test_calls_rebuild_the_job_name_from_the_configured_project_and_region(
    service: VertexPipelineService, recorder: PipelineServiceRecorder, stored: str
) -> None:
    """Vertex AI answers with the project number, a log-sink entry may name only the job id: every
    call names the job in the configured project and region."""
    service.cancel(stored)
    service.state(stored)
    service.describe(stored)

    assert [r.name for r in recorder.of("CancelPipelineJob")] == [BY_ID]
    assert [r.name for r in recorder.of("GetPipelineJob")] == [BY_ID, BY_ID]


def test_describe_reads_the_state_the_tasks_and_the_error_text(
    service: VertexPipelineService, recorder: PipelineServiceRecorder
) -> None:
    failed = "The replica workerpool0-0 exited with a non-zero status of 137 (out of memory)"
    recorder.then("GetPipelineJob", lambda req, ctx: aiplatform_v1.PipelineJob(
        name=f"projects/123456789012/locations/{REGION}/pipelineJobs/{JOB_ID}",
        state=aiplatform_v1.PipelineState.PIPELINE_STATE_FAILED,
        error={"code": 9, "message": "The DAG failed because some tasks failed. The failed tasks are: [trainer]."},
        job_detail=aiplatform_v1.PipelineJobDetail(task_details=[
            aiplatform_v1.PipelineTaskDetail(task_name="examplegen",
                                             state=aiplatform_v1.PipelineTaskDetail.State.SUCCEEDED),
            aiplatform_v1.PipelineTaskDetail(task_name="trainer", state=aiplatform_v1.PipelineTaskDetail.State.FAILED,
                                             error={"code": 3, "message": failed}),
        ]),
    ))

    status = service.describe(BY_ID)

    assert status.state == "PIPELINE_STATE_FAILED"
    assert [(t.task_name, t.state, t.error_message) for t in status.tasks] == [
        ("examplegen", "SUCCEEDED", ""), ("trainer", "FAILED", failed)]
    assert failed in status.error_message, "the failed task's own text, not only the DAG's summary"
