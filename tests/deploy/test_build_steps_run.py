"""The two steps of the compile-and-submit build, run for real in the pipeline environment.

``compile`` is the TFX 1.16 compile of a quick-test spec for Vertex AI; ``submit`` sends the result
through the real Vertex AI client of the pipeline environment (as in the compiler image) to a
gRPC server here that records the request. Arguments and environment are the build's own
(``cloud_build.STEPS`` and ``STEP_ENV``) with its substitutions applied.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from deploy_model import REPO
from experiments_platform.adapters.cloud_build import COMPILED_PATH, STEP_ENV, STEPS, SUBMIT_MODULE
from experiments_platform.domain.experiment import QuickTestParameters, RandomSplit
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.pipeline_spec import (
    ArtifactUris,
    MachineTier,
    MlflowTarget,
    QuickTestSpec,
    SplitQueries,
)
from experiments_platform.events import google_events
from google.cloud import aiplatform_v1
from google.protobuf import json_format
from grpc_recorder import GrpcRecorder, Method, serving

TFX_PYTHON = REPO / ".venv-tfx" / "bin" / "python"
EXPERIMENT = "a1b2c3"
PIPELINE_IMAGE = "europe-west1-docker.pkg.dev/demo/experiments-platform/tfx-pipeline:t1"
PIPELINE_SA = "pipeline-runner@demo.iam.gserviceaccount.com"


def spec() -> QuickTestSpec:
    table = "`demo.movielens.ratings`"
    queries = SplitQueries(
        dialect="bigquery",
        train=f"SELECT user_id, item_id FROM {table} WHERE split = 'train'",
        eval=f"SELECT user_id, item_id FROM {table} WHERE split = 'eval'",
        test=f"SELECT user_id, item_id FROM {table} WHERE split = 'test'",
        candidates=f"SELECT DISTINCT item_id FROM {table}",
        columns=("user_id", "item_id"),
        candidate_columns=("item_id",),
    )
    return QuickTestSpec(
        experiment_id=EXPERIMENT,
        experiment_number=1,
        pipeline_name="qt-ds1-abc",
        dataset_id="ds1",
        queries=queries,
        query_id_column="user_id",
        candidate_id_column="item_id",
        features=FeatureConfig(
            name="ids",
            query_features=[{"kind": "id", "column": "user_id", "embedding_dim": 8}],
            candidate_features=[{"kind": "id", "column": "item_id", "embedding_dim": 8}],
        ),
        model=ModelConfig(name="m", query_tower_layers=[], candidate_tower_layers=[]),
        parameters=QuickTestParameters(split=RandomSplit(train_percent=80, val_percent=10)),
        pipeline_root="gs://demo-pipeline-root/qt-ds1-abc",
        artifacts=ArtifactUris.under("gs://demo-artifacts", EXPERIMENT),
        mlflow=MlflowTarget(tracking_uri="https://mlflow-1.europe-west1.run.app", experiment_name="q", run_name="r"),
    )


def check_beam_in_container(executors: dict[str, Any], machine: MachineTier) -> None:
    """Quick tests run Beam inside each component's container, sized by the hardware tier (decision 080).

    Every executor names its command (so the image's entrypoint, Beam's boot program for Dataflow,
    is never what Vertex AI starts); no data stage starts a Dataflow job; each Beam stage asks
    Vertex AI for the tier's vCPUs and memory and runs the DirectRunner in process (a sample of
    unknown size is a quick-test sample).
    """
    for name, executor in executors.items():
        container = executor["container"]
        assert container["command"][:2] == ["python", "-m"], name
        assert not any(a.startswith("--runner=DataflowRunner") for a in container["args"]), name
    for component in ("ExampleGen", "StatisticsGen", "Transform", "Evaluator"):
        container = executors[f"{component}_executor"]["container"]
        assert "--runner=DirectRunner" in container["args"], component
        assert "--direct_running_mode=in_memory" in container["args"], component
        # BigQuery reads export through a temporary dataset and GCS files on any runner
        assert "--project=demo" in container["args"] and "--temp_location=gs://demo-staging/beam/tmp" in container[
            "args"], component
        assert container["resources"]["cpuLimit"] == machine.vcpus, component
        assert container["resources"]["memoryLimit"] == machine.memory_gib, component


def substitute(value: str, substitutions: dict[str, str]) -> str:
    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)\}", lambda m: substitutions[m.group(1)], value)


def build_substitutions(spec_uri: str, compiler_image: str = "") -> dict[str, str]:
    """The substitutions the Cloud Build adapter sets for one experiment (project ``demo``)."""
    return {
        "PROJECT_ID": "demo",
        "_EXPERIMENT_ID": EXPERIMENT,
        "_SPEC_URI": spec_uri,
        "_REGION": "europe-west1",
        "_COMPILER_IMAGE": compiler_image,
        "_PIPELINE_IMAGE": PIPELINE_IMAGE,
        "_PIPELINE_ROOT": "gs://demo-pipeline-root",
        "_ARTIFACTS_URI": "gs://demo-artifacts",
        "_STAGING_URI": "gs://demo-staging",
        "_PIPELINE_SERVICE_ACCOUNT": PIPELINE_SA,
        "_MLFLOW_TRACKING_URI": "https://mlflow-1.europe-west1.run.app",
    }


@contextmanager
def recording_vertex() -> Iterator[GrpcRecorder]:
    """A Vertex AI PipelineService that records CreatePipelineJob and answers with the job's name."""
    recorder = GrpcRecorder("google.cloud.aiplatform.v1.PipelineService", {
        "CreatePipelineJob": Method(
            aiplatform_v1.CreatePipelineJobRequest, aiplatform_v1.PipelineJob.serialize,
            lambda req, ctx: aiplatform_v1.PipelineJob(name=f"{req.parent}/pipelineJobs/{req.pipeline_job_id}"),
        ),
    })
    with serving(recorder):
        yield recorder


