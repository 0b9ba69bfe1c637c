"""Run the Cloud Build submit step's arguments with the Vertex AI client bound to a local gRPC endpoint.

``python run_submit_step.py HOST:PORT submit --experiment-id ... --compiled ...``: the same
``vertex_pipelines.main`` the compiler image runs, in the interpreter that runs this script.
"""

from __future__ import annotations

import sys

import grpc
from experiments_platform.adapters import vertex_pipelines
from google.cloud import aiplatform_v1
from google.cloud.aiplatform_v1.services.pipeline_service.transports import PipelineServiceGrpcTransport


def main() -> int:
    endpoint, *argv = sys.argv[1:]

    def client() -> aiplatform_v1.PipelineServiceClient:
        return aiplatform_v1.PipelineServiceClient(
            transport=PipelineServiceGrpcTransport(channel=grpc.insecure_channel(endpoint))
        )

    return vertex_pipelines.main(argv, client_factory=client)


if __name__ == "__main__":
    raise SystemExit(main())
