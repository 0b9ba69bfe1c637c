"""Access to the running app's ``Platform`` (its ports and settings) from a request."""

from __future__ import annotations

from experiments_platform.bootstrap import Platform
from experiments_platform.handlers.experiments import Estimator
from flask import current_app


def platform() -> Platform:
    return current_app.extensions["platform"]  # type: ignore[no-any-return]


def estimator() -> Estimator:
    """The duration/cost estimator of new experiments."""
    return current_app.extensions["estimator"]  # type: ignore[no-any-return]
