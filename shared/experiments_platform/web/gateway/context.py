"""What the gateway's blueprints share within one app: the estimator and the dashboard's experiments load."""

from __future__ import annotations

from flask import current_app

from experiments_platform.handlers.dashboard import SharedLoad
from experiments_platform.handlers.experiments import Estimator
from experiments_platform.web.context import platform


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
