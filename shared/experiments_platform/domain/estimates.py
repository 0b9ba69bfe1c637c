"""Launch estimates: duration and cost of a quick test for each hardware tier.

The time of each stage is ``fixed_s + per_unit_s × units`` on the reference machine (where the
calibration runs were measured): units are thousands of sampled rows for the data stages and
thousands of training example-epochs of the reference model for Train. ``estimates.json`` holds
those constants (refitted by ``benchmarks/calibrate_estimates.py``), the assumptions that carry
them to Vertex AI (start-up overheads, per-core speed, parallel share of each stage) and the
public prices used for cost. ``docs/estimates.md`` explains the model and the runs behind it.

``estimator(target, region)`` gives a ``handlers.experiments.Estimator``; ``estimate_tiers`` gives
all three tiers; ``actual_cost`` prices measured stage times after a run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from experiments_platform.domain.dataset import Dataset
from experiments_platform.domain.experiment import Estimate, HardwareTier, QuickTestParameters, RandomSplit
from experiments_platform.domain.features import (
    CategoricalFeature,
    Feature,
    FeatureConfig,
    HistoryFeature,
    IdFeature,
    NumericFeature,
    TextFeature,
    TimestampFeature,
)
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.pipeline_spec import HARDWARE_TIERS as MACHINE_TIERS
from experiments_platform.domain.pipeline_spec import beam_runner
from experiments_platform.domain.status import STAGE_ORDER, Stage

CONSTANTS_FILE = Path(__file__).with_name("estimates.json")
Target = Literal["local", "vertex"]
TIER_ORDER: tuple[HardwareTier, ...] = get_args(HardwareTier)
DATA_STAGES = (Stage.EXAMPLES, Stage.STATS, Stage.SCHEMA, Stage.TRANSFORM)
BEAM_STAGES = (Stage.EXAMPLES, Stage.STATS, Stage.TRANSFORM)
"""Stages whose components run Beam: in their container for quick-test samples, on Dataflow above
``pipeline_spec.DATAFLOW_MIN_ROWS`` (decision 080; ``pipeline_spec.beam_runner``)."""
IN_PROCESS_ON_DIRECT_RUNNER = (Stage.STATS,)
"""Beam stages that skip Beam on a DirectRunner, whatever its running mode: StatisticsGen computes in
its own process (decision 099), so a worker process per vCPU neither starts nor speeds it up."""
BYTES_PER_PARAMETER_TRAINING = 12  # float32 weight plus two optimizer slots
UNKNOWN_CORPUS_CAP = 100_000
REFERENCE_FEATURES = 2
"""Features of the calibration runs (a user id and an item id): data-stage units are rows × features / 2."""
CACHED_STAGE_S = 0.5
"""A data stage that is a cache hit, until runs here measure it (``Calibration.cached_stage_s``)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HardwareSpec(_Model):
    label: str
    machine_type: str
    vcpu: int
    memory_gb: float
    recommended_for: str


_RECOMMENDED_FOR: dict[HardwareTier, str] = {
    "small": "under 100K rows", "medium": "100K to 1M rows", "large": "over 1M rows",
}
HARDWARE_TIERS: dict[HardwareTier, HardwareSpec] = {
    tier: HardwareSpec(
        label=tier.capitalize(),
        machine_type=MACHINE_TIERS[tier].machine_type,
        vcpu=MACHINE_TIERS[tier].vcpus,
        memory_gb=MACHINE_TIERS[tier].memory_gib,
        recommended_for=_RECOMMENDED_FOR[tier],
    )
    for tier in TIER_ORDER
}
MEDIUM_FROM_ROWS = 100_000
LARGE_FROM_ROWS = 1_000_000


class StageModel(_Model):
    fixed_s: float = Field(ge=0)
    per_unit_s: float = Field(ge=0, description="seconds per 1,000 units (rows, or example-epochs for train)")


class CalibrationRun(_Model):
    """One measured run, kept so that a refit can start from the same evidence."""

    source: str
    rows: int = Field(gt=0, description="rows the pipeline processed (after sampling)")
    epochs: int = Field(default=0, ge=0)
    train_fraction: float = Field(default=0.8, gt=0, le=1)
    model_cost_ratio: float = Field(default=1.0, gt=0, description="model cost per example vs the reference model")
    stages: dict[Stage, float]
    overhead_s: float | None = Field(default=None, description="pipeline wall time outside its components")
    features: int = Field(default=REFERENCE_FEATURES, ge=1, description="features of both towers and crosses")
    eval_pairs: float = Field(default=0.0, ge=0, description="(test query, candidate) pairs of the exact recall@k")
    output_dim: int = Field(default=32, ge=1)
    target: Literal["local", "vertex"] = "local"
    hardware_tier: HardwareTier | None = None
    cached: list[Stage] = Field(default_factory=list, description="stages that were cache hits")
    data_key: str = Field(default="", description="estimate_learning.data_key: equal keys share cached data stages")


