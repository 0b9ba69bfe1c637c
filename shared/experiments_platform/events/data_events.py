"""Data-source events: a dataset's source changed (Eventarc on GCP, the blob store locally).

Two Google event types, delivered by Eventarc triggers (``terraform/modules/data_events``) to the
submitter's ``DATA_EVENTS_PATH`` as CloudEvents, binary mode (``ce-*`` headers, the data as body) or
structured mode (``application/cloudevents+json``, the data as ``data`` or base64 in ``data_base64``):

* ``google.cloud.storage.object.v1.finalized``: an object was written (uploaded, or dropped by a
  pipeline) in the data bucket; the data is a ``StorageObjectData`` (``bucket``, ``name``, ``size``
  as a string, ``generation``, ``metadata``); the source is ``gs://{bucket}/{name}``;
* ``google.cloud.audit.log.v1.written`` from BigQuery (``serviceName bigquery.googleapis.com``):
  a table's data changed; the data is the audit ``LogEntry``, whose ``protoPayload.metadata``
  (``BigQueryAuditMetadata``) has a ``tableDataChange`` and whose ``protoPayload.resourceName`` is
  ``projects/{p}/datasets/{d}/tables/{t}``; the source is the BigQuery table ``p.d.t``.

Locally the blob store's writes emit the same storage CloudEvent (``storage_finalized_event``) on the
embedded bus, so the same parsing and handler run. ``read`` takes whatever HTTP request or bus
delivery carries one, through the CloudEvents SDK (``cloudevents.http.from_http``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

STORAGE_FINALIZED = "google.cloud.storage.object.v1.finalized"
AUDIT_LOG_WRITTEN = "google.cloud.audit.log.v1.written"
DATA_EVENTS_PATH = "/eventarc/data-source-changed"
DATA_EVENTS_SERVICE = "submitter"
DATA_EVENTS_TOPIC = "data-source-changed"
"""The embedded bus topic the local blob store emits on (no Pub/Sub topic of ours on GCP: Eventarc's)."""
_TABLE = re.compile(r"^projects/(?P<p>[^/]+)/datasets/(?P<d>[^/]+)/tables/(?P<t>[^/]+)$")


class MalformedDataEvent(ValueError):
    """Not a data-source event this platform reads; acknowledged and logged, never retried."""


@dataclass(frozen=True)
class DataSourceChanged:
    """A source's content changed: ``kind`` ``file`` (``uri`` gs:// or file://) or ``bigquery`` (``p.d.t``)."""

    kind: str
    uri: str
    event_id: str
    event_type: str
    size: int | None = None
    generation: str | None = None
    """The object's generation (Cloud Storage: a new number at every write; locally its write time in µs);
    two events of one generation are one version of the file (``handlers.data_sources`` reads it once)."""
    metadata: dict[str, str] = field(default_factory=dict)
    """The object's custom metadata: an upload's dataset fields when no dataset names the file yet."""


def read(headers: Mapping[str, str], body: bytes) -> DataSourceChanged | None:
    """The change a CloudEvent request carries (binary or structured mode); None for a BigQuery
    audit entry that changed no table's data."""
    from cloudevents.exceptions import GenericException
    from cloudevents.http import from_http

    try:
        event = from_http(dict(headers), body)
    except GenericException as exc:
        raise MalformedDataEvent(f"not a CloudEvent: {exc}") from None
    data = event.get_data()
    if isinstance(data, (bytes, str)):
        import json

        try:
            data = json.loads(data)
        except ValueError:
            raise MalformedDataEvent("the CloudEvent's data is not JSON") from None
    return parse(str(event["type"]), str(event["id"]), data)


def parse(event_type: str, event_id: str, data: Any) -> DataSourceChanged | None:
    if not isinstance(data, dict):
        raise MalformedDataEvent(f"{event_type} CloudEvent without a JSON object as data")
    if event_type == STORAGE_FINALIZED:
        bucket, name = data.get("bucket"), data.get("name")
        if not bucket or not name:
            raise MalformedDataEvent("storage CloudEvent data needs 'bucket' and 'name' (StorageObjectData)")
        uri = f"gs://{bucket}/{name}" if not str(bucket).startswith("file:") else f"{bucket}/{name}"
        size = data.get("size")
        return DataSourceChanged(kind="file", uri=uri, event_id=event_id, event_type=event_type,
                                 size=int(size) if size not in (None, "") else None,
                                 generation=str(data["generation"]) if data.get("generation") else None,
                                 metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()})
    if event_type == AUDIT_LOG_WRITTEN:
        payload = data.get("protoPayload") or {}
        if payload.get("serviceName") != "bigquery.googleapis.com":
            raise MalformedDataEvent(f"audit log entry of {payload.get('serviceName')!r}, expected BigQuery's")
        if "tableDataChange" not in (payload.get("metadata") or {}):
            return None
        table = _TABLE.match(str(payload.get("resourceName", "")))
        if not table:
            raise MalformedDataEvent("BigQuery tableDataChange without a table resourceName "
                                     "(projects/P/datasets/D/tables/T)")
        return DataSourceChanged(kind="bigquery", uri=f"{table['p']}.{table['d']}.{table['t']}", event_id=event_id,
                                 event_type=event_type)
    raise MalformedDataEvent(f"CloudEvent type {event_type!r} is not routed here; expected {STORAGE_FINALIZED} "
                             f"or {AUDIT_LOG_WRITTEN}")


def storage_object(uri: str, size: int, metadata: Mapping[str, str] | None = None,
                   at: datetime | None = None, generation: str | None = None) -> tuple[dict[str, str], dict[str, Any]]:
    """CloudEvent attributes and ``StorageObjectData`` of an object written at ``uri`` (gs:// or file://).

    A ``file://`` URI is its folder as the bucket (``file:///a/b``) and its file name as the name."""
    moment = (at or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    parsed = urlparse(uri)
    if parsed.scheme == "gs":
        bucket, name = parsed.netloc, parsed.path.lstrip("/")
    else:
        folder, _, name = uri.rpartition("/")
        bucket = folder
    generation = generation or str(int(datetime.now(timezone.utc).timestamp() * 1_000_000))
    attributes = {"type": STORAGE_FINALIZED, "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
                  "subject": f"objects/{name}"}
    data = {"bucket": bucket, "name": name, "size": str(size), "generation": generation, "metageneration": "1",
            "timeCreated": moment, "updated": moment, "id": f"{bucket}/{name}/{generation}",
            "metadata": dict(metadata or {})}
    return attributes, data
