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