class Calibration(_Model):
    reference_machine: str
    reference_vcpu: int = Field(gt=0)
    reference_model: str
    reference_model_flops: float = Field(gt=0, description="flops per training example of the reference model")
    train_overhead_share: float = Field(ge=0, le=1, description="per-example train time share not scaling with flops")
    eval_ns_per_pair: float = Field(ge=0, description="exact recall@k: ns per (query, candidate) pair, dimension-free")
    eval_ns_per_pair_dim: float = Field(ge=0, description="exact recall@k: ns per pair and embedding dimension")
    fitted_at: str
    pipeline_overhead_s: float = Field(default=0.0, ge=0, description="local pipeline start and hand-offs")
    stages: dict[Stage, StageModel]
    cached_stage_s: dict[Stage, float] = Field(default_factory=dict, description="a data stage's cache hit")
    runs: list[CalibrationRun]


class VertexModel(_Model):
    """Assumptions that carry reference-machine times to Vertex AI Pipelines (see docs/estimates.md)."""

    compile_s: float = Field(ge=0, description="Cloud Build: queue, image pull, compile and submit")
    component_startup_s: float = Field(ge=0, description="provisioning and image pull per pipeline component")
    dataflow_startup_s: float = Field(ge=0, description="Dataflow job start and worker boot (the Beam stages, when "
                                      "the sample is above DATAFLOW_MIN_ROWS)")
    worker_processes_start_s: float = Field(default=17.0, ge=0, description="Beam's SDK-harness worker processes "
                                            "importing the stack again (above IN_MEMORY_MAX_ROWS; decision 080)")
    core_speed_ratio: float = Field(gt=0, description="time of one n1 vCPU relative to one reference-machine core")
    parallel_share: dict[Stage, float] = Field(description="share of each stage's time that scales with vCPUs")
    dataflow_rows_per_worker: int = Field(gt=0, description="up to the tier's dataflow_max_workers (pipeline_spec)")
    build_minutes_floor: float = Field(ge=0)
    bytes_per_row: int = Field(gt=0, description="assumed warehouse bytes scanned per row and column")


class Prices(_Model):
    region: str
    currency: Literal["USD"] = "USD"
    as_of: str
    source: str
    vertex_machine_hour: dict[str, float]
    pipeline_run_fee: float
    cloud_build_minute: float
    dataflow_vcpu_hour: float
    dataflow_memory_gb_hour: float
    bigquery_tib_scanned: float
    bigquery_min_bytes: int


class EstimateConstants(_Model):
    calibration: Calibration
    vertex: VertexModel
    prices: dict[str, Prices]
    default_region: str

    def prices_for(self, region: str | None) -> Prices:
        return self.prices.get(region or self.default_region) or self.prices[self.default_region]


@lru_cache(maxsize=4)
def load_constants(path: Path = CONSTANTS_FILE) -> EstimateConstants:
    return EstimateConstants.model_validate(json.loads(path.read_text()))


@dataclass(frozen=True)
class Workload:
    """What a quick test will process, derived from its configs before launch."""

    rows: int
    train_examples: int
    epochs: int
    flops_per_example: float
    parameters: int
    columns: int
    eval_pairs: float = 0.0
    output_dim: int = 32
    features: int = REFERENCE_FEATURES
    cached_data: bool = False
    """Whether the data stages will be cache hits (an earlier run had the same data, split and features)."""
    cost_ratio: float | None = None
    """The model cost ratio when known (a measured run's), else computed from ``flops_per_example``."""

    @property
    def model_memory_gb(self) -> float:
        return self.parameters * BYTES_PER_PARAMETER_TRAINING / 1e9

    @classmethod
    def from_configs(
        cls, dataset: Dataset, feature_config: FeatureConfig, model_config: ModelConfig, parameters: QuickTestParameters
    ) -> Workload:
        rows = max(1, math.ceil(dataset.row_count * parameters.sample_percent / 100))
        split = parameters.split
        if isinstance(split, RandomSplit):
            train_fraction = split.train_percent / 100
            test_fraction = (100 - split.train_percent - split.val_percent) / 100
        else:
            train_fraction, test_fraction = 0.8, 0.1
        size = model_size(feature_config, model_config, rows, parameters.batch_size)
        return cls(
            rows=rows,
            train_examples=max(1, math.ceil(rows * train_fraction)),
            epochs=parameters.epochs,
            flops_per_example=size.flops_per_example,
            parameters=size.embedding_parameters + size.dense_parameters,
            columns=len(dataset.all_columns()),
            eval_pairs=rows * test_fraction * candidate_corpus(dataset, feature_config, rows),
            output_dim=size.output_dim,
            features=max(1, len(feature_config.query_features) + len(feature_config.candidate_features)
                         + len(feature_config.cross_features)),
        )


