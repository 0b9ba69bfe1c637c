"""Launch estimates: tiers, the duration model, prices, and the calibration refit."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from experiments_platform.domain.dataset import Column, Dataset, FeatureTable, TableSource
from experiments_platform.domain.estimates import (
    HARDWARE_TIERS,
    TIER_ORDER,
    EstimateConstants,
    Workload,
    actual_cost,
    estimate,
    estimate_tiers,
    estimate_workload,
    estimator,
    evaluation_seconds,
    load_constants,
    model_cost_ratio,
    model_size,
    recommended_tier,
    reference_seconds,
)
from experiments_platform.domain.experiment import Estimate, QuickTestParameters, RandomSplit, TimeHoldoutSplit
from experiments_platform.domain.features import CategoricalFeature, CrossFeature, FeatureConfig, IdFeature
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.status import STAGE_ORDER, Stage

ROOT = Path(__file__).resolve().parents[2]


def _dataset(rows: int) -> Dataset:
    return Dataset(
        name="ratings",
        source=TableSource(kind="file", uri="file:///data/ratings.parquet"),
        row_count=rows,
        columns=[Column(name=n, type="string") for n in ("user_id", "item_id", "city", "timestamp")],
        query_id_column="user_id",
        candidate_id_column="item_id",
    )


TUTORIAL_FEATURES = FeatureConfig(
    name="ids", query_features=[IdFeature(column="user_id")], candidate_features=[IdFeature(column="item_id")]
)
TUTORIAL_MODEL = ModelConfig(name="tutorial", query_tower_layers=[], candidate_tower_layers=[], batch_size=1024)
QUICKTEST = QuickTestParameters(sample_percent=100, epochs=3, batch_size=1024)


def _round_constants() -> EstimateConstants:
    """Round numbers, so that the expected figures can be worked out by hand."""
    data = json.loads((ROOT / "shared/experiments_platform/domain/estimates.json").read_text())
    data["calibration"]["stages"] = {s.value: {"fixed_s": 10.0, "per_unit_s": 1.0} for s in Stage}
    data["calibration"]["stages"]["compile"] = {"fixed_s": 5.0, "per_unit_s": 0.0}
    data["vertex"].update(
        compile_s=60, component_startup_s=100, dataflow_startup_s=200, core_speed_ratio=1.0,
        parallel_share={s.value: 1.0 for s in STAGE_ORDER[1:]}, dataflow_rows_per_worker=1000,
        build_minutes_floor=1.0, bytes_per_row=8,
    )
    data["prices"]["us-central1"].update(
        vertex_machine_hour={"n1-standard-4": 3.6, "n1-standard-8": 7.2, "n1-standard-16": 14.4},
        pipeline_run_fee=0.03, cloud_build_minute=0.006, dataflow_vcpu_hour=0.36, dataflow_memory_gb_hour=0.0,
        bigquery_tib_scanned=6.25, bigquery_min_bytes=10 * 2**20,
    )
    return EstimateConstants.model_validate(data)


@pytest.mark.parametrize(
    ("rows", "tier"),
    [(1, "small"), (99_999, "small"), (100_000, "medium"), (999_999, "medium"), (1_000_000, "large"), (10**9, "large")],
)
def test_recommended_tier_by_rows(rows: int, tier: str) -> None:
    assert recommended_tier(rows) == tier


def test_a_big_model_moves_the_recommendation_up() -> None:
    assert recommended_tier(50_000, model_memory_gb=5) == "medium", "5 GB > a quarter of small's 15 GB"
    assert recommended_tier(50_000, model_memory_gb=10) == "large"
    assert recommended_tier(5_000_000, model_memory_gb=100) == "large", "never beyond large"


def test_tiers_are_the_specs_machine_types() -> None:
    assert {t: (s.machine_type, s.vcpu, s.memory_gb) for t, s in HARDWARE_TIERS.items()} == {
        "small": ("n1-standard-4", 4, 15), "medium": ("n1-standard-8", 8, 30), "large": ("n1-standard-16", 16, 60),
    }


def test_the_tutorial_model_is_the_reference_model() -> None:
    size = model_size(TUTORIAL_FEATURES, TUTORIAL_MODEL, rows=1000, batch_size=1024)
    constants = load_constants()
    assert size.dense_parameters == 0
    assert size.flops_per_example == constants.calibration.reference_model_flops == 2 * 1024 * 32
    assert model_cost_ratio(size.flops_per_example, constants) == pytest.approx(1.0)
    assert size.embedding_parameters == 2 * (1000 + 1) * 32


def test_tower_layers_and_crosses_count_by_hand() -> None:
    features = FeatureConfig(
        name="f",
        query_features=[
            IdFeature(column="user_id", embedding_dim=64), CategoricalFeature(column="city", embedding_dim=16)
        ],
        candidate_features=[IdFeature(column="item_id", embedding_dim=64)],
        cross_features=[CrossFeature(tower="query", columns=["user_id", "city"], hash_buckets=100, embedding_dim=8)],
    )
    model = ModelConfig(name="m", query_tower_layers=[128, 64], candidate_tower_layers=[64], batch_size=256)
    size = model_size(features, model, rows=500, batch_size=256)
    query_dense = (88 * 128 + 128) + (128 * 64 + 64)
    candidate_dense = 64 * 64 + 64
    assert size.dense_parameters == query_dense + candidate_dense
    assert size.flops_per_example == 2 * (query_dense + candidate_dense) + 2 * 256 * 64
    assert size.embedding_parameters == 501 * 64 + 501 * 16 + 100 * 8 + 501 * 64


def test_workload_applies_sample_and_split() -> None:
    params = QuickTestParameters(sample_percent=25, epochs=2, split=RandomSplit(train_percent=70, val_percent=15))
    workload = Workload.from_configs(_dataset(1_000_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, params)
    assert (workload.rows, workload.train_examples, workload.epochs, workload.columns) == (250_000, 175_000, 2, 4)
    timed = QuickTestParameters(split=TimeHoldoutSplit(date_column="timestamp"))
    assert Workload.from_configs(_dataset(1000), TUTORIAL_FEATURES, TUTORIAL_MODEL, timed).train_examples == 80


def test_exact_recall_over_the_candidate_corpus_counts_in_train() -> None:
    constants = load_constants()
    params = QuickTestParameters(sample_percent=100, split=RandomSplit(train_percent=80, val_percent=10))
    dataset = _dataset(1_000_000)
    workload = Workload.from_configs(dataset, TUTORIAL_FEATURES, TUTORIAL_MODEL, params)
    assert workload.eval_pairs == pytest.approx(100_000 * 100_000), "test rows × (one candidate per ten rows)"
    per_pair = (constants.calibration.eval_ns_per_pair + constants.calibration.eval_ns_per_pair_dim * 32) / 1e9
    assert evaluation_seconds(workload, constants) == pytest.approx(1e10 * per_pair)
    with_products = dataset.model_copy(update={"product_features": FeatureTable(
        source=TableSource(kind="file", uri="file:///data/items.parquet"), join_key="item_id", row_count=2_000)})
    assert Workload.from_configs(with_products, TUTORIAL_FEATURES, TUTORIAL_MODEL, params).eval_pairs == 100_000 * 2_000
    capped = FeatureConfig(name="c", query_features=[IdFeature(column="user_id")],
                           candidate_features=[IdFeature(column="item_id", max_vocab_size=500)])
    assert Workload.from_configs(dataset, capped, TUTORIAL_MODEL, params).eval_pairs == 100_000 * 500
    small = Workload.from_configs(_dataset(10_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, params)
    assert reference_seconds(workload, constants)[Stage.TRAIN] - reference_seconds(small, constants)[Stage.TRAIN] > (
        evaluation_seconds(workload, constants)
    ), "train grows with the examples and with the corpus"


def test_vertex_durations_and_cost_by_hand() -> None:
    """A quick-test sample runs Beam inside each component (decision 080): no Dataflow start-up or workers."""
    constants = _round_constants()
    workload = Workload(rows=2000, train_examples=1000, epochs=2, flops_per_example=65536, parameters=0, columns=5)
    small = estimate_workload(workload, "small", "vertex", "us-central1", constants)
    # reference seconds: data stages 10 + 2 = 12 each, train 10 + 2 = 12; compile 60 on Cloud Build
    # Examples, Stats, Transform: one in-process DirectRunner (≤ 1M rows): the tier's vCPUs do not help, 12;
    # Schema and Train: 4 vCPU vs 2 on the reference machine, all parallel: compute halves to 6
    expected = {
        Stage.COMPILE: 60, Stage.EXAMPLES: 112, Stage.STATS: 112, Stage.SCHEMA: 106, Stage.TRANSFORM: 112,
        Stage.TRAIN: 106,
    }
    assert small.stage_durations_s == expected
    assert small.duration_s == sum(expected.values())
    machine = (112 * 3 + 106 * 2) / 3600 * 3.6
    bigquery = 10 * 2**20 / 2**40 * 6.25
    assert small.cost_usd == pytest.approx(0.03 + 1.0 * 0.006 + machine + bigquery, abs=1e-4)
    assert (small.hardware_tier, small.recommended_tier, small.target) == ("small", "small", "vertex")


def test_worker_processes_above_a_million_rows_and_dataflow_only_above_ten_million() -> None:
    """Decision 080's switches, by hand: 2 M rows run one SDK-harness process per vCPU of the tier (17 s
    more start, the parallel share scales); 20 M rows go to Dataflow (200 s start, workers billed).
    StatisticsGen on a DirectRunner computes in its own process whatever the running mode (decision 099)."""
    constants = _round_constants()

    def run(rows: int) -> Estimate:
        workload = Workload(rows=rows, train_examples=1000, epochs=2, flops_per_example=65536, parameters=0,
                            columns=5)
        return estimate_workload(workload, "small", "vertex", "us-central1", constants)

    processes = run(2_000_000)
    # data stages: 10 + 2,000 = 2,010 s of reference time; 4 processes vs 2 cores: 1,005; + 17 s + 100 s
    for stage in (Stage.EXAMPLES, Stage.TRANSFORM):
        assert processes.stage_durations_s[stage] == pytest.approx(100 + 17 + 1005)
    # StatisticsGen: one process, no SDK-harness start and no vCPU scaling
    assert processes.stage_durations_s[Stage.STATS] == pytest.approx(100 + 2010)
    no_dataflow = run(2_000_000).cost_usd
    dataflow = run(20_000_000)
    # 20,010 s; Dataflow: 2 workers (dataflow_max_workers of small) × 4 vCPU vs 2: 5,002.5 s; + 200 + 100
    workers = 2
    for stage in (Stage.EXAMPLES, Stage.STATS, Stage.TRANSFORM):
        assert dataflow.stage_durations_s[stage] == pytest.approx(100 + 200 + 20_010 * 2 / (4 * workers))
    assert dataflow.stage_durations_s[Stage.SCHEMA] == pytest.approx(100 + 20_010 * 2 / 4)
    dataflow_hours = (dataflow.stage_durations_s[Stage.STATS] - 100) / 3600
    assert dataflow.cost_usd > no_dataflow + 3 * dataflow_hours * workers * 4 * 0.36 * 0.99


def test_a_quick_test_on_vertex_pays_no_dataflow_start_up() -> None:
    """Issue 13: the estimate still charged two Dataflow jobs' start-up (180 s each) to every quick test."""
    medium = estimate(_dataset(100_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, QUICKTEST, tier="medium")
    startup = load_constants().vertex.component_startup_s
    assert medium.stage_durations_s[Stage.STATS] < startup + 60
    assert medium.stage_durations_s[Stage.TRANSFORM] < startup + 60
    assert medium.duration_s < 10 * 60 and medium.cost_usd < 0.15


def test_more_work_takes_longer_and_costs_more() -> None:
    base = estimate(_dataset(200_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, QUICKTEST, tier="medium")
    bigger_model = ModelConfig(name="big", query_tower_layers=[1024, 512, 256], candidate_tower_layers=[1024, 512, 256])
    variants = [
        estimate(_dataset(800_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, QUICKTEST, tier="medium"),
        estimate(_dataset(200_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, QUICKTEST.model_copy(update={"epochs": 10}),
                 tier="medium"),
        estimate(_dataset(200_000), TUTORIAL_FEATURES, bigger_model, QUICKTEST, tier="medium"),
    ]
    for variant in variants:
        assert variant.duration_s > base.duration_s
        assert variant.cost_usd > base.cost_usd


def test_larger_tiers_are_faster_on_large_data() -> None:
    estimates = estimate_tiers(_dataset(5_000_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, QUICKTEST)
    assert [e.hardware_tier for e in estimates] == list(TIER_ORDER)
    assert {e.recommended_tier for e in estimates} == {"large"}
    durations = [e.duration_s for e in estimates]
    assert durations == sorted(durations, reverse=True)
    assert all(isinstance(e, Estimate) and e.cost_usd > 0.03 for e in estimates)


def test_local_estimates_are_free_and_tier_independent() -> None:
    estimates = estimate_tiers(_dataset(100_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, QUICKTEST, target="local")
    assert {e.cost_usd for e in estimates} == {0.0}
    assert len({e.duration_s for e in estimates}) == 1
    assert estimates[0].target == "local"
    overhead = load_constants().calibration.pipeline_overhead_s
    assert overhead > 0
    assert estimates[0].duration_s == pytest.approx(sum(estimates[0].stage_durations_s.values()) + overhead, abs=0.5)


def test_estimator_signature_and_document_round_trip() -> None:
    params = QuickTestParameters(hardware_tier="large")
    result = estimate(_dataset(10_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, params)
    assert result.hardware_tier == "large" and result.recommended_tier == "small"
    document = result.to_document()
    assert set(document["stage_durations_s"]) == {s.value for s in STAGE_ORDER}
    assert Estimate.model_validate(document) == result
    assert Estimate.model_validate({"duration_s": 1, "cost_usd": 0, "hardware_tier": "small",
                                    "recommended_tier": "small"}).target == "vertex", "older documents still load"


def test_bound_estimator_uses_target_and_region() -> None:
    params = QuickTestParameters(hardware_tier="medium")
    local = estimator("local")(_dataset(10_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, params)
    assert (local.target, local.cost_usd, local.hardware_tier) == ("local", 0.0, "medium")
    us = estimator("vertex", "us-central1")(_dataset(10_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, params)
    eu = estimator("vertex", "europe-west1")(_dataset(10_000), TUTORIAL_FEATURES, TUTORIAL_MODEL, params)
    assert us.duration_s == eu.duration_s and eu.cost_usd > us.cost_usd > 0


def test_actual_cost_prices_measured_stage_times() -> None:
    constants = _round_constants()
    measured = {Stage.COMPILE: 120.0, Stage.TRAIN: 3600.0}
    cost = actual_cost("medium", measured, rows=0, columns=0, region="us-central1", constants=constants)
    bigquery = 10 * 2**20 / 2**40 * 6.25
    assert cost == pytest.approx(0.03 + 2 * 0.006 + 7.2 + bigquery, abs=1e-4)
    assert actual_cost("large", measured, target="local") == 0.0


def test_shipped_constants_are_complete() -> None:
    constants = load_constants()
    assert set(constants.calibration.stages) == set(STAGE_ORDER)
    assert constants.calibration.runs, "the runs behind the calibration are recorded"
    assert constants.default_region in constants.prices
    for prices in constants.prices.values():
        assert set(prices.vertex_machine_hour) == {s.machine_type for s in HARDWARE_TIERS.values()}
        assert prices.as_of and prices.source


def test_calibrated_model_reproduces_the_quicktest_protocol() -> None:
    """The stored calibration predicts the 100k-row runs it was fitted on within their spread."""
    constants = load_constants()
    workload = Workload(rows=100_000, train_examples=80_000, epochs=3, flops_per_example=65536, parameters=0,
                        columns=4)
    predicted = reference_seconds(workload, constants)
    for stage in (Stage.EXAMPLES, Stage.STATS, Stage.TRANSFORM, Stage.TRAIN):
        runs = [run for run in constants.calibration.runs if run.rows == 100_000]
        measured = [run.stages[stage] for run in runs if stage in run.stages]
        assert measured, stage
        assert min(measured) * 0.7 <= predicted[stage] <= max(measured) * 1.3, (stage, predicted[stage], measured)


def _calibrate_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calibrate_estimates", ROOT / "benchmarks" / "calibrate_estimates.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quicktest_output_gives_both_cold_runs(tmp_path: Path) -> None:
    calibrate = _calibrate_module()
    summary = {
        "case": "cold", "recall_at_100": 0.39, "wall_s": 79.5, "compile_s": 9.5, "pipeline_s": 70.0,
        "protocol": {"split_strategy": "random", "rows": {"train": 80_097, "eval": 9_920, "test": 9_983}},
        "stages": {"ExampleGen": 14.0, "StatisticsGen": 6.0, "SchemaGen": 0.4, "Transform": 20.0, "Trainer": 18.0,
                   "Evaluator": 2.0},
        "tutorial_stages": {"ExampleGen": 15.0, "StatisticsGen": 6.5, "SchemaGen": 0.5, "Transform": 21.0,
                            "Trainer": 17.0, "Evaluator": 2.5},
    }
    cold = tmp_path / "cold.txt"
    cold.write_text("== default model ...\n" + json.dumps(summary) + "\n")
    args = calibrate.argparse.Namespace(rows=5, epochs=3, train_fraction=0.8)
    default, tutorial = calibrate.quicktest_runs(cold, args)
    assert default["stages"] == {"examples": 14.0, "stats": 6.0, "schema": 0.4, "transform": 20.0, "train": 20.0,
                                 "compile": 9.5}
    assert tutorial["stages"]["train"] == 19.5 and "compile" not in tutorial["stages"]
    assert default["rows"] == tutorial["rows"] == 100_000
    assert default["train_fraction"] == pytest.approx(0.801, abs=1e-3)
    assert default["overhead_s"] == pytest.approx(70.0 - 60.4) and "overhead_s" not in tutorial
    constants = json.loads((ROOT / "shared/experiments_platform/domain/estimates.json").read_text())
    assert calibrate.refit(constants, [default, tutorial])["calibration"]["pipeline_overhead_s"] == pytest.approx(9.6)
    warm = tmp_path / "warm.txt"
    warm.write_text(json.dumps({**summary, "case": "warm"}) + "\n")
    assert calibrate.quicktest_runs(warm, args) == []


def test_fit_line_recovers_a_known_line_and_keeps_terms_non_negative() -> None:
    calibrate = _calibrate_module()
    assert calibrate.fit_line([(5, 12.5), (25, 22.5), (100, 60.0)], prior_fixed=0) == pytest.approx((10.0, 0.5))
    assert calibrate.fit_line([(100, 30.0), (100, 40.0)], prior_fixed=5) == pytest.approx((5.0, 0.3))
    fixed, slope = calibrate.fit_line([(5, 30.0), (50, 20.0)], prior_fixed=0)
    assert (fixed, slope) == (25.0, 0.0), "a falling line means noise: constant time"
    fixed, slope = calibrate.fit_line([(10, 1.0), (100, 30.0)], prior_fixed=0)
    assert fixed == 0.0 and slope > 0


def test_refit_maps_components_to_stages_and_records_runs(tmp_path: Path) -> None:
    calibrate = _calibrate_module()
    output = tmp_path / "quicktest.txt"
    output.write_text("progress...\n" + json.dumps({
        "recall_at_100": 0.39, "wall_s": 70.0, "rows": 100_000, "epochs": 3,
        "stages": {"Compile": 6.0, "CsvExampleGen": 12.0, "StatisticsGen": 7.0, "SchemaGen": 0.5, "Transform": 25.0,
                   "Trainer": {"wall_s": 20.0}, "Evaluator": 4.0},
    }) + "\n")
    args = calibrate.argparse.Namespace(rows=1, epochs=1, train_fraction=0.8)
    run = calibrate.run_from(calibrate.last_json_line(output), args, source="test")
    assert run["stages"] == {"compile": 6.0, "examples": 12.0, "stats": 7.0, "schema": 0.5, "transform": 25.0,
                             "train": 24.0}
    assert (run["rows"], run["epochs"]) == (100_000, 3)
    constants = json.loads((ROOT / "shared/experiments_platform/domain/estimates.json").read_text())
    updated = calibrate.refit(constants, [run])
    EstimateConstants.model_validate(updated)
    assert updated["calibration"]["runs"] == [run]
    assert updated["calibration"]["stages"]["compile"] == {"fixed_s": 6.0, "per_unit_s": 0.0}
    train = updated["calibration"]["stages"]["train"]
    assert train["fixed_s"] + train["per_unit_s"] * 240 == pytest.approx(24.0, abs=0.01)
