"""What makes the served OpenAPI document exact (issue 10 section 6, decision 055).

The request bodies' schemas are generated from the models that validate them, in validation mode
(``DatasetInput`` from ``DatasetRequest``, ``ExperimentInput`` from ``StartRequest`` and
``QuickTestParameters``, ...), so every ``minLength``, pattern and enum the server applies is in the
document; fields the server ignores (``id``, timestamps, what it reads from a source) are documented as
accepted and ignored. Query and path parameters get their enums and patterns from the domain (statuses,
sort fields, log components, rankable metrics, heatmap axes), and list items the schema of what a list
serves (an experiment's summary lacks ``SUMMARY_OMITS``). Nothing here is written twice: each fact is
read from the module that owns it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from experiments_platform.data.registration import DatasetRequest
from experiments_platform.domain import metrics
from experiments_platform.domain.experiment import QuickTestParameters
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.status import Status
from experiments_platform.handlers.artifact_reader import LOG_COMPONENTS
from experiments_platform.handlers.configs import DATASET_READ_FIELDS, SERVER_FIELDS, DuplicateRequest, UploadRequest
from experiments_platform.handlers.dashboard import AXES, DOCUMENT_ROOTS
from experiments_platform.handlers.experiments import SORTABLE, StartRequest
from experiments_platform.handlers.watches import PinRequest
from experiments_platform.ports.documents import DOCUMENT_ID, DOCUMENT_ID_RULE
from experiments_platform.repositories.experiments import SUMMARY_OMITS

REF = "#/components/schemas/"
INPUT_MODELS: dict[str, type[BaseModel]] = {
    "DatasetInput": DatasetRequest,
    "DatasetUploadFields": UploadRequest,
    "FeatureConfigInput": FeatureConfig,
    "ModelConfigInput": ModelConfig,
    "ExperimentInput": StartRequest,
    "QuickTestParametersInput": QuickTestParameters,
    "DuplicateInput": DuplicateRequest,
    "WatchInput": PinRequest,
}
"""Request body schema → the model that validates it."""
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch"})
IGNORED = {"description": "accepted and ignored: the server sets it"}
EMPTY = "empty: the default"


def _input_schemas() -> dict[str, Any]:
    """Validation-mode schemas of ``INPUT_MODELS`` under their names, their parts suffixed ``Input``."""
    models = list(INPUT_MODELS.values())
    _, schema = models_json_schema([(m, "validation") for m in models], ref_template=REF + "{model}Input")
    parts = {f"{name}Input": part for name, part in schema.get("$defs", {}).items()}
    out = {}
    for name, model in INPUT_MODELS.items():
        out[name] = parts.pop(f"{model.__name__}Input")
    out.update(parts)
    return out


def _ignore(schema: dict[str, Any], names: frozenset[str]) -> None:
    schema.setdefault("properties", {}).update({name: IGNORED for name in sorted(names)})


def _require_discriminators(schemas: dict[str, Any]) -> None:
    """A tagged union's variants require their tag (``kind``, ``strategy``), as the server does."""
    for schema in list(schemas.values()):
        for node in _nodes(schema):
            tag = node.get("discriminator", {}).get("propertyName")
            for variant in node.get("oneOf", []) if tag else []:
                target = schemas[variant["$ref"][len(REF):]] if "$ref" in variant else variant
                target["required"] = sorted({*target.get("required", []), tag})


def _nodes(value: Any) -> list[dict[str, Any]]:
    """Every object within a JSON value, ``value`` first."""
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def request_schemas() -> dict[str, Any]:
    schemas = _input_schemas()
    _require_discriminators(schemas)
    for name in ("FeatureConfigInput", "ModelConfigInput"):
        _ignore(schemas[name], SERVER_FIELDS)
    _ignore(schemas["DatasetInput"], SERVER_FIELDS | DATASET_READ_FIELDS)
    _ignore(schemas["FeatureTableRequestInput"], DATASET_READ_FIELDS)
    parameters = schemas["QuickTestParametersInput"]["properties"]
    for name in sorted(set(QuickTestParameters.model_fields) & set(ModelConfig.model_fields)):
        parameters[name] = {"anyOf": [parameters[name], {"type": "null"}],
                            "description": "null or left out: the model config's"}
    schemas["ExperimentInput"]["properties"]["parameters"] = {"$ref": REF + "QuickTestParametersInput"}
    upload = schemas.pop("DatasetUploadFields")
    upload["properties"]["file"] = {"type": "string", "format": "binary",
                                    "description": "a .csv, .csv.gz, .tsv, .tsv.gz, .parquet or .pq file"}
    upload["required"] = ["file", *upload.get("required", [])]
    schemas["DatasetUpload"] = upload
    return schemas


def _one_of(names: list[str]) -> str:
    return "(?:" + "|".join(re.escape(n) for n in names) + ")"


def parameter_schemas() -> dict[str, dict[str, Any]]:
    """Query and path parameter name → its schema, as the gateway checks it."""
    status = _one_of([s.value for s in Status])
    axis = {"type": "string", "description": "an axis of /api/dashboard/dimensions, or a dotted path such as "
            "parameters.seed; " + EMPTY,
            "pattern": f"^(?:{_one_of(list(AXES))}|{_one_of(list(DOCUMENT_ROOTS))}\\.[A-Za-z0-9_.]+)?$"}
    return {
        "status": {"type": "string", "pattern": f"^[\\s,]*(?:{status}(?:\\s*,[\\s,]*{status})*)?[\\s,]*$",
                   "example": "running,submitting"},
        "sort": {"type": "string", "default": "-created_at", "pattern": f"^(?:-*{_one_of(list(SORTABLE))})?$"},
        "component": {"type": "string", "enum": list(LOG_COMPONENTS)},
        "metric": {"type": "string", "default": metrics.PRIMARY_METRIC,
                   "enum": [*(m.name for m in metrics.rankable()), ""], "description": EMPTY},
        "order": {"type": "string", "default": "best", "enum": ["best", "asc", "desc", ""],
                  "description": "best: higher first, or lower first for losses; " + EMPTY},
        "x_axis": {**axis, "default": "embedding_dims"},
        "y_axis": {**axis, "default": "cross_features"},
    }


