"""Both compile targets, offline: the local IR and the Vertex AI job JSON (KubeflowV2DagRunner)."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
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
    # Quick tests run Beam in each component's container, sized by the tier (decision 080).
    assert "n1-standard-8" in text and "--runner=DataflowRunner" not in text
    statistics = job["pipelineSpec"]["deploymentSpec"]["executors"]["StatisticsGen_executor"]["container"]
    assert "--direct_running_mode=in_memory" in statistics["args"]
    assert statistics["resources"] == {"cpuLimit": 8.0, "memoryLimit": 30.0}

    assert "experiments_platform.pipeline.trainer.run_fn" in text
    assert "BigQueryExampleGen" in text or "big_query" in text
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://demo-root/qt-test"


def test_beam_runs_in_worker_processes_above_a_million_rows(tmp_path):
    spec = make_spec(tmp_path, queries=BQ, pipeline_root="gs://demo-root/qt-test",
                     parameters={"hardware_tier": "medium"})
    job = json.loads(compile_vertex(spec, dataclasses.replace(TARGET, sample_rows=2_000_000)))
    statistics = job["pipelineSpec"]["deploymentSpec"]["executors"]["StatisticsGen_executor"]["container"]
    assert "--direct_running_mode=multi_processing" in statistics["args"]
    assert "--direct_num_workers=8" in statistics["args"]
    with pytest.raises(ValueError, match="subnetwork"):  # above 10M rows: Dataflow
        compile_vertex(spec, dataclasses.replace(TARGET, sample_rows=20_000_000))


def test_dataflow_runs_in_a_private_subnetwork(tmp_path):
    spec = make_spec(tmp_path, queries=BQ, pipeline_root="gs://demo-root/qt-test",
                     parameters={"hardware_tier": "medium"})
    with pytest.raises(ValueError, match="subnetwork"):
        compile_vertex(spec, dataclasses.replace(TARGET, dataflow=True))
    target = dataclasses.replace(TARGET, dataflow=True, dataflow_subnetwork="regions/europe-west1/subnetworks/dataflow")
    job = json.loads(compile_vertex(spec, target))
    args = job["pipelineSpec"]["deploymentSpec"]["executors"]["StatisticsGen_executor"]["container"]["args"]
    assert "--runner=DataflowRunner" in args and "--max_num_workers=4" in args
    assert "--subnetwork=regions/europe-west1/subnetworks/dataflow" in args and "--no_use_public_ips" in args
    assert "--sdk_location=container" in args


def test_local_compile_command_writes_the_ir(tmp_path, monkeypatch):
    spec = make_spec(tmp_path)
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(spec.to_json())
    monkeypatch.delenv("PLATFORM_PIPELINE_SERVICE", raising=False)
    assert main(["--spec-uri", spec_path.as_uri(), "--output", str(tmp_path / "out" / "pipeline.json")]) == 0
    ir = json.loads((tmp_path / "out" / "pipeline.json").read_text())
    assert ir == json.loads(compile_local(spec))
    assert [n["pipelineNode"]["nodeInfo"]["id"] for n in ir["nodes"]] == list(COMPONENT_IDS)


def test_child_jobs_carry_the_experiment_label(tmp_path):
    """Cancel finds and stops the Trainer's custom job and the Dataflow jobs by this label (issue 13 item 6)."""
    spec = make_spec(tmp_path, queries=BQ, pipeline_root="gs://demo-root/qt-test",
                     parameters={"hardware_tier": "medium"})
    target = dataclasses.replace(TARGET, dataflow=True, dataflow_subnetwork="regions/europe-west1/subnetworks/dataflow")
    job = json.loads(compile_vertex(spec, target))
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    assert f"--labels=experiment_id={spec.experiment_id}" in executors["StatisticsGen_executor"]["container"]["args"]
    trainer = job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
    custom_config = json.loads(trainer["custom_config"]["runtimeValue"]["constantValue"]["stringValue"])
    assert custom_config["ai_platform_training_args"]["labels"] == {"experiment_id": spec.experiment_id}


def test_the_worker_and_a_local_compile_import_no_vertex_ai_client(tmp_path):
    """The pipeline worker's imports and a local compile leave out google.cloud.aiplatform, which
    ``tfx.v1`` (through its extensions) imports and which was most of a worker's import time
    (16.8 of 22.6 s of ``tfx.v1`` at load 15, issue 14); a Vertex AI compile imports it when it needs it."""
    import subprocess
    import sys

    spec_path = tmp_path / "spec.json"
    spec_path.write_text(make_spec(tmp_path).to_json())
    script = (
        "import importlib, sys\n"
        "from experiments_platform.pipeline.worker import PRELOAD\n"
        "for name in PRELOAD:\n"
        "    importlib.import_module(name)\n"
        "from experiments_platform.domain.pipeline_spec import QuickTestSpec\n"
        "from experiments_platform.pipeline.compile import compile_local\n"
        f"compile_local(QuickTestSpec.from_json(open({str(spec_path)!r}).read()))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('google.cloud.aiplatform', 'tfx.v1'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
