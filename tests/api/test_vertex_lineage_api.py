"""GET /api/experiments/{id}/lineage of a Vertex AI run reads Vertex ML Metadata (decision 073 amendment), through
the real MetadataServiceClient against the recorder HTTP server of ``tests/unit/test_vertex_lineage.py``
(``PLATFORM_VERTEX_METADATA_ENDPOINT`` points the client at it); an unreachable store is a stated reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.adapters.embedded_bus import EmbeddedBus
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.adapters.vertex_lineage import context_of
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain.pipeline_spec import SplitQueries, build_spec
from experiments_platform.repositories.experiments import ExperimentRepository
from json_http import serve_json
from unit.test_vertex_lineage import JOB_NAME, STORE, SUBGRAPH, MetadataRecorder

from .conftest import LAUNCH_MINIMUMS, finish, gateway_app, results, start_payload

QUERIES = SplitQueries(dialect="bigquery", train="SELECT 1", eval="SELECT 2", test="SELECT 3", candidates="SELECT 4")


@pytest.fixture
def metadata() -> MetadataRecorder:
    return MetadataRecorder({context_of(JOB_NAME): SUBGRAPH})


@pytest.fixture
def recorder(metadata: MetadataRecorder) -> Iterator[str]:
    with serve_json(metadata) as url:
        yield url


def _platform(tmp_path: Path, endpoint: str) -> Platform:
    """The API tests' platform (same data folder and document store as ``conftest.platform``) with the endpoint."""
    settings = Settings(data_dir=tmp_path / "var", mlflow_tracking_uri="http://127.0.0.1:5999",
                        vertex_metadata_endpoint=endpoint, **LAUNCH_MINIMUMS)
    return Platform(settings, documents=SqliteDocumentStore(tmp_path / "documents.sqlite"),
                    bus=EmbeddedBus.from_settings(settings), warehouse=DuckDBWarehouse.from_settings(settings))


def _vertex_run(platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]) -> str:
    client = gateway_app(platform).test_client()
    doc = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    assert doc is not None
    finish(platform, doc["id"], pipeline_job_name=JOB_NAME, results=results(0.4, 300.0))
    experiment = ExperimentRepository(platform.documents).get(doc["id"])
    spec = build_spec(experiment, QUERIES, pipeline_root="gs://demo-bucket/pipelines",
                      artifacts_root="gs://demo-bucket/artifacts", mlflow_tracking_uri="http://mlflow:5000")
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(doc["id"], "spec.json"), spec.to_json().encode())
    return str(doc["id"])


def test_the_lineage_of_a_vertex_run_comes_from_vertex_ml_metadata(
        tmp_path: Path, recorder: str, metadata: MetadataRecorder, dataset: dict[str, Any]) -> None:
    platform = _platform(tmp_path, recorder)
    client = gateway_app(platform).test_client()
    feature = client.post("/api/feature-configs", json={
        "name": "ids", "dataset_id": dataset["id"],
        "query_features": [{"column": "user_id", "kind": "id", "embedding_dim": 8}],
        "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 8}]}).json
    model = client.post("/api/model-configs", json={"name": "towers"}).json
    experiment_id = _vertex_run(platform, feature, model)
    answer = client.get(f"/api/experiments/{experiment_id}/lineage").json
    assert answer["reason"] is None, answer["reason"]
    lineage = answer["lineage"]
    assert lineage["store"] == f"Vertex ML Metadata {STORE}" and lineage["model_uri"].startswith("gs://")
    assert {a["type"] for a in lineage["artifacts"]} >= {"Examples", "TransformGraph", "Model", "PushedModel"}
    assert [r.split("?", 1)[0] for r in metadata.requests][-1].endswith(":queryContextLineageSubgraph")
    platform.close()

    platform = _platform(tmp_path, "http://127.0.0.1:9")  # nothing listens there
    answer = gateway_app(platform).test_client().get(f"/api/experiments/{experiment_id}/lineage").json
    assert answer["lineage"] is None and "Vertex ML Metadata could not be read" in answer["reason"]
    platform.close()
