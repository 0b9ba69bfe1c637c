"""Service layer of datasets, feature configs and model configs: create, list, get, update, duplicate, delete.

Every function takes the ports it needs and plain JSON payloads, and returns stored documents
(``model.to_document()`` dicts). Invalid input raises ``errors.InvalidInput`` whose ``field`` is
the path of the offending value (``query_features[0].embedding_dim``) and whose
``details["errors"]`` lists every problem found, each with its field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from experiments_platform.data import registration
from experiments_platform.domain.base import Document, DomainModel, Identifier, new_id, utcnow
from experiments_platform.domain.dataset import Dataset, SourceObject
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.names import unknown_name_message
from experiments_platform.errors import Conflict, InvalidInput, NotFound
from experiments_platform.identity import current_user
from experiments_platform.ports.blobs import BlobStore
from experiments_platform.ports.documents import Doc, DocumentStore, Filter
from experiments_platform.ports.warehouse import UploadFormat, Warehouse
from experiments_platform.repositories.experiments import ExperimentRepository
from experiments_platform.repositories.watches import COLLECTION as WATCHES
from experiments_platform.sql.dialects import CSV_SUFFIXES, PARQUET_SUFFIXES, file_format

M = TypeVar("M", bound=BaseModel)

SERVER_FIELDS = frozenset({"id", "created_at", "updated_at", "created_by"})
"""Fields the platform writes: a request's values for them are ignored (``created_by`` is the verified user)."""
DATASET_READ_FIELDS = frozenset({"columns", "row_count"})
"""Fields of a dataset (and of its side tables) read from the source, never taken from a request."""
DISCRIMINATORS = ("kind", "strategy")
_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.+)$", re.DOTALL)


@dataclass(frozen=True)
class ConfigKind:
    collection: str
    label: str
    model: type[Document]
    experiment_field: str


DATASETS = ConfigKind("datasets", "dataset", Dataset, "dataset_id")
FEATURE_CONFIGS = ConfigKind("feature_configs", "feature config", FeatureConfig, "feature_config_id")
MODEL_CONFIGS = ConfigKind("model_configs", "model config", ModelConfig, "model_config_id")


def field_path(loc: Sequence[str | int], payload: Any = None) -> str:
    """``('query_features', 0, 'id', 'embedding_dim')`` → ``query_features[0].embedding_dim``.

    Pydantic puts the tag of a discriminated union (a feature's ``kind``, a split's ``strategy``)
    into the location; it is recognised by walking the payload and left out.
    """
    out = ""
    current = payload
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            current = current[part] if isinstance(current, list) and -len(current) <= part < len(current) else None
            continue
        if isinstance(current, dict) and any(current.get(d) == part for d in DISCRIMINATORS):
            continue
        out += f".{part}" if out else str(part)
        current = current.get(part) if isinstance(current, dict) else None
    return out


def _problem(error: Any, payload: Any, prefix: str) -> dict[str, Any]:
    field = field_path(error["loc"], payload)
    kind = error["type"]
    message = error["msg"]
    if kind == "union_tag_not_found":
        discriminator = error.get("ctx", {}).get("discriminator", "'kind'").strip("'")
        field = f"{field}.{discriminator}" if field else discriminator
        message = f"required, to say which kind of entry this is ({discriminator})"
    elif kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        discriminator = ctx.get("discriminator", "'kind'").strip("'")
        field = f"{field}.{discriminator}" if field else discriminator
        message = f"{ctx.get('tag')!r} is not one of {ctx.get('expected_tags')}"
    elif kind == "missing":
        message = "required"
    elif kind == "extra_forbidden":
        message = "unknown field; remove it"
    elif kind == "value_error":
        message = message.removeprefix("Value error, ")
        named = _FIELD_PREFIX.match(message)
        if named:
            inner, message = named.groups()
            field = f"{field}.{inner}" if field else inner
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
    return {"field": field, "message": message}


def invalid_input(exc: ValidationError, payload: Any = None, prefix: str = "") -> InvalidInput:
    """One ``InvalidInput`` for all the problems of a pydantic ``ValidationError``."""
    problems = [_problem(e, payload, prefix) for e in exc.errors()]
    return invalid_from_problems(problems)


