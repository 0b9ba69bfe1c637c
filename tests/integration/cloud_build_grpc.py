"""A real gRPC server on 127.0.0.1 implementing ``google.devtools.cloudbuild.v1.CloudBuild``.

It records each request message the real ``CloudBuildClient`` sends over the wire and answers with
queued responders (or defaults), so tests check the adapter's requests at the transport
(``grpc_recorder``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from experiments_platform.adapters.cloud_build import CloudBuildService
from experiments_platform.config import load_settings
from google.cloud.devtools import cloudbuild_v1
from google.cloud.devtools.cloudbuild_v1.services.cloud_build.transports import CloudBuildGrpcTransport
from google.longrunning import operations_pb2
from google.protobuf import any_pb2
from grpc_recorder import GrpcRecorder, Method, fail, serving

__all__ = ["ENV", "PROJECT", "REGION", "CloudBuildRecorder", "cloud_build_server", "fail", "operation_for"]

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


def operation_for(build: cloudbuild_v1.Build) -> operations_pb2.Operation:
    metadata = any_pb2.Any()
    metadata.Pack(cloudbuild_v1.BuildOperationMetadata.pb(cloudbuild_v1.BuildOperationMetadata(build=build)))
    return operations_pb2.Operation(name=f"operations/build/{PROJECT}/{build.id}", metadata=metadata)


class CloudBuildRecorder(GrpcRecorder):
    """The Cloud Build service: CreateBuild, CancelBuild and GetBuild."""

    def __init__(self) -> None:
        super().__init__(SERVICE, {
            "CreateBuild": Method(
                cloudbuild_v1.CreateBuildRequest, operations_pb2.Operation.SerializeToString,
                lambda req, ctx: operation_for(
                    cloudbuild_v1.Build(id="b-0001", status=cloudbuild_v1.Build.Status.QUEUED)
                ),
            ),
            "CancelBuild": Method(
                cloudbuild_v1.CancelBuildRequest, cloudbuild_v1.Build.serialize,
                lambda req, ctx: cloudbuild_v1.Build(id=req.id, status=cloudbuild_v1.Build.Status.CANCELLED),
            ),
            "GetBuild": Method(
                cloudbuild_v1.GetBuildRequest, cloudbuild_v1.Build.serialize,
                lambda req, ctx: cloudbuild_v1.Build(id=req.id, status=cloudbuild_v1.Build.Status.WORKING),
            ),
        })

    def service(self) -> CloudBuildService:
        """The real adapter, its client talking to this server."""

        def build_client() -> cloudbuild_v1.CloudBuildClient:
            return cloudbuild_v1.CloudBuildClient(transport=CloudBuildGrpcTransport(
                channel=grpc.insecure_channel(self.address)))

        service = CloudBuildService.from_settings(load_settings(ENV), client_factory=build_client)
        service.retry_first_wait_s = 0.01
        return service


@contextmanager
def cloud_build_server() -> Iterator[CloudBuildRecorder]:
    with serving(CloudBuildRecorder()) as recorder:
        yield recorder
