"""Estimates that learn: launch estimates calibrated from this deployment's own completed runs (decision 093).

The constants in ``estimates.json`` were measured on one machine at one load; a deployment's
machine, its load and its tiers differ (on a shared 2-core machine the static estimates were 2–4×
optimistic). Every completed experiment is a measurement: its stage times, and the workload its
configs describe (rows, features, epochs, model size, tier, target, which stages were cache hits).
``observed_run`` turns one into a ``CalibrationRun``; ``learned_constants`` refits the stage models
from the deployment's most recent runs:

- locally, each stage's line ``fixed_s + per_unit_s × units`` is refitted by least squares over the
  runs (the static constants stay the prior: a stage seen at one size keeps the static fixed part
  and fits the slope; a stage never seen keeps its static model), and the pipeline overhead is the
  runs' median;
- on Vertex AI (whose stage times include start-up and the tier's vCPUs) each stage's static
  estimate is scaled by the median ratio of measured to estimated time over the runs;
- the runs of the launch's tier are used once there are ``MIN_TIER_RUNS`` of them, else all the
  runs of its target; cached stages do not enter the fits, they give the time of a cache hit.

``LearningEstimator`` is the gateway's ``Estimator``: it reads the completed experiments (each
once), refits when their set changes, and says whether a launch's data stages will be cache hits
(a completed run with the same data, sample, split, seed and features). ``estimate_outcome`` is the
estimated-against-actual comparison of a finished run.
"""

from __future__ import annotations

import json
import statistics
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from experiments_platform.domain.dataset import Dataset
from experiments_platform.domain.estimates import (
    DATA_STAGES,
    CalibrationRun,
    EstimateConstants,
    StageModel,
    Target,
    Workload,
    actual_cost,
    estimate_workload,
    load_constants,
    model_cost_ratio,
    stage_durations,
)
from experiments_platform.domain.experiment import Estimate, Experiment, QuickTestParameters
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.status import STAGE_ORDER, Stage, Status

MIN_TIER_RUNS = 3
"""Runs of one tier before that tier's runs alone calibrate its estimates."""
RECENT_RUNS = 60
"""The most recent runs that calibrate: the machine and its load change, old runs say less."""


def data_key(dataset_id: str, feature_config: FeatureConfig, parameters: QuickTestParameters) -> str:
    """What decides whether the data stages of a launch are cache hits of an earlier run."""
    features = feature_config.model_dump(mode="json", include={"query_features", "candidate_features",
                                                               "cross_features"})
    return json.dumps([dataset_id, parameters.sample_percent, parameters.split.model_dump(mode="json"),
                       parameters.seed, features], sort_keys=True)


def _seconds(started: datetime | None, finished: datetime | None) -> float | None:
    if started is None or finished is None:
        return None
    return max(0.0, (finished - started).total_seconds())


def observed_run(experiment: Experiment, constants: EstimateConstants | None = None) -> CalibrationRun | None:
    """A completed experiment as a calibration run (``None`` when it did not complete or lacks stage times)."""
    if experiment.status != Status.COMPLETED or experiment.full_training is not None:
        return None  # a full training's Train stage is a different job (decision 070)
    constants = constants or load_constants()
    stages: dict[Stage, float] = {}
    for stage in STAGE_ORDER:
        state = experiment.stages.get(stage)
        seconds = _seconds(state.started_at, state.finished_at) if state else None
        if seconds is None:
            return None
        stages[stage] = round(seconds, 2)
    workload = Workload.from_configs(experiment.dataset_snapshot, experiment.feature_config_snapshot,
                                     experiment.model_config_snapshot, experiment.parameters)
    total = _seconds(experiment.started_at, experiment.finished_at)
    target: Target = experiment.estimate.target if experiment.estimate else "local"
    return CalibrationRun(
        source=f"experiment {experiment.id} ({experiment.label}), finished {experiment.finished_at}",
        rows=workload.rows, epochs=workload.epochs, train_fraction=round(workload.train_examples / workload.rows, 4),
        model_cost_ratio=round(model_cost_ratio(workload.flops_per_example, constants), 4),
        features=workload.features, eval_pairs=workload.eval_pairs, output_dim=workload.output_dim,
        stages=stages, overhead_s=round(max(0.0, total - sum(stages.values())), 2) if total is not None else None,
        target=target, hardware_tier=experiment.parameters.hardware_tier,
        cached=sorted(s for s, state in experiment.stages.items() if state.cached),
        data_key=data_key(experiment.dataset_id, experiment.feature_config_snapshot, experiment.parameters),
    )


def workload_of(run: CalibrationRun) -> Workload:
    """The workload a calibration run measured (what its units are computed from)."""
    return Workload(rows=run.rows, train_examples=max(1, round(run.rows * run.train_fraction)), epochs=run.epochs,
                    flops_per_example=0.0, parameters=0, columns=0, eval_pairs=run.eval_pairs,
                    output_dim=run.output_dim, features=run.features, cost_ratio=run.model_cost_ratio)


