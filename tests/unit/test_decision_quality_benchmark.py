"""benchmarks/decision_quality.py asks the API for what exists (issue 11 benchmark)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from experiments_platform.domain import metrics
from experiments_platform.domain.experiment import QuickTestParameters
from experiments_platform.local.demo import EXPERIMENT

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def benchmark():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import decision_quality

        yield decision_quality
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_every_recall_definition_it_reports_is_in_the_metric_catalogue(benchmark):
    unknown = [name for name in benchmark.DEFINITIONS if not metrics.is_known(name)]
    assert not unknown, f"decision_quality.DEFINITIONS names metrics the catalogue lacks: {unknown}"


def test_its_temporal_split_is_one_the_api_accepts(benchmark):
    parameters = benchmark.temporal_parameters(EXPERIMENT["parameters"], 30)
    split = QuickTestParameters.model_validate(parameters).split
    assert split.strategy == "time_holdout" and split.date_column == benchmark.DATE_COLUMN == "timestamp"
    assert split.holdout_days == 30


def test_the_default_feature_config_of_the_b2b_set_renders_both_splits(benchmark, tmp_path):
    """default_vs_baselines --dataset b2b posts B2B_FEATURE_CONFIG with the demo's parameters."""
    from datetime import date

    from experiments_platform.data.synthetic_b2b import B2BConfig, synthetic_b2b_dataset
    from experiments_platform.domain.features import FeatureConfig
    from experiments_platform.local.demo import B2B_FEATURE_CONFIG
    from experiments_platform.sql import render_split_queries

    dataset = synthetic_b2b_dataset(tmp_path, B2BConfig(buyers=20, products=30, transactions=500, days=60,
                                                        end_date=date(2024, 6, 30)))
    features = FeatureConfig.model_validate({**B2B_FEATURE_CONFIG, "dataset_id": dataset.id})
    temporal = benchmark.temporal_parameters(EXPERIMENT["parameters"], 30, "date")
    for parameters in (EXPERIMENT["parameters"], temporal):
        queries = render_split_queries(dataset, features, QuickTestParameters.model_validate(parameters), "duckdb")
        assert {"customer_id", "product_id", "city", "segment", "category", "subcategory", "price"} <= set(
            queries.columns)