def invalid_from_problems(problems: list[dict[str, Any]]) -> InvalidInput:
    first = problems[0]
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return InvalidInput(
        message, field=first["field"] or None, suggestions=first.get("suggestions"), details={"errors": problems}
    )


def validated(model: type[M], payload: Any, prefix: str = "") -> M:
    """``payload`` (a request's JSON object) as a ``model``, raising ``InvalidInput`` with field paths.

    Validated as JSON in strict mode (decision 055): no coercion, so ``true`` or ``"3"`` is not a number
    and ``0`` is not a boolean; dates and enums are read from their JSON strings. JSON has one number
    type, so ``3.0`` is the integer 3 (as JSON Schema says), and ``3.5`` is no integer.
    """
    if not isinstance(payload, dict):
        raise not_an_object(payload, prefix)
    try:
        return model.model_validate_json(json.dumps(_whole_numbers(payload)), strict=True)
    except ValidationError as exc:
        raise invalid_input(exc, payload, prefix) from None


def _whole_numbers(value: Any) -> Any:
    """``value`` with every float that is a whole number written as an integer (``3.0`` → ``3``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def not_an_object(payload: Any, prefix: str = "") -> InvalidInput:
    """The refusal of a body (or the object at ``prefix``) that is not a JSON object: names it and the fix."""
    where = prefix or "the request body"
    return InvalidInput(f"{where} must be a JSON object of named fields ({{\"name\": ...}}), "
                        f"not {type(payload).__name__} {json.dumps(payload)[:40]}", field=prefix or "body")


def _editable(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise not_an_object(payload)
    return {k: v for k, v in payload.items() if k not in SERVER_FIELDS}


def load(documents: DocumentStore, kind: ConfigKind, doc_id: str, field: str | None = None) -> Doc:
    """The stored document, or ``NotFound`` naming it."""
    doc = get_or_none(documents, kind.collection, doc_id)
    if doc is None:
        raise NotFound(f"{kind.label} {doc_id!r} doesn't exist", field=field)
    return doc


def get_or_none(documents: DocumentStore, collection: str, doc_id: str) -> Doc | None:
    """The document, or None when it does not exist or ``doc_id`` cannot be a document id at all."""
    try:
        return documents.get(collection, doc_id)
    except InvalidInput:
        return None


def list_documents(documents: DocumentStore, kind: ConfigKind, filters: Sequence[Filter] = ()) -> dict[str, Any]:
    """Newest first; sorted in memory so that a filtered list needs no composite index in Firestore."""
    items = sorted(documents.query(kind.collection, filters=filters), key=lambda d: d.get("created_at") or "",
                   reverse=True)
    return {"items": items, "total": len(items)}


def _store_new(documents: DocumentStore, kind: ConfigKind, model: Document) -> Doc:
    if "created_by" in type(model).model_fields:
        model = model.model_copy(update={"created_by": current_user.get()})
    doc = model.to_document()
    documents.create(kind.collection, model.id, doc)
    return doc


def _replace(documents: DocumentStore, kind: ConfigKind, existing: Doc, model: Document) -> Doc:
    model.id = existing["id"]
    stored = kind.model.model_validate(existing)
    model.created_at = stored.created_at
    if "created_by" in type(model).model_fields:
        model = model.model_copy(update={"created_by": getattr(stored, "created_by", None)})
    model.updated_at = utcnow()
    doc = model.to_document()
    documents.set(kind.collection, model.id, doc)
    return doc


# Datasets


def _dataset_from_input(warehouse: Warehouse, payload: Any) -> Dataset:
    """The registration of ``data.registration`` on the request body (server-read fields ignored)."""
    data = {k: v for k, v in _editable(payload).items() if k not in DATASET_READ_FIELDS}
    for side in ("buyer_features", "product_features"):
        table = data.get(side)
        if isinstance(table, dict):
            data[side] = {k: v for k, v in table.items() if k not in DATASET_READ_FIELDS}
    return registration.register_dataset(warehouse, validated(registration.DatasetRequest, data))


def register_dataset(documents: DocumentStore, warehouse: Warehouse, payload: Any) -> Doc:
    """Register a dataset: columns and row count are read from its source(s) through the warehouse."""
    return _store_new(documents, DATASETS, _dataset_from_input(warehouse, payload))


def update_dataset(documents: DocumentStore, warehouse: Warehouse, dataset_id: str, payload: Any) -> Doc:
    """Replace the editable fields; the sources are read again (their columns may have changed)."""
    existing = load(documents, DATASETS, dataset_id)
    return _replace(documents, DATASETS, existing, _dataset_from_input(warehouse, payload))


class UploadRequest(DomainModel):
    """The form fields of an upload: a dataset without its source, which is the uploaded file."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    query_id_column: Identifier
    candidate_id_column: Identifier
    date_column: Identifier | None = None


