"""The OpenAPI document: ``openapi.yaml`` plus the domain schemas generated from the pydantic models."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from experiments_platform.domain.attribution import ParameterEffect
from experiments_platform.domain.dataset import Dataset, TableSource
from experiments_platform.domain.experiment import Estimate, Experiment
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.metrics import MetricSpec
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.noise import PairedInterval
from experiments_platform.domain.sweep import Sweep, SweepEstimate, SweepRequest
from experiments_platform.domain.watch import Watch
from experiments_platform.web.gateway.openapi_exact import make_exact

OPENAPI_YAML = Path(__file__).resolve().parent / "openapi.yaml"
DOMAIN_MODELS = (Dataset, TableSource, FeatureConfig, ModelConfig, Experiment, Estimate, MetricSpec, SweepRequest,
                 Sweep, SweepEstimate, PairedInterval, ParameterEffect, Watch)


def domain_schemas() -> dict[str, Any]:
    """JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the stored documents, keyed by model name."""
    _, schema = models_json_schema(
        [(model, "serialization") for model in DOMAIN_MODELS], ref_template="#/components/schemas/{model}"
    )
    return dict(schema.get("$defs", {}))


@functools.lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    document = yaml.safe_load(OPENAPI_YAML.read_text(encoding="utf-8"))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in domain_schemas().items():
        schemas.setdefault(name, schema)
    make_exact(document)
    return document  # type: ignore[no-any-return]


def openapi_document() -> dict[str, Any]:
    return copy.deepcopy(_document())
