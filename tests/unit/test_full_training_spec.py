"""``build_spec`` of a full training (decision 070): the registry, the MLflow experiment, the all-data rule."""

from __future__ import annotations

import pytest
from experiments_platform.domain.experiment import QuickTestParameters
from experiments_platform.domain.full_training import FullTrainingParameters
from experiments_platform.domain.pipeline_spec import QuickTestSpec, SplitQueries, build_spec
from integration.lifecycle_support import make_experiment
from pydantic import ValidationError

QUERIES = SplitQueries(dialect="duckdb", train="SELECT 1", eval="SELECT 2", test="SELECT 3", candidates="SELECT 4")


def spec_of(parameters: QuickTestParameters, **options) -> QuickTestSpec:
    experiment = make_experiment("file:///tiny.csv", id="e1", parameters=parameters)
    return build_spec(experiment, QUERIES, pipeline_root="file:///var/pipelines", artifacts_root="file:///var/art",
                      mlflow_tracking_uri="http://mlflow:5000", **options)


def test_a_full_training_spec_names_its_registry_and_mlflow_experiment():
    spec = spec_of(QuickTestParameters(sample_percent=100), full_training=FullTrainingParameters(patience=5))
    assert spec.run_kind == "full_training" and spec.full_training.patience == 5
    assert spec.registry.uri == "file:///var/art/registry/ds1" and spec.registry.model_name == "two-tower-ds1"
    assert spec.registry.alias == "production"
    assert spec.mlflow.experiment_name == "full-training/tiny"
    assert spec.artifacts.model == "file:///var/art/experiments/e1/model.json"
    assert spec_of(QuickTestParameters(sample_percent=100), full_training=FullTrainingParameters(),
                   registry_uri="gs://models/reg").registry.uri == "gs://models/reg"


def test_a_quick_test_spec_is_unchanged():
    spec = spec_of(QuickTestParameters(sample_percent=100))
    assert spec.run_kind == "quick_test" and spec.full_training is None and spec.registry is None
    assert spec.mlflow.experiment_name == "quick-tests/tiny"


def test_a_full_training_on_a_sample_is_refused_naming_the_field():
    with pytest.raises(ValidationError, match=r"parameters.sample_percent: a full training uses all the data, got 25; "
                                              r"set it to 100"):
        spec_of(QuickTestParameters(sample_percent=25), full_training=FullTrainingParameters())