def upload_name(filename: str) -> tuple[UploadFormat, str]:
    """The format told by the file's suffix, and a safe file name keeping it (``field='file'`` otherwise)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    kind = file_format(base, field="file")
    suffix = next(s for s in (*PARQUET_SUFFIXES, *CSV_SUFFIXES) if base.lower().endswith(s))
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", base[: -len(suffix)]).strip("_")[:80] or "upload"
    return ("parquet" if kind == "parquet" else "csv"), f"{stem}{suffix.lower()}"


def register_upload(documents: DocumentStore, warehouse: Warehouse, blobs: BlobStore, uploads_uri: str,
                    filename: str, stream: IO[bytes], fields: dict[str, Any]) -> Doc:
    """Store an uploaded CSV or Parquet file under ``uploads_uri/<dataset id>/`` and register it as a dataset.

    The fields are checked first; the file is then written (in chunks) where the uploads live, made
    a table by the warehouse (a ``gs://`` upload is loaded into BigQuery) and read by the
    registration: a file that is not what its name says, has no rows or lacks the id columns is
    refused and nothing of it is kept.
    """
    request = validated(UploadRequest, {k: v for k, v in fields.items() if v != "" or k == "name"})
    file_kind, name = upload_name(filename)
    dataset_id = new_id()
    uri = f"{uploads_uri.rstrip('/')}/{dataset_id}/{name}"
    generation = blobs.write_stream(uri, stream,
                                    "application/vnd.apache.parquet" if file_kind == "parquet" else "text/csv")
    try:
        source = warehouse.load_upload(uri, file_kind, f"upload_{dataset_id}")
        dataset = registration.register_dataset(
            warehouse, registration.DatasetRequest(source=source, **request.model_dump()))
    except Exception as exc:
        blobs.delete(uri)
        if isinstance(exc, InvalidInput) and exc.field and exc.field.startswith("source"):
            raise InvalidInput(f"{name}: {exc.message}", field="file", suggestions=exc.suggestions) from None
        raise
    dataset.id = dataset_id
    if generation:  # the file's own object finalized event is then a no-op (handlers.data_sources)
        dataset.source_object = SourceObject(uri=uri, generation=generation)
    return _store_new(documents, DATASETS, dataset)


# Feature configs

_KIND_TYPES = {
    "numeric": ({"integer", "float", "boolean"}, "a numeric column (integer or float)"),
    "timestamp": ({"timestamp", "date", "integer"}, "a timestamp, date or integer (epoch seconds) column"),
    "text": ({"string"}, "a string column"),
}


def column_problems(config: FeatureConfig, dataset: Dataset) -> list[dict[str, Any]]:
    """Every feature column missing from the dataset (with the closest real names) or of the wrong type."""
    available = dataset.all_columns()
    problems: list[dict[str, Any]] = []
    for tower in ("query", "candidate"):
        for i, feature in enumerate(config.tower_features(tower)):
            field = f"{tower}_features[{i}].column"
            if feature.column not in available:
                message, suggestions = unknown_name_message("column", feature.column, available)
                problems.append(
                    {"field": field, "message": f"{message} (dataset {dataset.name!r})", "suggestions": suggestions}
                )
                continue
            allowed = _KIND_TYPES.get(feature.kind)
            if allowed and available[feature.column] not in allowed[0]:
                problems.append({
                    "field": field,
                    "message": f"a {feature.kind} feature needs {allowed[1]}; "
                    f"{feature.column!r} is {available[feature.column]}",
                })
    return problems


def unregistered_columns(config: FeatureConfig, datasets: Sequence[Dataset]) -> list[dict[str, Any]]:
    """For a config of no particular dataset: every column that no registered dataset has (a misspelling,
    caught on save; the dataset chosen at start is checked then). Nothing when no dataset is registered."""
    if not datasets:
        return []
    known: set[str] = set().union(*(d.all_columns() for d in datasets))
    problems: list[dict[str, Any]] = []
    for tower in ("query", "candidate"):
        for i, feature in enumerate(config.tower_features(tower)):
            if feature.column not in known:
                message, suggestions = unknown_name_message("column", feature.column, known)
                problems.append({"field": f"{tower}_features[{i}].column", "suggestions": suggestions,
                                 "message": f"{message} (no registered dataset has it)"})
    return problems


def _feature_config_from_input(documents: DocumentStore, payload: Any) -> FeatureConfig:
    config = validated(FeatureConfig, _editable(payload))
    if config.dataset_id:
        dataset = Dataset.model_validate(load(documents, DATASETS, config.dataset_id, field="dataset_id"))
        problems = column_problems(config, dataset)
    else:
        registered = [Dataset.model_validate(d) for d in documents.query(DATASETS.collection)]
        problems = unregistered_columns(config, registered)
    if problems:
        raise invalid_from_problems(problems)
    return config


def create_feature_config(documents: DocumentStore, payload: Any) -> Doc:
    """Create; with a ``dataset_id``, every column must exist in that dataset."""
    return _store_new(documents, FEATURE_CONFIGS, _feature_config_from_input(documents, payload))


def update_feature_config(documents: DocumentStore, config_id: str, payload: Any) -> Doc:
    existing = load(documents, FEATURE_CONFIGS, config_id)
    return _replace(documents, FEATURE_CONFIGS, existing, _feature_config_from_input(documents, payload))


# Model configs


def create_model_config(documents: DocumentStore, payload: Any) -> Doc:
    return _store_new(documents, MODEL_CONFIGS, validated(ModelConfig, _editable(payload)))


def update_model_config(documents: DocumentStore, config_id: str, payload: Any) -> Doc:
    existing = load(documents, MODEL_CONFIGS, config_id)
    return _replace(documents, MODEL_CONFIGS, existing, validated(ModelConfig, _editable(payload)))


# Shared by the three kinds


class DuplicateRequest(DomainModel):
    """The optional body of a duplicate request."""

    name: str = Field(default="", max_length=200, description="the copy's name; empty or left out: '<name> (copy)'")


def duplicate(documents: DocumentStore, kind: ConfigKind, doc_id: str, payload: Any = None) -> Doc:
    """A copy under a new id, named as ``payload`` says (a ``DuplicateRequest``) or ``"<name> (copy)"``."""
    request = validated(DuplicateRequest, {} if payload is None else payload)
    source = kind.model.model_validate(load(documents, kind, doc_id))
    now = utcnow()
    copy = source.model_copy(update={"id": new_id(), "name": request.name or f"{source.name} (copy)"[:200],
                                     "created_at": now, "updated_at": now})
    return _store_new(documents, kind, copy)


def _users(documents: DocumentStore, kind: ConfigKind, doc_id: str) -> list[str]:
    watches = documents.query(WATCHES, filters=[Filter(kind.experiment_field, "==", doc_id)])
    labels = [f"watch {w.get('name')!r}" for w in sorted(watches, key=lambda w: str(w.get("created_at")))]
    uses = ExperimentRepository(documents).documents([Filter(kind.experiment_field, "==", doc_id)])
    labels += [f"Exp #{d.get('number')}" for d in sorted(uses, key=lambda d: d.get("number") or 0)]
    if kind is DATASETS:
        configs = documents.query(FEATURE_CONFIGS.collection, filters=[Filter("dataset_id", "==", doc_id)])
        labels += [f"feature config {c.get('name')!r}" for c in configs]
    return labels


def delete(documents: DocumentStore, kind: ConfigKind, doc_id: str) -> None:
    """Delete, refusing with ``Conflict`` while watches, experiments (or, for a dataset, feature configs) use it.

    A watch names its dataset and configs with the experiments' field names; the refusal lists it first, as the
    one use the user can remove (unpin it)."""
    doc = load(documents, kind, doc_id)
    users = _users(documents, kind, doc_id)
    if users:
        shown = ", ".join(users[:10]) + (f" and {len(users) - 10} more" if len(users) > 10 else "")
        raise Conflict(
            f"{kind.label} {doc.get('name')!r} is used by {shown}; it cannot be deleted while they refer to it "
            f"(duplicate it to make a changed version)",
            details={"used_by": users},
        )
    documents.delete(kind.collection, doc_id)