def _apply_parameters(document: dict[str, Any]) -> None:
    wanted = parameter_schemas()
    parameters = list(document.get("components", {}).get("parameters", {}).values())
    for item in document["paths"].values():
        parameters += item.get("parameters", [])
        for operation in item.values():
            if isinstance(operation, dict):
                parameters += operation.get("parameters", [])
    for parameter in parameters:
        if "$ref" not in parameter and parameter.get("name") in wanted:
            parameter["schema"] = copy.deepcopy(wanted[parameter["name"]])
        elif "$ref" not in parameter and parameter.get("in") == "path" and parameter.get("name", "").endswith("_id"):
            parameter["schema"] = {"type": "string", "pattern": DOCUMENT_ID.pattern, "description": DOCUMENT_ID_RULE}


def _optional_path(schemas: dict[str, Any], schema: dict[str, Any], path: list[str], suffix: str) -> None:
    """Make the property at dotted ``path`` of ``schema`` optional, copying each referenced schema on the way."""
    head, rest = path[0], path[1:]
    if not rest:
        schema["required"] = [r for r in schema.get("required", []) if r != head]
        return
    holder = schema.get("properties", {})
    prop = holder.get(head)
    if prop is None:
        return
    options = prop.get("anyOf", [prop])
    for option in options:
        ref = option.get("$ref", "")
        if ref.startswith(REF):
            name = ref[len(REF):]
            copied_name = name if name.endswith(suffix) else name + suffix
            schemas.setdefault(copied_name, copy.deepcopy(schemas[name]))
            option["$ref"] = REF + copied_name
            _optional_path(schemas, schemas[copied_name], rest, suffix)
        elif option.get("type") == "object":
            _optional_path(schemas, option, rest, suffix)


def summary_schema(schemas: dict[str, Any], name: str = "Experiment", omits: tuple[str, ...] = SUMMARY_OMITS) -> str:
    """A copy of schema ``name`` in which the paths a summary omits are optional; returns the copy's name."""
    summary = f"{name}Summary" if f"{name}Summary" not in schemas else f"{name}SummaryDocument"
    schemas[summary] = copy.deepcopy(schemas[name])
    schemas[summary]["description"] = (f"An {name.lower()} as lists serve it: the document without "
                                       + ", ".join(omits))
    for path in omits:
        _optional_path(schemas, schemas[summary], path.split("."), "InSummary")
    return summary


def _closed(schemas: dict[str, Any], part: dict[str, Any]) -> dict[str, Any] | None:
    target = schemas.get(part.get("$ref", "")[len(REF):]) if "$ref" in part else part
    return target if isinstance(target, dict) and target.get("additionalProperties") is False else None


def merge_views(document: dict[str, Any]) -> None:
    """A view that extends a stored document (``allOf`` of a closed schema and the fields the view adds) becomes
    one closed object schema: ``allOf`` of a closed schema and more properties would refuse every view."""
    schemas = document["components"]["schemas"]
    for value in [*schemas.values(), document["paths"]]:
        for node in _nodes(value):
            parts = node.get("allOf")
            if not isinstance(parts, list) or len(parts) < 2 or not any(_closed(schemas, p) for p in parts):
                continue
            merged: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
            required: list[str] = []
            for part in parts:
                source = schemas[part["$ref"][len(REF):]] if "$ref" in part else part
                merged["properties"].update(copy.deepcopy(source.get("properties", {})))
                required += [r for r in source.get("required", []) if r not in required]
            if required:
                merged["required"] = required
            del node["allOf"]
            node.update(merged)


def _add_view_fields(schemas: dict[str, Any], name: str, fields: dict[str, Any]) -> None:
    schemas[name]["properties"].update(copy.deepcopy(fields))


def _gateway_answers(document: dict[str, Any]) -> None:
    """What any API operation may answer besides its own: 401 behind IAP, 503 under backpressure, 413 for a
    body above the limit (``/healthz`` is exempt from all three)."""
    for path, item in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            answers = operation.setdefault("responses", {})
            answers.setdefault("401", {"$ref": "#/components/responses/Unauthenticated"})
            answers.setdefault("503", {"$ref": "#/components/responses/Overloaded"})
            if "requestBody" in operation:
                answers.setdefault("413", {"$ref": "#/components/responses/TooLarge"})


def make_exact(document: dict[str, Any]) -> None:
    """Fill ``document`` (openapi.yaml with the domain schemas) with what makes it match the gateway."""
    schemas = document["components"]["schemas"]
    schemas.update(request_schemas())
    _apply_parameters(document)
    _gateway_answers(document)
    summary = summary_schema(schemas)
    merge_views(document)
    queue_fields = schemas.get("QueueFields", {}).get("properties", {})
    _add_view_fields(schemas, summary, queue_fields)
    page = schemas.get("ExperimentPage")
    if page:
        page["properties"]["items"]["items"] = {"$ref": REF + summary}
