"""``POST /tasks/reconcile``: the status watcher's repair sweep, called by Cloud Scheduler (decision 006)
with an OIDC token of its service account, verified when deployed (``web.auth``, decision 053)."""

from __future__ import annotations

from flask import Flask, Response, jsonify

from experiments_platform.events.topology import RECONCILE_PATH
from experiments_platform.handlers.reconcile import reconcile
from experiments_platform.web import auth
from experiments_platform.web.context import platform


def register(app: Flask, service: str) -> None:
    settings = auth.platform_settings(app)
    check = auth.oidc_check(settings, settings.scheduler_service_account, "Cloud Scheduler")
    auth.announce(service, "reconcile requests", check, "PLATFORM_OIDC_AUDIENCE")

    def reconcile_task() -> Response:
        return jsonify(reconcile(platform()).to_dict())

    app.add_url_rule(RECONCILE_PATH, endpoint="reconcile_task", view_func=auth.checked(reconcile_task, check),
                     methods=["POST"])
