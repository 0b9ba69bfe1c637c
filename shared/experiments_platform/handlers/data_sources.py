"""A dataset's source changed: refresh it, or register a new file (Eventarc; the blob store locally).

``on_source_changed`` (the submitter's ``events.data_events.DATA_EVENTS_PATH``, and the embedded
bus locally) finds every dataset whose interactions table is the changed source (the same
canonical source the registration stored: ``Warehouse.canonical``) and reads it again: columns and
row count replace the stored ones, and the change (rows before and after, columns added and
removed) is kept in ``Dataset.source_changes`` (the newest ``KEEP_CHANGES``). A changed table whose id
columns are gone is not refreshed; the reason is logged and the dataset left as it was.

A new file that no dataset reads is registered when its object metadata names the dataset's id
columns (``query_id_column``, ``candidate_id_column``; optional ``name``, ``date_column``,
``description``), as the upload API would register it; otherwise it is only logged with what to set.

Idempotent per object version: a dataset keeps the file version it was last read from
(``Dataset.source_object``: the upload's file, or the file an event refreshed it from), and an event
of that same generation is one logged no-op that reads nothing (an upload's own event, a redelivery
under another event id). Files under the uploads prefix are registered by the upload API only: their
event arriving before the upload stored its dataset is a no-op too (Eventarc gives no order).

A refreshed dataset's watched quick tests run again (``handlers.watches.on_source_changed``, decision 082).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.data import registration
from experiments_platform.domain.base import new_id, utcnow
from experiments_platform.domain.dataset import Dataset, SourceChange, SourceObject, TableSource
from experiments_platform.errors import InvalidInput, PlatformError
from experiments_platform.events.data_events import DataSourceChanged
from experiments_platform.handlers.configs import DATASETS, upload_name
from experiments_platform.jsonlog import fields, get_logger

log = get_logger(__name__)

KEEP_CHANGES = 20
METADATA_FIELDS = ("name", "description", "query_id_column", "candidate_id_column", "date_column")


def on_source_changed(platform: Platform, change: DataSourceChanged) -> list[str]:
    """Refresh the datasets reading ``change``'s source, or register the new file; the dataset ids touched."""
    context = {"source": change.uri, "event_id": change.event_id, "event_type": change.event_type}
    changed = TableSource(kind="bigquery" if change.kind == "bigquery" else "file", uri=change.uri)
    try:  # a gs:// object is no table by itself on BigQuery: only a load makes it one (_register)
        source = changed if change.uri.startswith("gs://") else platform.warehouse.canonical(changed)
    except InvalidInput as exc:
        log.info("a source outside what this deployment reads changed: ignored",
                 extra=fields(reason=exc.message, **context))
        return []
    readers = [doc for doc in platform.documents.query(DATASETS.collection)
               if _read_from(doc, change) or _reads(platform, doc, source)]
    if readers:
        touched = [doc["id"] for doc in readers if not _same_version(platform, doc, change) and _refresh(
            platform, doc, change)]
        _run_watches(platform, [doc["id"] for doc in readers], change)
        return touched
    if _is_upload(platform, change.uri):
        log.info("upload event before its dataset is stored: the upload registers it, nothing to do",
                 extra=fields(**context))
        return []
    return _register(platform, change, source, context)


