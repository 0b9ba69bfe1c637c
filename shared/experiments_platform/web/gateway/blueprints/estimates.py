"""Estimates against outcomes (decision 093): each finished run's estimate beside what it took, and the calibration."""

from __future__ import annotations

import statistics
from dataclasses import asdict

from flask import Blueprint, Response, jsonify

from experiments_platform.domain.estimate_learning import LearningEstimator, estimate_outcome
from experiments_platform.domain.estimates import TIER_ORDER
from experiments_platform.domain.experiment import Experiment
from experiments_platform.handlers.experiments import get_experiment
from experiments_platform.web.context import platform
from experiments_platform.web.gateway.context import estimator

blueprint = Blueprint("estimates", __name__)


def _learning() -> LearningEstimator | None:
    learning = estimator()
    return learning if isinstance(learning, LearningEstimator) else None


@blueprint.get("/api/experiments/<experiment_id>/estimate")
def experiment_estimate(experiment_id: str) -> Response:
    """The run's launch estimate against its measured times (``outcome`` null until it completed)."""
    experiment = Experiment.model_validate(get_experiment(platform().documents, experiment_id))
    outcome = estimate_outcome(experiment)
    return jsonify({"experiment_id": experiment.id, "estimate": experiment.estimate and experiment.estimate.model_dump(
        mode="json"), "outcome": asdict(outcome) if outcome else None})


@blueprint.get("/api/estimates/calibration")
def calibration() -> Response:
    """What the estimates are calibrated from now: per tier its scope and runs, and how far off past estimates were."""
    learning = _learning()
    if learning is None:
        return jsonify({"learning": False, "tiers": {}, "outcomes": [], "median_abs_error": None})
    tiers = {}
    for tier in TIER_ORDER:
        learned = learning.learned(tier)
        tiers[tier] = {"scope": learned.scope, "runs": learned.runs,
                       "stages": {s.value: m.model_dump() for s, m in learned.constants.calibration.stages.items()},
                       "pipeline_overhead_s": learned.constants.calibration.pipeline_overhead_s,
                       "vertex_ratios": {s.value: r for s, r in learned.vertex_ratios.items()}}
    outcomes = learning.outcomes()
    errors = [abs(float(o["error"])) for o in outcomes]  # type: ignore[arg-type]
    return jsonify({"learning": True, "target": learning.target, "tiers": tiers, "outcomes": outcomes,
                    "median_abs_error": round(statistics.median(errors), 3) if errors else None})