def candidate_corpus(dataset: Dataset, feature_config: FeatureConfig, rows: int) -> int:
    """Candidates ranked by the exact recall@k: the product table's rows when known, else one per ten
    interactions (at most ``UNKNOWN_CORPUS_CAP``); never more than the candidate id feature's vocabulary limit."""
    known = dataset.product_features.row_count if dataset.product_features else None
    corpus = known or min(UNKNOWN_CORPUS_CAP, max(1, rows // 10))
    for feature in feature_config.candidate_features:
        limit = getattr(feature, "max_vocab_size", None)
        if feature.column == dataset.candidate_id_column and limit:
            corpus = min(corpus, int(limit))
    return corpus


@dataclass(frozen=True)
class ModelSize:
    embedding_parameters: int
    dense_parameters: int
    flops_per_example: float
    output_dim: int


def _feature_width(feature: Feature) -> int:
    if isinstance(feature, NumericFeature) and feature.transform == "normalize":
        return 1
    if isinstance(feature, HistoryFeature):
        return feature.max_values + 1
    if isinstance(feature, TimestampFeature):
        return feature.embedding_dim + 5
    return feature.embedding_dim


def _feature_embeddings(feature: Feature, rows: int) -> int:
    if isinstance(feature, (IdFeature, CategoricalFeature, TextFeature)):
        vocabulary = min(rows, feature.max_vocab_size or rows) + getattr(feature, "oov_buckets", 1)
        return vocabulary * feature.embedding_dim
    if isinstance(feature, NumericFeature):
        return feature.buckets * feature.embedding_dim if feature.transform == "bucketize" else 0
    if isinstance(feature, HistoryFeature):  # a fixed table: a row per buyer, held, never trained
        return (rows + 1) * (feature.max_values + 1)
    return feature.buckets * feature.embedding_dim


def _dense(input_width: int, layers: list[int], output_dim: int | None) -> tuple[int, int]:
    """(parameters, output width) of a tower's dense stack."""
    widths = [input_width, *layers] + ([output_dim] if output_dim and (not layers or layers[-1] != output_dim) else [])
    params = sum(a * b + b for a, b in zip(widths, widths[1:], strict=False))
    return params, widths[-1]


def model_size(feature_config: FeatureConfig, model_config: ModelConfig, rows: int, batch_size: int) -> ModelSize:
    """Parameters and training flops per example (both towers' dense layers and the in-batch softmax).

    Vocabulary sizes are not known before the run: each id, categorical or text feature is assumed
    to have ``min(rows, max_vocab_size)`` values, an upper bound.
    """
    embeddings = 0
    dense_total = 0
    outputs = []
    for tower in ("query", "candidate"):
        features = feature_config.tower_features(tower)
        crosses = [c for c in feature_config.cross_features if c.tower == tower]
        width = sum(_feature_width(f) for f in features) + sum(c.embedding_dim for c in crosses)
        embeddings += sum(_feature_embeddings(f, rows) for f in features)
        embeddings += sum(c.hash_buckets * c.embedding_dim for c in crosses)
        layers = model_config.query_tower_layers if tower == "query" else model_config.candidate_tower_layers
        params, out = _dense(width, list(layers), model_config.output_dim)
        dense_total += params
        outputs.append(out)
    output_dim = max(outputs)
    flops = 2.0 * dense_total + 2.0 * batch_size * output_dim
    return ModelSize(
        embedding_parameters=embeddings, dense_parameters=dense_total, flops_per_example=flops, output_dim=output_dim
    )


def recommended_tier(rows: int, model_memory_gb: float = 0.0) -> HardwareTier:
    """By processed rows (small < 100K ≤ medium < 1M ≤ large), one tier up while the model would
    take more than a quarter of the tier's memory."""
    if rows >= LARGE_FROM_ROWS:
        index = 2
    elif rows >= MEDIUM_FROM_ROWS:
        index = 1
    else:
        index = 0
    while index < 2 and model_memory_gb > HARDWARE_TIERS[TIER_ORDER[index]].memory_gb / 4:
        index += 1
    return TIER_ORDER[index]


def model_cost_ratio(flops_per_example: float, constants: EstimateConstants) -> float:
    """Training time per example relative to the reference model."""
    calibration = constants.calibration
    share = calibration.train_overhead_share
    return share + (1 - share) * flops_per_example / calibration.reference_model_flops


def stage_units(stage: Stage, workload: Workload, constants: EstimateConstants | None = None) -> float:
    """Thousands of units of ``stage``: rows × features / 2 for the data stages, reference-model
    example-epochs for Train, none for Compile."""
    if stage == Stage.TRAIN:
        ratio = workload.cost_ratio
        if ratio is None:
            ratio = model_cost_ratio(workload.flops_per_example, constants or load_constants())
        return workload.train_examples * workload.epochs * ratio / 1000
    if stage == Stage.COMPILE:
        return 0.0
    return workload.rows * workload.features / REFERENCE_FEATURES / 1000


def reference_seconds(workload: Workload, constants: EstimateConstants) -> dict[Stage, float]:
    """Stage times on the reference machine (the calibration runs' machine); cache hits for cached data stages."""
    calibration = constants.calibration
    out = {}
    for stage in STAGE_ORDER:
        if workload.cached_data and stage in DATA_STAGES:
            out[stage] = calibration.cached_stage_s.get(stage, CACHED_STAGE_S)
            continue
        model = calibration.stages[stage]
        out[stage] = model.fixed_s + model.per_unit_s * stage_units(stage, workload, constants)
    out[Stage.TRAIN] += evaluation_seconds(workload, constants)
    return out


def evaluation_seconds(workload: Workload, constants: EstimateConstants) -> float:
    """Exact recall@k on the test split: every test query scored against the whole candidate corpus."""
    calibration = constants.calibration
    per_pair_ns = calibration.eval_ns_per_pair + calibration.eval_ns_per_pair_dim * workload.output_dim
    return workload.eval_pairs * per_pair_ns / 1e9


def dataflow_workers(rows: int, tier: HardwareTier, constants: EstimateConstants) -> int:
    """Dataflow workers of the Beam stages: one per ``dataflow_rows_per_worker`` rows, at most the
    tier's ``dataflow_max_workers`` that the pipeline passes to Dataflow."""
    per_worker = constants.vertex.dataflow_rows_per_worker
    return max(1, min(MACHINE_TIERS[tier].dataflow_max_workers, math.ceil(rows / per_worker)))


def stage_durations(workload: Workload, tier: HardwareTier, target: Target, constants: EstimateConstants) -> dict[
    Stage, float
]:
    """Seconds per stage: the reference-machine model locally; on Vertex, scaled by the tier's vCPUs
    (Amdahl, with each stage's parallel share) plus the start-up overheads. The Beam stages follow
    decision 080: one in-process DirectRunner for a quick-test sample (the tier's vCPUs do not speed
    it up), a worker process per vCPU above a million rows, Dataflow workers above ten million; on a
    DirectRunner StatisticsGen stays in its process (decision 099)."""
    local = reference_seconds(workload, constants)
    if target == "local":
        return local
    vertex = constants.vertex
    spec = HARDWARE_TIERS[tier]
    reference_vcpu = constants.calibration.reference_vcpu
    runner = beam_runner(workload.rows)
    out: dict[Stage, float] = {Stage.COMPILE: vertex.compile_s}
    for stage in STAGE_ORDER[1:]:
        vcpus, parallel, startup = spec.vcpu, vertex.parallel_share[stage], vertex.component_startup_s
        in_process = runner == "in_memory" or (runner == "multi_processing" and stage in IN_PROCESS_ON_DIRECT_RUNNER)
        if stage in BEAM_STAGES and in_process:
            parallel = 0.0
        elif stage in BEAM_STAGES and runner == "multi_processing":
            startup += vertex.worker_processes_start_s
        elif stage in BEAM_STAGES:
            vcpus *= dataflow_workers(workload.rows, tier, constants)
            startup += vertex.dataflow_startup_s
        compute = local[stage] * vertex.core_speed_ratio * ((1 - parallel) + parallel * reference_vcpu / vcpus)
        out[stage] = startup + compute
    return out


def actual_cost(
    tier: HardwareTier,
    stage_seconds: Mapping[Stage, float],
    rows: int = 0,
    columns: int = 0,
    target: Target = "vertex",
    region: str | None = None,
    constants: EstimateConstants | None = None,
) -> float:
    """USD of a run on Vertex AI from its stage times (estimated or measured); 0 for local runs.

    Every pipeline component runs on the tier's machine; above ``DATAFLOW_MIN_ROWS`` the Beam stages
    also run a Dataflow job with workers of that machine type while the component waits for it.
    """
    if target == "local":
        return 0.0
    constants = constants or load_constants()
    prices = constants.prices_for(region)
    vertex = constants.vertex
    spec = HARDWARE_TIERS[tier]
    machine_hour = prices.vertex_machine_hour[spec.machine_type]
    build_minutes = max(vertex.build_minutes_floor, stage_seconds.get(Stage.COMPILE, 0.0) / 60)
    cost = prices.pipeline_run_fee + build_minutes * prices.cloud_build_minute
    workers = dataflow_workers(rows, tier, constants) if rows else 1
    on_dataflow = beam_runner(rows) == "dataflow"
    for stage in STAGE_ORDER[1:]:
        hours = stage_seconds.get(stage, 0.0) / 3600
        cost += hours * machine_hour
        if on_dataflow and stage in BEAM_STAGES:
            dataflow_hours = max(0.0, stage_seconds.get(stage, 0.0) - vertex.component_startup_s) / 3600
            worker_hour = spec.vcpu * prices.dataflow_vcpu_hour + spec.memory_gb * prices.dataflow_memory_gb_hour
            cost += dataflow_hours * workers * worker_hour
    scanned = max(prices.bigquery_min_bytes, rows * max(columns, 1) * vertex.bytes_per_row)
    cost += scanned / 2**40 * prices.bigquery_tib_scanned
    return round(cost, 4)


def estimate_workload(
    workload: Workload,
    tier: HardwareTier,
    target: Target = "vertex",
    region: str | None = None,
    constants: EstimateConstants | None = None,
) -> Estimate:
    constants = constants or load_constants()
    durations = stage_durations(workload, tier, target, constants)
    overhead = constants.calibration.pipeline_overhead_s if target == "local" else 0.0
    return Estimate(
        duration_s=round(sum(durations.values()) + overhead, 1),
        cost_usd=actual_cost(tier, durations, workload.rows, workload.columns, target, region, constants),
        hardware_tier=tier,
        recommended_tier=recommended_tier(workload.rows, workload.model_memory_gb),
        target=target,
        stage_durations_s={stage: round(seconds, 1) for stage, seconds in durations.items()},
    )


def estimate(
    dataset: Dataset,
    feature_config: FeatureConfig,
    model_config: ModelConfig,
    parameters: QuickTestParameters,
    *,
    tier: HardwareTier | None = None,
    target: Target = "vertex",
    region: str | None = None,
    constants: EstimateConstants | None = None,
) -> Estimate:
    """The estimate for ``tier`` (default: the parameters' hardware tier)."""
    workload = Workload.from_configs(dataset, feature_config, model_config, parameters)
    return estimate_workload(workload, tier or parameters.hardware_tier, target, region, constants)


def estimate_tiers(
    dataset: Dataset,
    feature_config: FeatureConfig,
    model_config: ModelConfig,
    parameters: QuickTestParameters,
    *,
    target: Target = "vertex",
    region: str | None = None,
    constants: EstimateConstants | None = None,
) -> list[Estimate]:
    """One estimate per tier, small to large, each naming the recommended tier."""
    workload = Workload.from_configs(dataset, feature_config, model_config, parameters)
    return [estimate_workload(workload, tier, target, region, constants) for tier in TIER_ORDER]


def estimator(
    target: Target = "vertex", region: str | None = None
) -> Callable[[Dataset, FeatureConfig, ModelConfig, QuickTestParameters], Estimate]:
    """An ``Estimator`` for the experiments handler, bound to where runs go (``PLATFORM_PIPELINE_SERVICE``:
    local → ``"local"``, vertex → ``"vertex"``) and the region (``PLATFORM_GCP_REGION``)."""

    def bound(
        dataset: Dataset, feature_config: FeatureConfig, model_config: ModelConfig, parameters: QuickTestParameters
    ) -> Estimate:
        return estimate(dataset, feature_config, model_config, parameters, target=target, region=region)

    return bound
