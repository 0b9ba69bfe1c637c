"""HTTP entry points of the event-driven services, as Cloud Run receives events.

A push route accepts every shape GCP delivers to it:

* a Pub/Sub push envelope ``{"message": {"data", "attributes", "messageId", ...}, "subscription",
  "deliveryAttempt"}``;
* an Eventarc CloudEvent in binary mode (``ce-*`` headers) or structured mode
  (``application/cloudevents+json``): ``google.cloud.pubsub.topic.v1.messagePublished`` carries the
  same envelope as its data, ``google.cloud.cloudbuild.build.v1.statusChanged`` the Build resource.

Each is unwrapped into a ``ports.bus.Delivery`` (Pub/Sub envelopes by ``adapters.pubsub_push.unwrap``,
with an ``AttemptCounter`` per app numbering the deliveries of envelopes that lack
``deliveryAttempt``, as the Pub/Sub emulator's do) and handed to the subscription's consumer
(``CONSUMERS``), the same function the embedded bus calls in the local stack. Answers: 204 when
handled; 200 with ``"ignored"`` for malformed or foreign messages (acknowledged and logged, never
retried); 503 for transient failures and 500 for unexpected ones (Pub/Sub redelivers, then
dead-letters after the subscription's ``max_delivery_attempts``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import Any

from experiments_platform.adapters.pubsub_push import AttemptCounter, MalformedPush, unwrap
from experiments_platform.bootstrap import Platform
from experiments_platform.errors import PlatformError, TransientError
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
from experiments_platform.events.topology import RECONCILE_PATH, SUBSCRIPTIONS, Subscription, subscriptions_of
from experiments_platform.jsonlog import configure_logging, fields, get_logger, log_context, trace_from_header
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


def consumer_for(platform: Platform, subscription: Subscription) -> Handler:
    """The delivery handler of a subscription: parse the shape, call the consumer.

    Malformed or foreign messages are acknowledged (logged, not raised); anything else the
    consumer raises propagates so the bus redelivers it.
    """
    consume = CONSUMERS[subscription.name]

    def handle(delivery: Delivery) -> None:
        with log_context(subscription=subscription.name, message_id=delivery.message_id,
                         delivery_attempt=delivery.delivery_attempt):
            try:
                message = to_message(delivery.data, delivery.attributes)
                if message is None:
                    log.info("event about no experiment: acknowledged")
                    return
                with log_context(experiment_id=getattr(message, "experiment_id", None)):
                    consume(platform, message)
            except MalformedEvent as exc:
                log.warning("malformed message acknowledged", extra=fields(problem=str(exc)))

    return handle


# --- Flask apps -------------------------------------------------------------------------------


def service_app(service: str, platform: Platform | Callable[[], Platform] | None = None) -> Any:
    """The Flask app of one event-driven service: its push routes, health check and tasks.

    ``platform`` is built on the first request when given as a factory (default: from the
    environment), so importing a service's ``main`` creates no cloud client.
    """
    from flask import Flask, jsonify

    app = Flask(service)
    state: dict[str, Platform] = {}

    def current() -> Platform:
        if "platform" not in state:
            if isinstance(platform, Platform):
                state["platform"] = platform
            else:
                state["platform"] = (platform or Platform.from_env)()
        return state["platform"]

    app.config["platform"] = current

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok", "service": service})

    attempts = AttemptCounter()
    for sub in subscriptions_of(service):
        _mount_push_route(app, sub, current, attempts)

    if service == "status_watcher":

        @app.post(RECONCILE_PATH)
        def reconcile_task() -> Any:
            from experiments_platform.handlers.reconcile import reconcile

            return jsonify(reconcile(current()).to_dict())

    if service == "artifact_reader":
        _mount_artifact_routes(app, current)

    @app.errorhandler(PlatformError)
    def platform_error(exc: PlatformError) -> Any:
        return jsonify(exc.to_dict()), exc.status

    return app


def _mount_push_route(app: Any, sub: Subscription, current: Callable[[], Platform], attempts: AttemptCounter) -> None:
    from flask import jsonify, request

    def push() -> Any:
        trace = trace_from_header(request.headers.get("X-Cloud-Trace-Context"))
        with log_context(trace=trace, subscription=sub.name):
            try:
                delivery = delivery_from_request(dict(request.headers), request.get_data(), attempts)
            except MalformedEvent as exc:
                log.warning("malformed push request acknowledged", extra=fields(problem=str(exc)))
                return jsonify({"status": "ignored", "reason": str(exc)}), 200
            try:
                consumer_for(current(), sub)(delivery)
            except TransientError as exc:
                _log_failed_attempt(sub, delivery, exc)
                return jsonify({**exc.to_dict(), "delivery_attempt": delivery.delivery_attempt}), 503
            except Exception as exc:
                _log_failed_attempt(sub, delivery, exc)
                return jsonify({"error_code": "INTERNAL_ERROR", "message": str(exc),
                                "delivery_attempt": delivery.delivery_attempt}), 500
            return "", 204

    app.add_url_rule(sub.push_path, endpoint=sub.name, view_func=push, methods=["POST"])


def _log_failed_attempt(sub: Subscription, delivery: Delivery, exc: Exception) -> None:
    context = fields(problem=str(exc), delivery_attempt=delivery.delivery_attempt,
                     max_delivery_attempts=sub.max_delivery_attempts)
    if delivery.delivery_attempt >= sub.max_delivery_attempts:
        log.error("delivery attempt %d of %d failed: Pub/Sub moves the message to %s",
                  delivery.delivery_attempt, sub.max_delivery_attempts, sub.dead_letter_topic,
                  exc_info=not isinstance(exc, TransientError), extra=context)
    else:
        log.warning("delivery attempt %d of %d failed: asking for redelivery",
                    delivery.delivery_attempt, sub.max_delivery_attempts,
                    exc_info=not isinstance(exc, TransientError), extra=context)


def _mount_artifact_routes(app: Any, current: Callable[[], Platform]) -> None:
    from flask import jsonify, request

    from experiments_platform.handlers import artifact_reader as reader

    prefix = "/experiments/<experiment_id>"
    for name, read in reader.VIEWS.items():
        app.add_url_rule(f"{prefix}/{name}", name, _reader_view(read, current))

    def logs(experiment_id: str, component: str) -> Any:
        raw = request.args.get("lines", "200")
        if not raw.isdigit():
            from experiments_platform.errors import InvalidInput

            raise InvalidInput(f"lines must be a whole number, got {raw!r}", field="lines")
        return jsonify(reader.component_logs(current(), experiment_id, component, int(raw)))

    app.add_url_rule(f"{prefix}/logs/<component>", "logs", logs)

    def statistics_report(experiment_id: str) -> Any:
        from flask import Response

        from experiments_platform.tfdv.report import CSP

        response = Response(reader.statistics_report(current(), experiment_id), mimetype="text/html")
        response.headers["Content-Security-Policy"] = CSP
        return response

    app.add_url_rule(f"{prefix}/statistics-report", "statistics-report", statistics_report)


def _reader_view(read: Callable[[Platform, str], dict[str, Any]], current: Callable[[], Platform]) -> Any:
    from flask import jsonify

    def view(experiment_id: str) -> Any:
        return jsonify(read(current(), experiment_id))

    return view


def as_function(app: Any) -> Callable[[Any], Any]:
    """An HTTP function for ``functions-framework`` that serves every route of ``app``."""

    def function(request: Any) -> Any:
        body = request.get_data()
        environ = {**request.environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        with app.request_context(environ):
            return app.full_dispatch_request()

    return function


def create_service(service: str) -> Any:
    """What a service's ``main.py`` calls: JSON logs, then the app (platform built lazily)."""
    from experiments_platform.config import load_settings

    settings = load_settings()
    configure_logging(service, settings.gcp_project)
    return service_app(service, lambda: Platform(settings))


def embedded_subscriptions(platform: Platform, services: tuple[str, ...] | None = None) -> list[Subscription]:
    """Subscribe the consumers of ``services`` (default all) on an in-process bus."""
    bus: Any = platform.bus
    chosen = [s for s in SUBSCRIPTIONS if services is None or s.service in services]
    for sub in chosen:
        bus.subscribe(sub.topic, sub.name, consumer_for(platform, sub), max_delivery_attempts=sub.max_delivery_attempts)
    return chosen
