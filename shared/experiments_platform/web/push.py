"""From what GCP delivers to the consumer of a subscription, the same on Pub/Sub and the embedded bus.

A push route (``web.routes.push``) accepts every shape GCP delivers to it:

* a Pub/Sub push envelope ``{"message": {"data", "attributes", "messageId", ...}, "subscription",
  "deliveryAttempt"}``;
* an Eventarc CloudEvent in binary mode (``ce-*`` headers) or structured mode
  (``application/cloudevents+json``): ``google.cloud.pubsub.topic.v1.messagePublished`` carries the
  same envelope as its data, ``google.cloud.cloudbuild.build.v1.statusChanged`` the Build resource.

Each is unwrapped into a ``ports.bus.Delivery`` (Pub/Sub envelopes by ``adapters.pubsub_push.unwrap``,
with an ``AttemptCounter`` per app numbering the deliveries of envelopes that lack
``deliveryAttempt``, as the Pub/Sub emulator's do) and handed to the subscription's consumer
(``CONSUMERS``), the same function the embedded bus calls in the local stack
(``embedded_subscriptions``). What the push route answers is decided in ``web.routes.push``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from experiments_platform.adapters.pubsub_push import AttemptCounter, MalformedPush, unwrap
from experiments_platform.bootstrap import Platform
from experiments_platform.events.data_events import DATA_EVENTS_SERVICE
from experiments_platform.events.google_events import (
    CLOUD_BUILD_EVENT_TYPE,
    PUBSUB_EVENT_TYPE,
    MalformedEvent,
    to_message,
)
from experiments_platform.events.messages import (
    BuildFinished,
    CancelExperiment,
    Message,
    PipelineJobStateChanged,
    PipelineTaskStateChanged,
    SubmitExperiment,
)
from experiments_platform.events.topology import SUBSCRIPTIONS, Subscription
from experiments_platform.jsonlog import fields, get_logger, log_context
from experiments_platform.ports.bus import Delivery, Handler

log = get_logger(__name__)

Consumer = Callable[[Platform, Message], None]


# --- unwrapping -------------------------------------------------------------------------------


def _unwrap(envelope: Any, attempts: AttemptCounter | None) -> Delivery:
    try:
        return unwrap(envelope if isinstance(envelope, dict) else json.dumps(envelope), attempts)
    except MalformedPush as exc:
        raise MalformedEvent(exc.message) from None


def delivery_from_cloudevent(event_type: str, event_id: str, data: Any,
                             attempts: AttemptCounter | None = None) -> Delivery:
    """The delivery a CloudEvent carries (Pub/Sub messagePublished or Cloud Build statusChanged)."""
    if event_type == PUBSUB_EVENT_TYPE:
        return _unwrap(data, attempts)
    if event_type == CLOUD_BUILD_EVENT_TYPE:
        if not isinstance(data, dict) or "id" not in data:
            raise MalformedEvent("Cloud Build CloudEvent without a Build resource (data.id) in its data")
        attributes = {"buildId": str(data["id"]), "status": str(data.get("status", ""))}
        return Delivery(json.dumps(data).encode(), attributes, event_id)
    raise MalformedEvent(f"CloudEvent type {event_type!r} is not routed here; expected {PUBSUB_EVENT_TYPE} "
                         f"or {CLOUD_BUILD_EVENT_TYPE}")


def delivery_from_request(headers: Mapping[str, str], body: bytes, attempts: AttemptCounter | None = None) -> Delivery:
    """Whatever shape the request has (push envelope, binary or structured CloudEvent).

    Pub/Sub envelopes are unwrapped by ``adapters.pubsub_push.unwrap``; ``attempts`` numbers the
    deliveries of envelopes without ``deliveryAttempt`` (the Pub/Sub emulator never sends it).
    """
    content_type = headers.get("Content-Type", "") or headers.get("content-type", "")
    try:
        payload = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedEvent("request body is not JSON") from None
    ce_type = headers.get("ce-type") or headers.get("Ce-Type")
    if ce_type:
        return delivery_from_cloudevent(ce_type, headers.get("ce-id") or headers.get("Ce-Id") or "", payload,
                                        attempts)
    if content_type.startswith("application/cloudevents+json"):
        if not isinstance(payload, dict) or "type" not in payload:
            raise MalformedEvent("structured CloudEvent without a 'type'")
        return delivery_from_cloudevent(str(payload["type"]), str(payload.get("id", "")), payload.get("data"),
                                        attempts)
    return _unwrap(payload, attempts)


# --- consumers --------------------------------------------------------------------------------


def _expect(kind: type[Message] | tuple[type[Message], ...], consumer: Callable[[Platform, Any], None]) -> Consumer:
    def consume(platform: Platform, message: Message) -> None:
        if not isinstance(message, kind):
            raise MalformedEvent(f"{type(message).__name__} does not belong on this subscription")
        consumer(platform, message)

    return consume


def _on_pipeline_state(platform: Platform, message: PipelineJobStateChanged | PipelineTaskStateChanged) -> None:
    from experiments_platform.handlers import status_watcher

    if isinstance(message, PipelineTaskStateChanged):
        status_watcher.on_task(platform, message)
    else:
        status_watcher.on_job(platform, message)


def _on_submit(platform: Platform, message: SubmitExperiment) -> None:
    from experiments_platform.handlers.submitter import on_submit

    on_submit(platform, message)


def _on_build(platform: Platform, message: BuildFinished) -> None:
    from experiments_platform.handlers.status_watcher import on_build

    on_build(platform, message)


def _on_cancel(platform: Platform, message: CancelExperiment) -> None:
    from experiments_platform.handlers.cancel import on_cancel

    on_cancel(platform, message)


CONSUMERS: dict[str, Consumer] = {
    "submitter-experiment-submit": _expect(SubmitExperiment, _on_submit),
    "status-watcher-cloud-builds": _expect(BuildFinished, _on_build),
    "status-watcher-pipeline-state": _expect((PipelineJobStateChanged, PipelineTaskStateChanged), _on_pipeline_state),
    "status-watcher-experiment-cancel": _expect(CancelExperiment, _on_cancel),
}


Consumption = Callable[[Delivery], "str | None"]
"""Consumes one delivery; returns why it was ignored (acknowledged without effect), None when consumed."""


def consumer_for(platform: Platform, subscription: Subscription) -> Consumption:
    """The delivery handler of a subscription: parse the shape, call the consumer.

    Malformed or foreign messages (an experiment id that is no valid id among them) are
    acknowledged, logged and the reason returned, never raised; anything else the consumer raises
    propagates so the bus redelivers it.
    """
    consume = CONSUMERS[subscription.name]

    def handle(delivery: Delivery) -> str | None:
        with log_context(subscription=subscription.name, message_id=delivery.message_id,
                         delivery_attempt=delivery.delivery_attempt):
            try:
                message = to_message(delivery.data, delivery.attributes)
                if message is None:
                    log.info("event about no experiment: acknowledged")
                    return None
                with log_context(experiment_id=getattr(message, "experiment_id", None)):
                    consume(platform, message)
            except MalformedEvent as exc:
                log.warning("malformed message acknowledged as ignored", extra=fields(problem=str(exc)))
                return str(exc)
            return None

    return handle


def _acknowledging(consume: Consumption) -> Handler:
    def handle(delivery: Delivery) -> None:
        consume(delivery)

    return handle


# --- the embedded bus ---------------------------------------------------------------------


def embedded_subscriptions(platform: Platform, services: tuple[str, ...] | None = None) -> list[Subscription]:
    """Subscribe the consumers of ``services`` (default all) on an in-process bus."""
    bus: Any = platform.bus
    chosen = [s for s in SUBSCRIPTIONS if services is None or s.service in services]
    for sub in chosen:
        bus.subscribe(sub.topic, sub.name, _acknowledging(consumer_for(platform, sub)),
                      max_delivery_attempts=sub.max_delivery_attempts)
    if services is None or DATA_EVENTS_SERVICE in services:
        from experiments_platform.web.data_events import emit_from_blobs

        emit_from_blobs(platform)  # the blob store's writes of data files as Eventarc's storage events
    return chosen
