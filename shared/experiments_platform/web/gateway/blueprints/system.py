"""``/api`` (links), ``/api/openapi.json``, ``/api/system/options`` (the choices the UI offers), ``/api/metrics``."""

from __future__ import annotations

from typing import Any, get_args

from flask import Blueprint, Response, jsonify, request

from experiments_platform.domain.experiment import (
    BuyerTimeSplit,
    HardwareTier,
    QuickTestParameters,
    RandomSplit,
    SamplePercent,
    StrictTimeSplit,
    TimeHoldoutSplit,
)
from experiments_platform.domain.features import (
    CategoricalFeature,
    CrossFeature,
    HistoryFeature,
    IdFeature,
    NumericFeature,
    TextFeature,
    TimestampFeature,
)
from experiments_platform.domain.metrics import catalogue_document
from experiments_platform.domain.model import ModelConfig, Optimizer
from experiments_platform.domain.status import CANCELLABLE, STAGE_LABELS, STAGE_ORDER, Status
from experiments_platform.handlers.configs import SERVER_FIELDS
from experiments_platform.handlers.dashboard import AXES
from experiments_platform.handlers.experiments import SELECTABLE
from experiments_platform.web.gateway.openapi import openapi_document

blueprint = Blueprint("system", __name__)


@blueprint.get("/api")
def api_index() -> Response:
    """What the API root answers: where the UI, the API documentation and the OpenAPI document are."""
    root = request.host_url.rstrip("/")
    return jsonify({
        "service": "api_gateway",
        "links": {
            "ui": f"{root}/",
            "docs": f"{root}/api/docs",
            "openapi": f"{root}/api/openapi.json",
            "health": f"{root}/healthz",
        },
    })


@blueprint.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


def _defaults(model: Any) -> dict[str, Any]:
    fields = model.model_fields.items()
    return {name: f.get_default(call_default_factory=True) for name, f in fields if not f.is_required()}


def options() -> dict[str, Any]:
    model_defaults = ModelConfig.model_fields
    return {
        "sample_percents": list(get_args(SamplePercent)),
        "hardware_tiers": list(get_args(HardwareTier)),
        "split_strategies": {
            cls.model_fields["strategy"].default: _defaults(cls)
            for cls in (RandomSplit, TimeHoldoutSplit, StrictTimeSplit, BuyerTimeSplit)
        },
        "parameters": QuickTestParameters().to_document(),
        "feature_kinds": {
            cls.model_fields["kind"].default: _defaults(cls)
            for cls in (IdFeature, CategoricalFeature, NumericFeature, TimestampFeature, TextFeature,
                        HistoryFeature)
        },
        "cross_feature": _defaults(CrossFeature),
        "optimizers": list(get_args(Optimizer)),
        "activations": list(get_args(model_defaults["activation"].annotation)),
        "model_config": {k: v for k, v in _defaults(ModelConfig).items() if k not in SERVER_FIELDS},
        "statuses": [s.value for s in Status],
        "cancellable_statuses": sorted(s.value for s in CANCELLABLE),
        "selectable_statuses": [s.value for s in SELECTABLE],
        "stages": [{"name": s.value, "label": STAGE_LABELS[s]} for s in STAGE_ORDER],
        "heatmap_axes": [{"name": a.name, "label": a.label} for a in AXES.values()],
    }


@blueprint.get("/api/system/options")
def system_options() -> Response:
    return jsonify(options())


@blueprint.get("/api/metrics")
def metric_catalogue() -> Response:
    """The catalogue, with an ETag: it changes only with a deployment, so a page load usually gets a 304."""
    response = jsonify(catalogue_document())
    response.add_etag()
    response.headers["Cache-Control"] = "no-cache"
    response.make_conditional(request)
    return response