def fit_line(points: list[tuple[float, float]], prior_fixed: float) -> tuple[float, float]:
    """Least-squares ``t = a + b·x`` with a, b ≥ 0; one distinct x keeps ``a = prior_fixed`` (or less)."""
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        mean_x = sum(xs) / len(xs)
        mean_t = sum(t for _, t in points) / len(points)
        fixed = min(prior_fixed, mean_t)
        return fixed, max(0.0, (mean_t - fixed) / mean_x) if mean_x else 0.0
    n = len(points)
    mean_x = sum(xs) / n
    mean_t = sum(t for _, t in points) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (t - mean_t) for x, t in points) / sxx
    if slope < 0:
        return mean_t, 0.0
    fixed = mean_t - slope * mean_x
    if fixed < 0:
        slope = sum(x * t for x, t in points) / sum(x * x for x in xs)
        return 0.0, slope
    return fixed, slope


def fit_stages(constants: EstimateConstants, runs: Iterable[CalibrationRun]) -> EstimateConstants:
    """The reference-machine stage models refitted on ``runs`` (cache hits left out, the evaluation's
    modelled time taken out of Train); stages without a measurement keep theirs."""
    from experiments_platform.domain.estimates import evaluation_seconds, stage_units

    runs = list(runs)
    calibration = constants.calibration
    models = dict(calibration.stages)
    for stage, prior in calibration.stages.items():
        points = []
        for run in runs:
            if stage not in run.stages or (stage in run.cached and stage in DATA_STAGES):
                continue
            workload = workload_of(run)
            seconds = run.stages[stage]
            if stage == Stage.TRAIN:
                seconds = max(0.0, seconds - evaluation_seconds(workload, constants))
            points.append((stage_units(stage, workload), seconds))
        if not points:
            continue
        if stage == Stage.COMPILE:
            models[stage] = StageModel(fixed_s=round(statistics.median(t for _, t in points), 3), per_unit_s=0.0)
            continue
        fixed, slope = fit_line(points, prior.fixed_s)
        models[stage] = StageModel(fixed_s=round(fixed, 3), per_unit_s=round(slope, 6))
    cached = {stage: round(statistics.median(run.stages[stage] for run in runs if stage in run.cached), 2)
              for stage in DATA_STAGES if any(stage in run.cached for run in runs)}
    overheads = [run.overhead_s for run in runs if run.overhead_s is not None]
    update = {"stages": models, "cached_stage_s": {**calibration.cached_stage_s, **cached}}
    if overheads:
        update["pipeline_overhead_s"] = round(statistics.median(overheads), 2)
    return constants.model_copy(update={"calibration": calibration.model_copy(update=update)})


def _vertex_ratios(constants: EstimateConstants, runs: list[CalibrationRun]) -> dict[Stage, float]:
    """Per stage, the median of measured over estimated seconds (Vertex AI runs)."""
    ratios: dict[Stage, list[float]] = {}
    for run in runs:
        modelled = stage_durations(replace(workload_of(run), cached_data=False), run.hardware_tier or "small",
                                   "vertex", constants)
        for stage, seconds in run.stages.items():
            if modelled.get(stage) and not (stage in run.cached and stage in DATA_STAGES):
                ratios.setdefault(stage, []).append(seconds / modelled[stage])
    return {stage: round(statistics.median(values), 3) for stage, values in ratios.items()}


@dataclass(frozen=True)
class Learned:
    """What calibrates one (target, tier): the constants, the Vertex AI ratios, and from how many runs."""

    constants: EstimateConstants
    vertex_ratios: Mapping[Stage, float]
    runs: int
    scope: str


def learned_constants(constants: EstimateConstants, runs: Iterable[CalibrationRun], target: Target,
                      tier: str) -> Learned:
    """The constants for launches on ``target`` and ``tier`` refitted from the deployment's ``runs``."""
    same_target = [run for run in runs if run.target == target][-RECENT_RUNS:]
    same_tier = [run for run in same_target if run.hardware_tier == tier]
    chosen, scope = (same_tier, f"{target} {tier}") if len(same_tier) >= MIN_TIER_RUNS else (same_target, target)
    if not chosen:
        return Learned(constants, {}, 0, "static constants (no completed run here yet)")
    if target == "local":
        return Learned(fit_stages(constants, chosen), {}, len(chosen), scope)
    return Learned(constants, _vertex_ratios(constants, chosen), len(chosen), scope)


def learned_estimate(workload: Workload, tier: str, target: Target, region: str | None, learned: Learned) -> Estimate:
    """``estimate_workload`` with the learned constants (and, on Vertex AI, the learned ratios)."""
    base = estimate_workload(workload, tier, target, region, learned.constants)  # type: ignore[arg-type]
    if not learned.vertex_ratios:
        return base
    stages = {stage: round(seconds * learned.vertex_ratios.get(stage, 1.0), 1)
              for stage, seconds in base.stage_durations_s.items()}
    return base.model_copy(update={"stage_durations_s": stages, "duration_s": round(sum(stages.values()), 1)})


