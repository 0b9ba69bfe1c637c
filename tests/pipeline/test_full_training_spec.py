"""A full training's spec (decision 070) and its compiled pipelines: Pusher and Registrar, GPU tiers (074)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from experiments_platform.domain.experiment import QuickTestParameters, RandomSplit
from experiments_platform.domain.full_training import FullTrainingParameters
from experiments_platform.domain.pipeline_spec import ModelRegistryTarget, QuickTestSpec
from experiments_platform.pipeline.compile import compile_local, compile_vertex
from experiments_platform.pipeline.definition import COMPONENT_IDS, FULL_TRAINING_COMPONENT_IDS, trainer_machine_spec
from pydantic import ValidationError

from .factories import make_spec
from .test_compile import BQ, TARGET

ALL_DATA = QuickTestParameters(sample_percent=100, split=RandomSplit(train_percent=80, val_percent=10))
REGISTRY = ModelRegistryTarget(uri="gs://demo-models/registry/ds1", model_name="two-tower-ds1")


def full_spec(tmp_path, accelerator=None, **overrides) -> QuickTestSpec:
    values = {"queries": BQ, "pipeline_root": "gs://demo-root/qt-test", "parameters": ALL_DATA,
              "full_training": FullTrainingParameters(accelerator=accelerator), "registry": REGISTRY}
    return make_spec(tmp_path, **{**values, **overrides})


def test_a_full_training_uses_all_the_data_and_names_its_registry(tmp_path):
    with pytest.raises(ValidationError, match="parameters.sample_percent: a full training uses all the data"):
        full_spec(tmp_path, parameters=QuickTestParameters(sample_percent=25))
    with pytest.raises(ValidationError, match="registry: a full training pushes its model"):
        full_spec(tmp_path, registry=None)
    spec = full_spec(tmp_path)
    assert spec.run_kind == "full_training" and make_spec(tmp_path).run_kind == "quick_test"
    assert QuickTestSpec.from_json(spec.to_json()) == spec
    with pytest.raises(ValidationError, match="max_epochs"):
        FullTrainingParameters(max_epochs=0)


def test_specs_written_before_full_training_still_read(tmp_path):
    old = json.loads(make_spec(tmp_path).to_json())
    del old["full_training"], old["registry"], old["artifacts"]["model"]
    spec = QuickTestSpec.model_validate(old)
    assert spec.full_training is None and spec.artifacts.model.endswith("/experiments/exp1/model.json")


def test_the_vertex_job_pushes_and_registers_and_trains_on_the_gpu_tier(tmp_path):
    job = json.loads(compile_vertex(full_spec(tmp_path, accelerator="T4"), TARGET))
    assert set(job["pipelineSpec"]["root"]["dag"]["tasks"]) == set(FULL_TRAINING_COMPONENT_IDS)
    trainer = json.dumps(job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"])
    assert "NVIDIA_TESLA_T4" in trainer and "accelerator_count" in trainer and "n1-standard-8" in trainer
    pusher = json.dumps(job["pipelineSpec"]["root"]["dag"]["tasks"]["Pusher"])
    assert "gs://demo-models/registry/ds1" in pusher
    registrar = job["pipelineSpec"]["deploymentSpec"]["executors"]["Registrar_executor"]["container"]
    assert registrar["image"] == TARGET.pipeline_image


def test_gpu_only_for_full_training_and_the_a100_tier(tmp_path):
    assert trainer_machine_spec(make_spec(tmp_path, parameters={"hardware_tier": "large"})) == {
        "machine_type": "n1-standard-16"}
    assert trainer_machine_spec(full_spec(tmp_path, accelerator="A100")) == {
        "machine_type": "a2-highgpu-1g", "accelerator_type": "NVIDIA_TESLA_A100", "accelerator_count": 1}
    assert trainer_machine_spec(full_spec(tmp_path)) == {"machine_type": "n1-standard-4"}


def test_a_full_trainings_data_stages_go_to_dataflow_when_a_subnetwork_is_configured(tmp_path):
    spec = full_spec(tmp_path)
    quick = make_spec(tmp_path, queries=BQ, pipeline_root="gs://demo-root/qt-test")
    target = dataclasses.replace(TARGET, dataflow_subnetwork="regions/europe-west1/subnetworks/dataflow")
    for compiled, runner in ((spec, "--runner=DataflowRunner"), (quick, "--runner=DirectRunner")):
        job = json.loads(compile_vertex(compiled, target))
        args = job["pipelineSpec"]["deploymentSpec"]["executors"]["StatisticsGen_executor"]["container"]["args"]
        assert runner in args


def test_the_local_ir_of_a_full_training_has_the_push_nodes(tmp_path):
    spec = full_spec(tmp_path, pipeline_root=(tmp_path / "root").as_uri(),
                     registry=ModelRegistryTarget(uri=(tmp_path / "registry").as_uri(), model_name="m"))
    ir = json.loads(compile_local(spec))
    nodes = [n["pipelineNode"]["nodeInfo"]["id"] for n in ir["nodes"]]
    assert nodes == list(FULL_TRAINING_COMPONENT_IDS)
    assert str(tmp_path / "registry") in json.dumps(ir) and "file://" + str(tmp_path / "registry") not in json.dumps(
        ir["nodes"][-2])
    quick = json.loads(compile_local(make_spec(tmp_path)))
    assert [n["pipelineNode"]["nodeInfo"]["id"] for n in quick["nodes"]] == list(COMPONENT_IDS)
