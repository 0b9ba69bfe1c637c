"""``POST /tasks/reconcile``: the status watcher's repair sweep, called by Cloud Scheduler (decision 006)."""

from __future__ import annotations

from flask import Flask, Response, jsonify

from experiments_platform.events.topology import RECONCILE_PATH
from experiments_platform.handlers.reconcile import reconcile
from experiments_platform.web.context import platform


def register(app: Flask, service: str) -> None:
    @app.post(RECONCILE_PATH)
    def reconcile_task() -> Response:
        return jsonify(reconcile(platform()).to_dict())