class LearningEstimator:
    """The gateway's ``Estimator``: static constants refitted from the completed experiments of this deployment.

    ``completed()`` returns the ids of the completed experiments (cheap: the in-memory index);
    ``load(id)`` reads one of them whole, once. The fit is redone when the set of ids changes.
    """

    def __init__(self, completed: Callable[[], Iterable[str]], load: Callable[[str], Experiment | None],
                 target: Target = "local", region: str | None = None,
                 constants: EstimateConstants | None = None) -> None:
        self.completed, self.load = completed, load
        self.target, self.region = target, region
        self.constants = constants or load_constants()
        self._runs: dict[str, CalibrationRun | None] = {}
        self._outcomes: dict[str, dict[str, object]] = {}
        self._fits: dict[tuple[str, int], Learned] = {}
        self._lock = threading.Lock()

    def runs(self) -> list[CalibrationRun]:
        """The completed experiments' runs, oldest first."""
        ids = list(self.completed())
        with self._lock:
            new = [i for i in ids if i not in self._runs]
        for experiment_id in new:
            experiment = self.load(experiment_id)
            run = observed_run(experiment, self.constants) if experiment else None
            outcome = estimate_outcome(experiment) if experiment else None
            with self._lock:
                self._runs[experiment_id] = run
                if experiment and outcome:
                    self._outcomes[experiment_id] = {"experiment_id": experiment_id, "label": experiment.label,
                                                     "hardware_tier": experiment.parameters.hardware_tier,
                                                     **asdict(outcome)}
                self._fits.clear()
        with self._lock:
            runs = [r for i in ids if (r := self._runs.get(i)) is not None]
        return sorted(runs, key=lambda r: r.source.rsplit("finished ", 1)[-1])

    def outcomes(self) -> list[dict[str, object]]:
        """Estimated against actual for every completed experiment that kept its estimate, oldest first."""
        ids = [i for i in self.completed()]
        self.runs()
        with self._lock:
            return [self._outcomes[i] for i in ids if i in self._outcomes]

    def learned(self, tier: str) -> Learned:
        runs = self.runs()
        key = (tier, len(runs))
        with self._lock:
            if key in self._fits:
                return self._fits[key]
        learned = learned_constants(self.constants, runs, self.target, tier)
        with self._lock:
            self._fits[key] = learned
        return learned

    def __call__(self, dataset: Dataset, feature_config: FeatureConfig, model_config: ModelConfig,
                 parameters: QuickTestParameters) -> Estimate:
        tier = parameters.hardware_tier
        learned = self.learned(tier)
        key = data_key(dataset.id, feature_config, parameters)
        cached = any(run.data_key == key for run in self.runs())
        workload = replace(Workload.from_configs(dataset, feature_config, model_config, parameters),
                           cached_data=cached)
        return learned_estimate(workload, tier, self.target, self.region, learned)


@dataclass(frozen=True)
class EstimateOutcome:
    """A finished run's estimate against what it took: seconds, and ``error`` = (estimated − actual) / actual;
    the estimated cost and the measured stage times priced the same way (``estimates.actual_cost``: 0 locally)."""

    estimated_s: float
    actual_s: float
    error: float
    stages: dict[str, dict[str, float | None]]
    estimated_cost_usd: float = 0.0
    actual_cost_usd: float = 0.0


def estimate_outcome(experiment: Experiment) -> EstimateOutcome | None:
    """Estimated against actual for a completed experiment that kept its launch estimate."""
    estimate = experiment.estimate
    actual = _seconds(experiment.started_at, experiment.finished_at)
    if experiment.status != Status.COMPLETED or estimate is None or not actual:
        return None
    stages = {}
    measured: dict[Stage, float] = {}
    for stage in STAGE_ORDER:
        state = experiment.stages.get(stage)
        took = _seconds(state.started_at, state.finished_at) if state else None
        stages[stage.value] = {"estimated_s": estimate.stage_durations_s.get(stage), "actual_s": took}
        if took is not None:
            measured[stage] = took
    workload = Workload.from_configs(experiment.dataset_snapshot, experiment.feature_config_snapshot,
                                     experiment.model_config_snapshot, experiment.parameters)
    cost = actual_cost(estimate.hardware_tier, measured, workload.rows, workload.columns, estimate.target)
    return EstimateOutcome(estimated_s=estimate.duration_s, actual_s=round(actual, 1),
                           error=round((estimate.duration_s - actual) / actual, 3), stages=stages,
                           estimated_cost_usd=estimate.cost_usd, actual_cost_usd=cost)


def leave_one_out(runs: list[CalibrationRun], constants: EstimateConstants, target: Target = "local"
                  ) -> list[tuple[CalibrationRun, float, float]]:
    """Each run estimated from the others (as a deployment would have, had it run last): (run, estimated, actual)."""
    out = []
    for index, run in enumerate(runs):
        others = runs[:index] + runs[index + 1:]
        learned = learned_constants(constants, others, target, run.hardware_tier or "small")
        cached = any(other.data_key and other.data_key == run.data_key for other in others)
        workload = replace(workload_of(run), cached_data=cached)
        estimate = learned_estimate(workload, run.hardware_tier or "small", target, None, learned)
        actual = sum(run.stages.values()) + (run.overhead_s or 0.0)
        out.append((run, estimate.duration_s, actual))
    return out
