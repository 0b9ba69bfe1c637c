"""Data-source CloudEvents in, on GCP (Eventarc → the submitter's route) and locally (the embedded bus).

``consume`` is the one path for both: the CloudEvents SDK reads the request (binary or structured
mode, ``data_base64`` included; ``events.data_events.read``) and ``handlers.data_sources`` refreshes
or registers the dataset. ``register`` mounts ``DATA_EVENTS_PATH`` on the submitter, answering as
the push routes do (decision 007): 204 handled, 200 ``ignored`` with the reason for an event that is
not one of ours (acknowledged, never retried), 503/500 for a failure (Eventarc retries). Deployed, the
route takes only Eventarc's ID token of the triggers' service account (``PLATFORM_EVENTARC_SERVICE_ACCOUNT``)
for the service's URL (``PLATFORM_OIDC_AUDIENCE``), verified as the push tokens are (``web.auth``).
``emit_from_blobs`` makes the local blob store's writes of data files the storage CloudEvent
Eventarc delivers on GCP, published on the embedded bus in structured mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlparse

from flask import Flask, Response, jsonify, request

from experiments_platform.bootstrap import Platform
from experiments_platform.errors import TransientError
from experiments_platform.events import data_events
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.bus import Delivery, SubscribableBus

log = get_logger(__name__)
SUBSCRIPTION = "submitter-data-source-changed"


def consume(platform: Platform, headers: Mapping[str, str], body: bytes) -> str | None:
    """Apply one data-source CloudEvent; the reason when it was ignored."""
    from experiments_platform.handlers.data_sources import on_source_changed

    try:
        change = data_events.read(headers, body)
    except data_events.MalformedDataEvent as exc:
        log.warning("data-source event ignored", extra=fields(problem=str(exc)))
        return str(exc)
    if change is None:
        return "the audit log entry changed no table's data"
    on_source_changed(platform, change)
    return None


def register(app: Flask, service: str) -> None:
    if service != data_events.DATA_EVENTS_SERVICE:
        return
    from experiments_platform.web import auth
    from experiments_platform.web.context import platform
    from experiments_platform.web.errors import internal_error

    settings = auth.platform_settings(app)
    check = auth.oidc_check(settings, settings.eventarc_service_account, "the Eventarc trigger")
    auth.announce(service, "Eventarc data-source events", check, "PLATFORM_OIDC_AUDIENCE")

    def receive() -> Response | tuple[Response | str, int]:
        try:
            ignored = consume(platform(), dict(request.headers), request.get_data())
        except TransientError as exc:
            log.warning("data-source event failed: Eventarc retries it", extra=fields(problem=exc.message))
            return jsonify(exc.to_dict()), 503
        except Exception:
            log.exception("data-source event failed: Eventarc retries it")
            return jsonify(internal_error(service)), 500
        if ignored is not None:
            return jsonify({"status": "ignored", "reason": ignored}), 200
        return "", 204

    app.add_url_rule(data_events.DATA_EVENTS_PATH, endpoint=SUBSCRIPTION, view_func=auth.checked(receive, check),
                     methods=["POST"])


def emit_from_blobs(platform: Platform) -> None:
    """Subscribe ``consume`` on the embedded bus and have the local blob store emit a storage
    CloudEvent for each data file it writes (under the warehouse or uploads folders)."""
    from cloudevents.conversion import to_structured
    from cloudevents.http import CloudEvent

    blobs = platform.blobs
    if not hasattr(blobs, "finalized"):
        return
    bus = cast(SubscribableBus, platform.bus)
    settings = platform.settings
    roots = [str(p) for p in (*settings.resolved_warehouse_roots,)]

    def emit(uri: str, size: int, generation: str) -> None:
        path = str(Path(unquote(urlparse(uri).path)))
        if not any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots):
            return
        attributes, data = data_events.storage_object(uri, size, generation=generation)
        headers, body = to_structured(CloudEvent(attributes, data))
        bus.publish(data_events.DATA_EVENTS_TOPIC, body, {str(k): str(v) for k, v in headers.items()})

    def handle(delivery: Delivery) -> None:
        consume(platform, delivery.attributes, delivery.data)

    bus.subscribe(data_events.DATA_EVENTS_TOPIC, SUBSCRIPTION, handle)
    setattr(blobs, "finalized", emit)  # noqa: B010 (a LocalBlobStore's hook, not part of the port)
