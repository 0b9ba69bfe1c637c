"""The api_gateway service: the REST API (one blueprint per area, ``blueprints/``) and the web UI.

``register(app, service)`` is its route module for ``web.app.create_app("api_gateway")``: the
blueprints, the estimator of new experiments, and response compression.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_compress import Compress

from experiments_platform.config import Settings
from experiments_platform.domain import estimates
from experiments_platform.domain.estimate_learning import LearningEstimator
from experiments_platform.domain.status import Status
from experiments_platform.repositories.experiment_index import ExperimentIndex
from experiments_platform.repositories.experiments import ExperimentRepository
from experiments_platform.web import auth
from experiments_platform.web.gateway.blueprints import (
    configs,
    dashboard,
    decisions,
    experiments,
    full_training,
    insights,
    system,
    watches,
)
from experiments_platform.web.gateway.blueprints import estimates as estimates_blueprint
from experiments_platform.web.gateway.ui_assets import create_ui_blueprint

COMPRESSION: dict[str, Any] = {
    "COMPRESS_MIMETYPES": ["application/json", "text/csv", "text/html", "text/css", "text/javascript",
                           "application/javascript", "image/svg+xml"],
    "COMPRESS_MIN_SIZE": 1024,
}


def register(app: Flask, service: str) -> None:
    settings: Settings = app.extensions["platform"].settings
    auth.require_iap(app, settings)
    app.extensions["estimator"] = _estimator(app, settings)
    for blueprint in (system.blueprint, *configs.create_config_blueprints(), experiments.blueprint,
                      insights.blueprint, dashboard.blueprint, decisions.blueprint, estimates_blueprint.blueprint,
                      full_training.blueprint, watches.blueprint,
                      create_ui_blueprint(settings.ui_dir)):
        app.register_blueprint(blueprint)
    for key, value in COMPRESSION.items():
        app.config.setdefault(key, value)
    Compress(app)


def _estimator(app: Flask, settings: Settings) -> LearningEstimator:
    """Estimates for where the pipeline runs (this machine, no cost; or Vertex AI in the configured region),
    calibrated from this deployment's completed experiments (decision 093)."""
    target: estimates.Target = "local" if settings.pipeline_service == "local" else "vertex"

    def documents() -> Any:
        return app.extensions["platform"].documents

    def completed() -> list[str]:
        def ids(summaries: tuple[dict[str, Any], ...]) -> list[str]:
            done = [d for d in summaries if d.get("status") == Status.COMPLETED.value]
            return [d["id"] for d in sorted(done, key=lambda d: str(d.get("finished_at") or ""))]

        return ExperimentIndex.of(documents()).snapshot().view("estimate-learning-completed", ids)

    return LearningEstimator(completed, lambda i: ExperimentRepository(documents()).find(i), target,
                             settings.gcp_region)
