"""A dataset's source changed (Eventarc on GCP; the blob store locally): the dataset is refreshed
(columns, row count, the change kept) or a new file registered, without anyone calling the API.

The events are the CloudEvents SDK's own shapes: binary mode (``ce-*`` headers), structured mode with
``data`` and with ``data_base64``; Cloud Storage's ``object.v1.finalized`` (StorageObjectData) and
the BigQuery audit log's ``tableDataChange``. Locally the real blob store, embedded bus, DuckDB
warehouse and SQLite store run; on the submitter app the route Eventarc calls.
"""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.adapters.embedded_bus import EmbeddedBus
from experiments_platform.adapters.local_blobs import LocalBlobStore
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.data import registration
from experiments_platform.events import data_events
from experiments_platform.web.app import create_app
from experiments_platform.web.data_events import emit_from_blobs

HEADER = "user_id,item_id,rating\n"


def rows(n: int, extra: str = "") -> bytes:
    head = HEADER.replace("\n", f",{extra}\n") if extra else HEADER
    return (head + "".join(f"u{i % 7},i{i % 11},{i % 5}{',x' if extra else ''}\n" for i in range(n))).encode()


@pytest.fixture
def platform(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    (tmp_path / "warehouse").mkdir()
    bus = EmbeddedBus(workers=1)
    platform = Platform(settings, documents=SqliteDocumentStore(tmp_path / "documents.sqlite"),
                        warehouse=DuckDBWarehouse(roots=settings.resolved_warehouse_roots),
                        blobs=LocalBlobStore.from_settings(settings), bus=bus)
    yield platform
    bus.close()
    platform.close()


def register(platform: Platform, path: Path) -> str:
    dataset = registration.register_dataset(platform.warehouse, registration.DatasetRequest(
        source=registration.file_source(path), name="orders", query_id_column="user_id", candidate_id_column="item_id"))
    platform.documents.create("datasets", dataset.id, dataset.to_document())
    return dataset.id


def wait_for(read: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = read()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("state not reached")


def test_writing_a_data_file_through_the_blob_store_refreshes_its_dataset(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "warehouse" / "orders.csv"
    path.write_bytes(rows(40))
    dataset_id = register(platform, path)
    emit_from_blobs(platform)

    platform.blobs.write_bytes(path.as_uri(), rows(55, extra="channel"))

    doc = wait_for(lambda: (d := platform.documents.get("datasets", dataset_id)) and d["row_count"] == 55 and d)
    assert "channel" in {c["name"] for c in doc["columns"]}
    [change] = doc["source_changes"]
    assert (change["row_count_before"], change["row_count_after"], change["columns_added"]) == (40, 55, ["channel"])
    platform.blobs.write_bytes(platform.settings.local_uri("specs", "x.json"), b"{}")  # not data: no event
    platform.bus.drain()  # type: ignore[attr-defined]
    assert len(platform.documents.get("datasets", dataset_id)["source_changes"]) == 1


def storage_event(path: Path, size: int, metadata: dict[str, str] | None = None) -> CloudEvent:
    attributes, data = data_events.storage_object(path.as_uri(), size, metadata)
    return CloudEvent(attributes, data)


@pytest.mark.parametrize("mode", ["binary", "structured", "structured-data_base64"])
def test_eventarcs_storage_event_reaches_the_submitter_in_every_mode(platform: Platform, tmp_path: Path,
                                                                   mode: str) -> None:
    path = tmp_path / "warehouse" / "orders.csv"
    path.write_bytes(rows(30))
    dataset_id = register(platform, path)
    path.write_bytes(rows(31))
    event = storage_event(path, path.stat().st_size)
    if mode == "binary":
        headers, body = to_binary(event)
    elif mode == "structured":
        headers, body = to_structured(event)
    else:  # the data as bytes: the SDK writes it as data_base64
        event = CloudEvent(dict(event.get_attributes()), json.dumps(event.get_data()).encode())
        headers, body = to_structured(event)
        assert "data_base64" in json.loads(body)
    client = create_app("submitter", platform).test_client()

    answer = client.post(data_events.DATA_EVENTS_PATH, data=body, headers=dict(headers))

    assert answer.status_code == 204, answer.get_data(as_text=True)
    assert platform.documents.get("datasets", dataset_id)["row_count"] == 31
    again = client.post(data_events.DATA_EVENTS_PATH, data=body, headers=dict(headers))
    assert again.status_code == 204
    assert len(platform.documents.get("datasets", dataset_id)["source_changes"]) == 1, "a redelivery changes nothing"


def test_a_new_file_with_the_id_columns_in_its_metadata_is_registered(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "warehouse" / "dropped.csv"
    path.write_bytes(rows(12))
    headers, body = to_binary(storage_event(path, path.stat().st_size, {
        "query_id_column": "user_id", "candidate_id_column": "item_id", "name": "dropped by a pipeline"}))

    answer = create_app("submitter", platform).test_client().post(data_events.DATA_EVENTS_PATH, data=body,
                                                                  headers=dict(headers))

    assert answer.status_code == 204
    [doc] = platform.documents.query("datasets")
    assert (doc["name"], doc["row_count"], doc["query_id_column"]) == ("dropped by a pipeline", 12, "user_id")


def test_foreign_or_malformed_events_are_acknowledged_as_ignored(platform: Platform) -> None:
    client = create_app("submitter", platform).test_client()
    headers, body = to_binary(CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished",
                                          "source": "//pubsub.googleapis.com/x"}, {"message": {}}))
    answer = client.post(data_events.DATA_EVENTS_PATH, data=body, headers=dict(headers))
    assert answer.status_code == 200 and "is not routed here" in answer.get_json()["reason"]
    answer = client.post(data_events.DATA_EVENTS_PATH, data=b"{}", headers={"Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "ignored"


def audit_entry(resource: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """A Cloud Audit Logs LogEntry of BigQuery as Eventarc's google.cloud.audit.log.v1.written carries it."""
    return {"protoName": "google.events.cloud.audit.v1.LogEntryData", "logName": "projects/p/logs/"
            "cloudaudit.googleapis.com%2Fdata_access", "protoPayload": {
                "serviceName": "bigquery.googleapis.com", "methodName": "google.cloud.bigquery.v2.JobService.InsertJob",
                "resourceName": resource,
                "metadata": {"@type": "type.googleapis.com/google.cloud.audit.BigQueryAuditMetadata", **metadata}}}


def test_a_bigquery_table_data_change_names_the_table() -> None:
    changed = data_events.parse(data_events.AUDIT_LOG_WRITTEN, "e1", audit_entry(
        "projects/p/datasets/sales/tables/orders", {"tableDataChange": {"reason": "JOB", "insertedRowsCount": "120"}}))
    assert changed is not None and (changed.kind, changed.uri) == ("bigquery", "p.sales.orders")
    read_only = audit_entry("projects/p/datasets/sales/tables/orders", {"tableDataRead": {"reason": "JOB"}})
    assert data_events.parse(data_events.AUDIT_LOG_WRITTEN, "e2", read_only) is None


def data_event_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "experiments_platform.handlers.data_sources"]


@pytest.mark.parametrize("held", [False, True], ids=["as-it-comes", "after-the-dataset"])
def test_an_uploads_own_event_is_a_logged_no_op(platform: Platform, caplog: pytest.LogCaptureFixture,
                                                held: bool) -> None:
    """Issue 13: an upload through the API registers its dataset, then the blob store's event of the same
    object (same generation) read the file again or logged it as a file no dataset reads. Whether the
    event arrives after the dataset is stored or before (Eventarc gives no order), it is one logged no-op."""
    emit_from_blobs(platform)
    bus: Any = platform.bus
    events: list[Any] = []
    publish = bus.publish
    if held:  # hold the event until the upload has stored its dataset, then deliver it
        bus.publish = lambda topic, data, attributes=None: events.append((topic, data, attributes))
    client = create_app("api_gateway", platform).test_client()
    caplog.set_level(logging.INFO, logger="experiments_platform.handlers.data_sources")

    answer = client.post("/api/datasets/uploads", content_type="multipart/form-data", data={
        "name": "shop", "query_id_column": "user_id", "candidate_id_column": "item_id",
        "file": (io.BytesIO(rows(20)), "shop.csv")})
    assert answer.status_code == 201, answer.get_json()
    if held:
        bus.publish = publish
        [(_, data, attributes)] = events
        consume_blocking(platform, attributes, data)  # the event, after the dataset (Eventarc's order is any)
    bus.drain()

    [message] = data_event_messages(caplog)
    own = {"upload event: same object generation as registered, nothing to do"}
    if not held:  # the embedded bus may deliver it while the upload is still loading the file
        own.add("upload event before its dataset is stored: the upload registers it, nothing to do")
    assert message in own
    doc = platform.documents.get("datasets", answer.get_json()["id"])
    assert doc["source_changes"] == [] and doc["source_object"]["generation"]
    assert len(platform.documents.query("datasets")) == 1


def consume_blocking(platform: Platform, attributes: dict[str, str], data: bytes) -> None:
    from experiments_platform.web.data_events import consume

    assert consume(platform, attributes, data) is None


def test_the_same_object_generation_twice_is_read_once(platform: Platform, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Two events of one object generation (two event ids: a retried publish, two triggers): the source
    is read once; the second is a logged no-op that reads nothing."""
    path = tmp_path / "warehouse" / "orders.csv"
    path.write_bytes(rows(30))
    dataset_id = register(platform, path)
    path.write_bytes(rows(33))
    attributes, data = data_events.storage_object(path.as_uri(), path.stat().st_size, generation="1700000000000001")
    client = create_app("submitter", platform).test_client()
    caplog.set_level(logging.INFO, logger="experiments_platform.handlers.data_sources")
    for event_id in ("first", "second"):
        headers, body = to_binary(CloudEvent({**attributes, "id": event_id}, data))
        assert client.post(data_events.DATA_EVENTS_PATH, data=body, headers=dict(headers)).status_code == 204
        path.write_bytes(rows(36))  # were it read again, the second event would see 36 rows

    doc = platform.documents.get("datasets", dataset_id)
    assert doc["row_count"] == 33 and len(doc["source_changes"]) == 1
    assert doc["source_object"] == {"uri": path.as_uri(), "generation": "1700000000000001"}
    assert data_event_messages(caplog)[-1] == "object generation already applied: nothing to do"