@pytest.fixture
def vertex() -> Iterator[GrpcRecorder]:
    with recording_vertex() as recorder:
        yield recorder


def test_compile_then_submit_as_the_build_runs_them(tmp_path: Path, vertex: GrpcRecorder) -> None:
    assert TFX_PYTHON.exists(), "the pipeline environment .venv-tfx is required (make setup)"
    workspace, outputs = tmp_path / "workspace", tmp_path / "builder"
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(spec().to_json())
    substitutions = build_substitutions(spec_path.as_uri())
    env = dict(entry.split("=", 1) for entry in (substitute(e, substitutions) for e in STEP_ENV))
    env.update({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3",
                "BUILDER_OUTPUT": str(outputs), "PYTHONWARNINGS": "ignore"})
    compile_step, submit_step = STEPS
    assert submit_step["args"][:2] == ["-m", SUBMIT_MODULE]

    def args(step: dict[str, Any]) -> list[str]:
        local = str(workspace / Path(COMPILED_PATH).name)
        return [substitute(a, substitutions).replace(COMPILED_PATH, local) for a in step["args"]]

    compiled = subprocess.run([str(TFX_PYTHON), *args(compile_step)], env=env, capture_output=True, text=True,
                              timeout=300)
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    submitted = subprocess.run(
        [str(TFX_PYTHON), str(Path(__file__).with_name("run_submit_step.py")), vertex.address, *args(submit_step)[2:]],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert submitted.returncode == 0, submitted.stderr[-3000:]

    pipeline_job = json.loads((workspace / "pipeline.json").read_text())
    executors = pipeline_job["pipelineSpec"]["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values()} == {PIPELINE_IMAGE}
    check_beam_in_container(executors, spec().machine)
    assert set(pipeline_job["pipelineSpec"]["root"]["dag"]["tasks"]) >= {
        "ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer"
    }

    [request] = vertex.of("CreatePipelineJob")
    job = request.pipeline_job
    assert json_format.MessageToDict(aiplatform_v1.PipelineJob.pb(job).pipeline_spec) == pipeline_job["pipelineSpec"]
    assert job.service_account == PIPELINE_SA
    assert job.labels["experiment_id"] == EXPERIMENT
    assert job.runtime_config.gcs_output_directory == "gs://demo-pipeline-root/qt-ds1-abc"
    assert request.parent == "projects/demo/locations/europe-west1"

    build = google_events.build_resource("b-1", EXPERIMENT, "SUCCESS", project="demo")
    build["results"] = {"buildStepOutputs": ["", base64.b64encode((outputs / "output").read_bytes()).decode()]}
    event = google_events.parse_build(build)
    assert event is not None and event.pipeline_job_name == f"{request.parent}/pipelineJobs/{request.pipeline_job_id}"
