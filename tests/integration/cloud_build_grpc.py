"""A real gRPC server on 127.0.0.1 implementing ``google.devtools.cloudbuild.v1.CloudBuild``.

It records each request message the real ``CloudBuildClient`` sends over the wire and answers with
queued responders (or defaults), so tests check the adapter's requests at the transport.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
from experiments_platform.adapters.cloud_build import CloudBuildService
from experiments_platform.config import load_settings
from google.cloud.devtools import cloudbuild_v1
from google.cloud.devtools.cloudbuild_v1.services.cloud_build.transports import CloudBuildGrpcTransport
from google.longrunning import operations_pb2
from google.protobuf import any_pb2

SERVICE = "google.devtools.cloudbuild.v1.CloudBuild"
PROJECT, REGION = "demo-project", "europe-west1"
ENV = {
    "PLATFORM_BUILD_SERVICE": "cloudbuild",
    "PLATFORM_GCP_PROJECT": PROJECT,
    "PLATFORM_GCP_REGION": REGION,
    "PLATFORM_COMPILER_IMAGE": "europe-west1-docker.pkg.dev/demo-project/platform/tfx-compiler:1.0.0",
    "PLATFORM_PIPELINE_IMAGE": "europe-west1-docker.pkg.dev/demo-project/platform/tfx-pipeline:1.0.0",
    "PLATFORM_PIPELINE_ROOT": "gs://demo-project-pipeline-root",
    "PLATFORM_ARTIFACTS_URI": "gs://demo-project-artifacts",
    "PLATFORM_STAGING_URI": "gs://demo-project-staging",
    "PLATFORM_PIPELINE_SERVICE_ACCOUNT": "pipeline@demo-project.iam.gserviceaccount.com",
    "PLATFORM_BUILD_SERVICE_ACCOUNT": "build@demo-project.iam.gserviceaccount.com",
    "PLATFORM_MLFLOW_TRACKING_URI": "https://mlflow-abc-ew.a.run.app",
}

Responder = Callable[[Any, grpc.ServicerContext], Any]


def operation_for(build: cloudbuild_v1.Build) -> operations_pb2.Operation:
    metadata = any_pb2.Any()
    metadata.Pack(cloudbuild_v1.BuildOperationMetadata.pb(cloudbuild_v1.BuildOperationMetadata(build=build)))
    return operations_pb2.Operation(name=f"operations/build/{PROJECT}/{build.id}", metadata=metadata)


class CloudBuildRecorder:
    """Answers each method with a queued responder (or a default) and keeps every request."""

    def __init__(self) -> None:
        self.address = ""
        self.requests: list[tuple[str, Any]] = []
        self.queued: dict[str, list[Responder]] = {}
        self.defaults: dict[str, Responder] = {
            "CreateBuild": lambda req, ctx: operation_for(
                cloudbuild_v1.Build(id="b-0001", status=cloudbuild_v1.Build.Status.QUEUED)
            ),
            "CancelBuild": lambda req, ctx: cloudbuild_v1.Build(id=req.id, status=cloudbuild_v1.Build.Status.CANCELLED),
            "GetBuild": lambda req, ctx: cloudbuild_v1.Build(id=req.id, status=cloudbuild_v1.Build.Status.WORKING),
        }

    def then(self, method: str, responder: Responder) -> None:
        self.queued.setdefault(method, []).append(responder)

    def handler(self, method: str, request_type: Any, serialize: Callable[[Any], bytes]) -> grpc.RpcMethodHandler:
        def answer(request: Any, context: grpc.ServicerContext) -> Any:
            self.requests.append((method, request))
            queue = self.queued.get(method) or []
            responder = queue.pop(0) if queue else self.defaults[method]
            return responder(request, context)

        return grpc.unary_unary_rpc_method_handler(
            answer, request_deserializer=request_type.deserialize, response_serializer=serialize
        )

    def of(self, method: str) -> list[Any]:
        return [request for name, request in self.requests if name == method]

    def service(self) -> CloudBuildService:
        """The real adapter, its client talking to this server."""

        def build_client() -> cloudbuild_v1.CloudBuildClient:
            return cloudbuild_v1.CloudBuildClient(transport=CloudBuildGrpcTransport(
                channel=grpc.insecure_channel(self.address)))

        service = CloudBuildService.from_settings(load_settings(ENV), client_factory=build_client)
        service.retry_first_wait_s = 0.01
        return service


def fail(code: grpc.StatusCode, message: str) -> Responder:
    def respond(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(code, message)

    return respond


@contextmanager
def cloud_build_server() -> Iterator[CloudBuildRecorder]:
    recorder = CloudBuildRecorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    methods = {
        "CreateBuild": recorder.handler(
            "CreateBuild", cloudbuild_v1.CreateBuildRequest, operations_pb2.Operation.SerializeToString
        ),
        "CancelBuild": recorder.handler("CancelBuild", cloudbuild_v1.CancelBuildRequest, cloudbuild_v1.Build.serialize),
        "GetBuild": recorder.handler("GetBuild", cloudbuild_v1.GetBuildRequest, cloudbuild_v1.Build.serialize),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, methods),))
    recorder.address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    try:
        yield recorder
    finally:
        server.stop(grace=None)
