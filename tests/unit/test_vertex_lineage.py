"""Lineage of a Vertex AI run from Vertex ML Metadata (decision 073 amendment): the real MetadataServiceClient
(REST transport) against a recorder HTTP server on 127.0.0.1 answering ``queryContextLineageSubgraph`` with the
documented JSON shape (LineageSubgraph: artifacts, executions, events; camelCase as the REST API writes it)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from experiments_platform.adapters.vertex_lineage import context_of, default_client, read_vertex_lineage
from json_http import serve_json

PROJECT, REGION, JOB = "demo-project", "europe-west1", "qt-e42-20261204170000"
JOB_NAME = f"projects/{PROJECT}/locations/{REGION}/pipelineJobs/{JOB}"
STORE = f"projects/{PROJECT}/locations/{REGION}/metadataStores/default"
ROOT = "gs://demo-bucket/pipelines/qt-demo/e42"


def _artifact(number: int, schema: str, path: str) -> dict[str, Any]:
    return {"name": f"{STORE}/artifacts/{number}", "displayName": path.rsplit("/", 1)[-1], "uri": f"{ROOT}/{path}",
            "state": "LIVE", "schemaTitle": schema, "schemaVersion": "0.0.1", "createTime": "2026-12-04T17:01:00Z",
            "metadata": {"split_names": "[\"train\", \"eval\", \"test\"]", "span": 0}}


def _execution(number: int, task: str, state: str = "COMPLETE") -> dict[str, Any]:
    return {"name": f"{STORE}/executions/{number}", "displayName": task, "state": state,
            "schemaTitle": "system.ContainerExecution", "createTime": "2026-12-04T17:00:00Z",
            "updateTime": "2026-12-04T17:05:00Z", "metadata": {"vertex-ai-pipelines-run-billing-id": "1"}}


def _event(artifact: int, execution: int, kind: str) -> dict[str, Any]:
    return {"artifact": f"{STORE}/artifacts/{artifact}", "execution": f"{STORE}/executions/{execution}",
            "type": kind, "eventTime": "2026-12-04T17:02:00Z"}


SUBGRAPH = {
    "artifacts": [
        _artifact(101, "tfx.Examples", "ExampleGen/examples/1"),
        _artifact(102, "tfx.ExampleStatistics", "StatisticsGen/statistics/2"),
        _artifact(103, "tfx.Schema", "SchemaGen/schema/3"),
        _artifact(104, "tfx.TransformGraph", "Transform/transform_graph/4"),
        _artifact(105, "tfx.Model", "Trainer/model/5"),
        _artifact(106, "tfx.ModelRun", "Trainer/model_run/5"),
        _artifact(107, "tfx.PushedModel", "Pusher/pushed_model/6"),
    ],
    "executions": [_execution(11, "ExampleGen", "CACHED"), _execution(12, "StatisticsGen"), _execution(13, "SchemaGen"),
                   _execution(14, "Transform"), _execution(15, "Trainer"), _execution(16, "Pusher")],
    "events": [
        _event(101, 11, "OUTPUT"), _event(101, 12, "INPUT"), _event(102, 12, "OUTPUT"), _event(102, 13, "INPUT"),
        _event(103, 13, "OUTPUT"), _event(101, 14, "INPUT"), _event(103, 14, "INPUT"), _event(104, 14, "OUTPUT"),
        _event(101, 15, "INPUT"), _event(104, 15, "INPUT"), _event(103, 15, "INPUT"), _event(105, 15, "OUTPUT"),
        _event(106, 15, "OUTPUT"), _event(105, 16, "INPUT"), _event(107, 16, "OUTPUT"),
    ],
}


class MetadataRecorder:
    """GET /v1/{context}:queryContextLineageSubgraph: the subgraph of a known context, a Google 404 otherwise."""

    def __init__(self, graphs: dict[str, dict[str, Any]]) -> None:
        self.graphs = graphs
        self.requests: list[str] = []

    def __call__(self, method: str, path: str) -> tuple[int, Any]:
        self.requests.append(path)
        context = path.split("?", 1)[0].removeprefix("/v1/").removesuffix(":queryContextLineageSubgraph")
        graph = self.graphs.get(context)
        if graph is None:
            return 404, {"error": {"code": 404, "message": f"Context {context} not found.", "status": "NOT_FOUND"}}
        return 200, graph


@pytest.fixture
def recorder() -> MetadataRecorder:
    return MetadataRecorder({context_of(JOB_NAME): SUBGRAPH})


@pytest.fixture
def vertex(recorder: MetadataRecorder) -> Iterator[str]:
    with serve_json(recorder) as url:
        yield url


def test_the_context_of_a_pipeline_job_and_a_bad_name():
    assert context_of(JOB_NAME) == f"{STORE}/contexts/{JOB}"
    with pytest.raises(ValueError, match="pipeline_job_name"):
        context_of("projects/p/locations/r/customJobs/1")


def test_lineage_is_read_from_vertex_ml_metadata_into_the_local_model(vertex: str, recorder: MetadataRecorder):
    lineage = read_vertex_lineage(JOB_NAME, "e42", partial(default_client, api_endpoint=vertex))
    assert [r.split("?", 1)[0] for r in recorder.requests] == [
        f"/v1/{STORE}/contexts/{JOB}:queryContextLineageSubgraph"]
    assert lineage is not None and lineage.experiment_id == "e42" and lineage.store == f"Vertex ML Metadata {STORE}"
    assert [a.type for a in lineage.artifacts] == ["Examples", "ExampleStatistics", "Schema", "TransformGraph",
                                                   "Model", "ModelRun", "PushedModel"]
    assert lineage.model_uri == f"{ROOT}/Trainer/model/5"
    assert lineage.pushed_model_uri == f"{ROOT}/Pusher/pushed_model/6"
    trainer = next(e for e in lineage.executions if e.component == "Trainer")
    assert (trainer.id, trainer.state, trainer.inputs, trainer.outputs) == (15, "COMPLETE", [101, 103, 104], [105, 106])
    examples = lineage.artifact("Examples")
    assert examples is not None and examples.produced_by == 11 and examples.uri == f"{ROOT}/ExampleGen/examples/1"
    assert next(e for e in lineage.executions if e.id == 11).state == "CACHED"
    assert examples.properties == {"split_names": "[\"train\", \"eval\", \"test\"]", "span": 0}
    assert trainer.started_at is not None and trainer.finished_at is not None


def test_a_run_without_a_trainer_or_context_has_no_lineage(vertex: str, recorder: MetadataRecorder):
    client = partial(default_client, api_endpoint=vertex)
    recorder.graphs[context_of(JOB_NAME)] = {
        "artifacts": SUBGRAPH["artifacts"][:1], "executions": SUBGRAPH["executions"][:1],
        "events": SUBGRAPH["events"][:1]}
    assert read_vertex_lineage(JOB_NAME, "e42", client) is None
    assert read_vertex_lineage(f"projects/{PROJECT}/locations/{REGION}/pipelineJobs/unknown", "e43", client) is None
