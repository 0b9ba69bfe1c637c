"""The running app's ``Platform`` (its ports and settings), from inside a request."""

from __future__ import annotations

from flask import current_app

from experiments_platform.bootstrap import Platform


def platform() -> Platform:
    return current_app.extensions["platform"]  # type: ignore[no-any-return]
