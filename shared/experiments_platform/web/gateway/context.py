"""Access to the running app's ``Platform`` (its ports and settings) from a request."""

from __future__ import annotations

from flask import current_app

from experiments_platform.bootstrap import Platform
from experiments_platform.handlers.dashboard import SharedLoad
from experiments_platform.handlers.experiments import Estimator


def platform() -> Platform:
    return current_app.extensions["platform"]  # type: ignore[no-any-return]


def estimator() -> Estimator:
    """The duration/cost estimator of new experiments."""
    return current_app.extensions["estimator"]  # type: ignore[no-any-return]


def shared_experiments() -> SharedLoad:
    """The single-flight experiments load the dashboard's endpoints share (one per app)."""
    extensions = current_app.extensions
    load = extensions.get("dashboard_load")
    if load is None:
        load = extensions.setdefault("dashboard_load", SharedLoad(platform().documents))
    return load  # type: ignore[no-any-return]
