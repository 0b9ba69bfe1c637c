"""Watched datasets (issue 13): quick tests pinned to a dataset, run again when its source changes."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from experiments_platform.handlers import admission, watches
from experiments_platform.web.args import json_body
from experiments_platform.web.context import platform
from experiments_platform.web.gateway.blueprints.decisions import read_hits
from experiments_platform.web.gateway.context import estimator, launcher

blueprint = Blueprint("watches", __name__)


@blueprint.get("/api/datasets/<dataset_id>/watches")
def list_watches(dataset_id: str) -> Response:
    return jsonify(watches.watches_view(platform().documents, dataset_id, read_hits))


@blueprint.post("/api/datasets/<dataset_id>/watches")
def pin(dataset_id: str) -> tuple[Response, int]:
    with admission.one_start_at_a_time(platform()):
        doc, created = watches.pin(platform().documents, platform().bus, launcher(), dataset_id, json_body(),
                                   estimator(), lambda n: admission.refuse_when_full(platform(), adding=n))
    return jsonify(doc), 201 if created else 200  # 200: the same quick test was already pinned


@blueprint.delete("/api/datasets/<dataset_id>/watches/<watch_id>")
def unpin(dataset_id: str, watch_id: str) -> tuple[str, int]:
    watches.unpin(platform().documents, dataset_id, watch_id)
    return "", 204
