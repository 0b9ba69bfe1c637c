"""Both compile targets, offline: the local IR and the Vertex AI job JSON (KubeflowV2DagRunner)."""

from __future__ import annotations

import json

from experiments_platform.domain.pipeline_spec import SplitQueries
from experiments_platform.pipeline.compile import compile_local, compile_vertex, main
from experiments_platform.pipeline.definition import COMPONENT_IDS, VertexTarget

from .factories import make_spec

BQ = SplitQueries(dialect="bigquery", train="SELECT 1 AS a", eval="SELECT 2 AS a", test="SELECT 3 AS a",
                  candidates="SELECT 4 AS a")
TARGET = VertexTarget(project="demo-project", region="europe-west1",
                      pipeline_image="europe-west1-docker.pkg.dev/demo-project/images/tfx-pipeline:1",
                      staging_uri="gs://demo-staging", service_account="pipeline@demo-project.iam.gserviceaccount.com")


def test_vertex_job_json_is_compiled_offline(tmp_path):
    spec = make_spec(tmp_path, queries=BQ, pipeline_root="gs://demo-root/qt-test",
                     parameters={"hardware_tier": "medium"})
    job = json.loads(compile_vertex(spec, TARGET))
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    assert set(tasks) == set(COMPONENT_IDS)
    text = json.dumps(job)
    assert "n1-standard-8" in text and "--runner=DataflowRunner" in text and "--max_num_workers=4" in text
    assert "experiments_platform.pipeline.trainer.run_fn" in text
    assert "BigQueryExampleGen" in text or "big_query" in text
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://demo-root/qt-test"


def test_local_compile_command_writes_the_ir(tmp_path, monkeypatch):
    spec = make_spec(tmp_path)
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(spec.to_json())
    monkeypatch.delenv("PLATFORM_PIPELINE_SERVICE", raising=False)
    assert main(["--spec-uri", spec_path.as_uri(), "--output", str(tmp_path / "out" / "pipeline.json")]) == 0
    ir = json.loads((tmp_path / "out" / "pipeline.json").read_text())
    assert ir == json.loads(compile_local(spec))
    assert [n["pipelineNode"]["nodeInfo"]["id"] for n in ir["nodes"]] == list(COMPONENT_IDS)