def on_reregistered(platform: Platform, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """A dataset registered again (``PUT /api/datasets/{id}``: its sources read again), as stored before
    and after: its source history and file version are kept (the request does not carry them); a change
    of rows or columns is recorded as a source change and re-runs its watched quick tests, as an event
    would (a file changed locally without the blob store). The dataset as stored now."""
    old, new = Dataset.model_validate(before), Dataset.model_validate(after)
    history, version = old.source_changes, old.source_object if new.source == old.source else None
    record = None
    if (new.row_count, new.columns) != (old.row_count, old.columns):
        names_before, names_after = {c.name for c in old.columns}, {c.name for c in new.columns}
        record = SourceChange(at=new.updated_at, event_id=f"registered-again-{new.updated_at:%Y%m%dT%H%M%S%f}",
                              row_count_before=old.row_count, row_count_after=new.row_count,
                              columns_added=sorted(names_after - names_before),
                              columns_removed=sorted(names_before - names_after))
        history = [*history, record][-KEEP_CHANGES:]
    if history == new.source_changes and version == new.source_object:
        return after
    stored = new.model_copy(update={"source_changes": history, "source_object": version})
    platform.documents.set(DATASETS.collection, new.id, stored.to_document())
    if record is not None:
        log.info("dataset registered again with other rows or columns", extra=fields(
            dataset_id=new.id, rows_before=old.row_count, rows_after=new.row_count))
        from experiments_platform.handlers import watches

        watches.on_source_changed(platform, new.id, record.event_id)
    return stored.to_document()


def _run_watches(platform: Platform, dataset_ids: list[str], change: DataSourceChanged) -> None:
    """Start the quick tests pinned to every dataset this event refreshed (now, or on an earlier delivery
    whose watches failed to start: each watch runs once per event, ``handlers.watches``)."""
    from experiments_platform.handlers import watches

    for dataset_id in dataset_ids:
        doc = platform.documents.get(DATASETS.collection, dataset_id) or {}
        if change.event_id and any(c.get("event_id") == change.event_id for c in doc.get("source_changes") or []):
            watches.on_source_changed(platform, dataset_id, change.event_id)


def _read_from(doc: dict[str, Any], change: DataSourceChanged) -> bool:
    return bool((doc.get("source_object") or {}).get("uri") == change.uri)


def _is_upload(platform: Platform, uri: str) -> bool:
    uploads = platform.settings.resolved_uploads_uri.rstrip("/") + "/"
    return uri.startswith(uploads)


def _same_version(platform: Platform, doc: dict[str, Any], change: DataSourceChanged) -> bool:
    """The event names the file version the dataset was last read from: logged, nothing read."""
    stored = doc.get("source_object") or {}
    if not change.generation or stored.get("uri") != change.uri or stored.get("generation") != change.generation:
        return False
    message = ("upload event: same object generation as registered, nothing to do"
               if _is_upload(platform, change.uri) and not doc.get("source_changes")
               else "object generation already applied: nothing to do")
    log.info(message, extra=fields(dataset_id=doc["id"], source=change.uri, generation=change.generation,
                                   event_id=change.event_id))
    return True


def _reads(platform: Platform, doc: dict[str, Any], source: TableSource) -> bool:
    stored = TableSource.model_validate(doc.get("source") or {})
    if stored.kind != source.kind:
        return False
    if stored.uri == source.uri:
        return True
    try:
        return platform.warehouse.canonical(stored).uri == source.uri
    except InvalidInput:
        return False


def _refresh(platform: Platform, doc: dict[str, Any], change: DataSourceChanged) -> bool:
    dataset = Dataset.model_validate(doc)
    context = fields(dataset_id=dataset.id, source=change.uri, event_id=change.event_id)
    if any(c.event_id == change.event_id for c in dataset.source_changes if change.event_id):
        log.info("source change already applied (redelivery)", extra=context)
        return False
    try:
        columns, row_count = platform.warehouse.describe(dataset.source)
        registration.check_columns({c.name: c.type for c in columns}, dataset.query_id_column,
                                   dataset.candidate_id_column, dataset.date_column)
    except PlatformError as exc:
        log.warning("the changed source no longer fits the dataset: left as it was",
                    extra=fields(reason=exc.message, dataset_id=dataset.id, source=change.uri))
        return False
    before, after = {c.name for c in dataset.columns}, {c.name for c in columns}
    if row_count == dataset.row_count and columns == dataset.columns:
        log.info("source rewritten with the same columns and row count: nothing to refresh", extra=context)
        return False
    record = SourceChange(at=utcnow(), event_id=change.event_id, row_count_before=dataset.row_count,
                          row_count_after=row_count, columns_added=sorted(after - before),
                          columns_removed=sorted(before - after))
    refreshed = dataset.model_copy(update={
        "columns": columns, "row_count": row_count, "updated_at": record.at,
        "source_changes": [*dataset.source_changes, record][-KEEP_CHANGES:], "source_object": _version(change)})
    stored = Dataset.model_validate(refreshed.model_dump())  # validated again: the id columns exist
    platform.documents.set(DATASETS.collection, dataset.id, stored.to_document())
    log.info("dataset refreshed from its changed source", extra=fields(
        dataset_id=dataset.id, rows_before=record.row_count_before, rows_after=row_count,
        columns_added=record.columns_added, columns_removed=record.columns_removed))
    return True


def _version(change: DataSourceChanged) -> SourceObject | None:
    return SourceObject(uri=change.uri, generation=change.generation) if change.generation else None


def _register(platform: Platform, change: DataSourceChanged, source: TableSource, context: dict[str, Any]) -> list[str]:
    given = {k: v for k, v in change.metadata.items() if k in METADATA_FIELDS and v}
    if not {"query_id_column", "candidate_id_column"} <= set(given):
        log.info("a file no dataset reads changed; to register it on upload, set the object metadata "
                 "query_id_column and candidate_id_column (name, date_column optional)", extra=fields(**context))
        return []
    name = given.pop("name", None) or PurePosixPath(change.uri).name
    if change.uri.startswith("gs://"):
        file_kind, _ = upload_name(PurePosixPath(change.uri).name)
        source = platform.warehouse.load_upload(change.uri, file_kind, f"upload_{new_id()}")
    try:
        dataset = registration.register_dataset(
            platform.warehouse, registration.DatasetRequest(source=source, name=name, **given))
    except PlatformError as exc:
        log.warning("the new file cannot be a dataset: not registered", extra=fields(reason=exc.message, **context))
        return []
    dataset.source_changes = [SourceChange(at=utcnow(), event_id=change.event_id, row_count_before=0,
                                           row_count_after=dataset.row_count,
                                           columns_added=[c.name for c in dataset.columns])]
    dataset.source_object = _version(change)
    platform.documents.create(DATASETS.collection, dataset.id, dataset.to_document())
    log.info("dataset registered from a new file", extra=fields(dataset_id=dataset.id, **context))
    return [dataset.id]
