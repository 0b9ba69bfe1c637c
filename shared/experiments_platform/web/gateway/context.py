"""What the gateway's blueprints share within one app: the estimator, and the launch check."""

from __future__ import annotations

from flask import current_app

from experiments_platform.domain.preflight import Minimums
from experiments_platform.handlers.experiments import Estimator, Launcher
from experiments_platform.web.context import platform


def estimator() -> Estimator:
    """The duration/cost estimator of new experiments."""
    return current_app.extensions["estimator"]  # type: ignore[no-any-return]


def launcher() -> Launcher:
    """The launch check of new experiments: the platform's warehouse and the settings' thresholds."""
    settings = platform().settings
    return Launcher(platform().warehouse,
                    Minimums(settings.preflight_min_interactions, settings.preflight_min_buyers))
