"""Push routes of the event-driven services: one ``POST`` per subscription of ``events.topology``.

``push_view`` is the one answer policy for pushed messages (decision 007): 204 when handled; 200
``{"status": "ignored", "reason"}`` for a request that is no delivery at all or a message its
consumer ignored as malformed (an experiment id that is no valid id, for one: acknowledged, never
retried); 503 for a ``TransientError`` and 500 for anything else (Pub/Sub redelivers, then moves the
message to the subscription's dead-letter topic after ``max_delivery_attempts``). Failure answers
carry ``delivery_attempt``; the last attempt is logged at ERROR naming the dead-letter topic.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, jsonify, request

from experiments_platform.adapters.pubsub_push import AttemptCounter, SubscriptionSpec
from experiments_platform.errors import TransientError
from experiments_platform.events.google_events import MalformedEvent
from experiments_platform.events.topology import Subscription, subscriptions_of
from experiments_platform.jsonlog import fields, get_logger, log_context
from experiments_platform.ports.bus import Delivery, Handler
from experiments_platform.web import auth, data_events
from experiments_platform.web.context import platform
from experiments_platform.web.errors import internal_error
from experiments_platform.web.push import Consumption, consumer_for, delivery_from_request

log = get_logger(__name__)

Answer = Response | tuple[Response | str, int]


def push_view(service: str, subscription: SubscriptionSpec, handler: Callable[[], Handler | Consumption],
              attempts: AttemptCounter) -> Callable[[], Answer]:
    """The view receiving ``subscription``'s pushes; ``handler()`` gives the delivery handler of this request
    (one that returns a reason has ignored the delivery)."""

    def push() -> Answer:
        with log_context(subscription=subscription.name):
            try:
                delivery = delivery_from_request(dict(request.headers), request.get_data(), attempts)
            except MalformedEvent as exc:
                log.warning("malformed push request acknowledged", extra=fields(problem=str(exc)))
                return jsonify({"status": "ignored", "reason": str(exc)}), 200
            try:
                ignored = handler()(delivery)
            except TransientError as exc:
                _log_failed_attempt(subscription, delivery, exc)
                return jsonify({**exc.to_dict(), "delivery_attempt": delivery.delivery_attempt}), 503
            except Exception as exc:
                _log_failed_attempt(subscription, delivery, exc)
                return jsonify({**internal_error(service), "delivery_attempt": delivery.delivery_attempt}), 500
            if isinstance(ignored, str):
                return jsonify({"status": "ignored", "reason": ignored}), 200
            return "", 204

    return push


def _log_failed_attempt(subscription: SubscriptionSpec, delivery: Delivery, exc: Exception) -> None:
    context = fields(problem=str(exc), delivery_attempt=delivery.delivery_attempt,
                     max_delivery_attempts=subscription.max_delivery_attempts)
    if delivery.delivery_attempt >= subscription.max_delivery_attempts:
        log.error("delivery attempt %d of %d failed: Pub/Sub moves the message to %s",
                  delivery.delivery_attempt, subscription.max_delivery_attempts, subscription.dead_letter_topic,
                  exc_info=not isinstance(exc, TransientError), extra=context)
    else:
        log.warning("delivery attempt %d of %d failed: asking for redelivery",
                    delivery.delivery_attempt, subscription.max_delivery_attempts,
                    exc_info=not isinstance(exc, TransientError), extra=context)


def register(app: Flask, service: str) -> None:
    """A push route per subscription of ``service``, handing each delivery to its consumer (``web.push``)."""
    attempts = AttemptCounter()
    settings = auth.platform_settings(app)
    check = auth.oidc_check(settings, settings.push_service_account, "Pub/Sub push")
    auth.announce(service, "Pub/Sub push requests", check, "PLATFORM_OIDC_AUDIENCE")
    for subscription in subscriptions_of(service):
        view = auth.checked(push_view(service, subscription, _consumer(subscription), attempts), check)
        app.add_url_rule(subscription.push_path, endpoint=subscription.name, view_func=view, methods=["POST"])
    data_events.register(app, service)  # Eventarc's data-source CloudEvents (no subscription of ours)


def _consumer(subscription: Subscription) -> Callable[[], Consumption]:
    return lambda: consumer_for(platform(), subscription)
