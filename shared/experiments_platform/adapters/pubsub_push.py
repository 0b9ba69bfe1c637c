"""Pub/Sub push delivery, as on Cloud Run: provisioning push subscriptions, and unwrapping what they push.

``provision`` creates (or updates) topics, push subscriptions with their ack deadline, retry
policy and dead-letter policy, the dead-letter topics and a pull subscription on each dead-letter
topic (so dead letters are kept and can be inspected), from a declarative list such as
``topology.SUBSCRIPTIONS``. It runs against real Pub/Sub or the emulator.

``unwrap`` turns a push request body::

    {"message": {"data": base64, "attributes": {...}, "messageId": "...", "publishTime": "..."},
     "subscription": "projects/P/subscriptions/S", "deliveryAttempt": 3}

into a ``ports.bus.Delivery`` (its ``subscription`` is the short name, as on the embedded bus). What
the push endpoint answers (2xx acknowledges, 5xx makes Pub/Sub redeliver) is ``web.routes.push``'s.

What the Pub/Sub emulator does (measured with google-cloud-pubsub 2.x, emulator 0.8.x): it pushes to
http endpoints, honours dead-letter policies (moving a message to the dead-letter topic after
``max_delivery_attempts`` failed pushes, minimum 5 as on Pub/Sub, with the
``CloudPubSubDeadLetterSource*`` attributes) and accepts retry policies (redelivery about 1 s, then
about 3 s apart; without a retry policy about 1 s apart). It does NOT put ``deliveryAttempt`` in
push bodies (real Pub/Sub does when a dead-letter policy is set). ``AttemptCounter`` fills that gap:
the endpoint counts deliveries per message id itself, so handlers see increasing attempt numbers
on the emulator too (per process; with several instances it is a lower bound).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from google.api_core import exceptions as gexc

from experiments_platform.errors import InvalidInput
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.bus import Delivery

if TYPE_CHECKING:
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

log = get_logger(__name__)


class SubscriptionSpec(Protocol):
    """What ``provision`` needs of a subscription (``topology.Subscription`` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def push_path(self) -> str: ...
    @property
    def ack_deadline_s(self) -> int: ...
    @property
    def min_backoff_s(self) -> int | None: ...
    @property
    def max_backoff_s(self) -> int | None: ...
    @property
    def max_delivery_attempts(self) -> int: ...
    @property
    def dead_letter_topic(self) -> str: ...


class MalformedPush(InvalidInput):
    """The request body is not a Pub/Sub push envelope."""

    code = "MALFORMED_PUSH"


def dead_letter_subscription(dead_letter_topic: str) -> str:
    """Name of the pull subscription that keeps the messages of a dead-letter topic."""
    return f"{dead_letter_topic}-sub"


@dataclass
class ProvisionReport:
    topics_created: list[str] = field(default_factory=list)
    subscriptions_created: list[str] = field(default_factory=list)
    subscriptions_updated: list[str] = field(default_factory=list)


def _duration(seconds: float) -> Any:
    from google.protobuf import duration_pb2

    whole = int(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=int(round((seconds - whole) * 1e9)))


def provision(
    project: str,
    subscriptions: Iterable[SubscriptionSpec],
    endpoint_for: Callable[[SubscriptionSpec], str] | Mapping[str, str],
    extra_topics: Iterable[str] = (),
    oidc_service_account: str | None = None,
    publisher: PublisherClient | None = None,
    subscriber: SubscriberClient | None = None,
) -> ProvisionReport:
    """Create or update every topic and subscription; idempotent.

    ``endpoint_for`` gives each subscription's push URL: a function, or a mapping from a
    subscription's ``service`` attribute (or its name) to the service's base URL, to which the
    subscription's ``push_path`` is appended. With ``oidc_service_account`` pushes carry an OIDC
    token of that account (Cloud Run authentication); the emulator ignores it.
    """
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient
    from google.pubsub_v1.types import DeadLetterPolicy, PushConfig, RetryPolicy

    publisher = publisher or PublisherClient()
    subscriber = subscriber or SubscriberClient()
    specs = list(subscriptions)
    report = ProvisionReport()

    topics = list(dict.fromkeys([*(s.topic for s in specs), *(s.dead_letter_topic for s in specs), *extra_topics]))
    for topic in topics:
        try:
            publisher.create_topic(name=publisher.topic_path(project, topic))
            report.topics_created.append(topic)
        except gexc.AlreadyExists:
            pass

    for dead_letter_topic in dict.fromkeys(s.dead_letter_topic for s in specs):
        name = dead_letter_subscription(dead_letter_topic)
        try:
            subscriber.create_subscription(request={
                "name": subscriber.subscription_path(project, name),
                "topic": publisher.topic_path(project, dead_letter_topic),
                "ack_deadline_seconds": 60,
            })
            report.subscriptions_created.append(name)
        except gexc.AlreadyExists:
            pass

    for spec in specs:
        push_config = PushConfig(push_endpoint=_endpoint(spec, endpoint_for))
        if oidc_service_account:
            push_config.oidc_token = PushConfig.OidcToken(service_account_email=oidc_service_account)
        subscription = {
            "name": subscriber.subscription_path(project, spec.name),
            "topic": publisher.topic_path(project, spec.topic),
            "push_config": push_config,
            "ack_deadline_seconds": spec.ack_deadline_s,
            "retry_policy": _retry_policy(spec, RetryPolicy),
            "dead_letter_policy": DeadLetterPolicy(
                dead_letter_topic=publisher.topic_path(project, spec.dead_letter_topic),
                max_delivery_attempts=spec.max_delivery_attempts,
            ),
        }
        try:
            subscriber.create_subscription(request=subscription)
            report.subscriptions_created.append(spec.name)
        except gexc.AlreadyExists:
            _update(subscriber, subscription)
            report.subscriptions_updated.append(spec.name)
    log.info("pub/sub provisioned", extra=fields(project=project, **report.__dict__))
    return report


def _retry_policy(spec: SubscriptionSpec, policy_type: Any) -> Any:
    """Exponential backoff between the spec's bounds; ``None`` bounds keep Pub/Sub's immediate redelivery."""
    if spec.min_backoff_s is None or spec.max_backoff_s is None:
        return None
    return policy_type(minimum_backoff=_duration(spec.min_backoff_s), maximum_backoff=_duration(spec.max_backoff_s))


def _update(subscriber: SubscriberClient, subscription: dict[str, Any]) -> None:
    current = subscriber.get_subscription(subscription=subscription["name"])
    if current.topic != subscription["topic"]:
        raise InvalidInput(
            f"subscription {subscription['name']} exists on topic {current.topic}, not {subscription['topic']}; "
            "delete it first (a subscription cannot change topic)",
            field="topic",
        )
    subscriber.update_subscription(request={
        "subscription": subscription,
        "update_mask": {"paths": ["push_config", "ack_deadline_seconds", "retry_policy", "dead_letter_policy"]},
    })


def _endpoint(spec: SubscriptionSpec, endpoint_for: Callable[[SubscriptionSpec], str] | Mapping[str, str]) -> str:
    if callable(endpoint_for):
        return endpoint_for(spec)
    key = getattr(spec, "service", None)
    base = endpoint_for.get(key) if key else None
    base = base or endpoint_for.get(spec.name)
    if not base:
        raise InvalidInput(
            f"no push endpoint for subscription {spec.name!r} (service {key!r}); "
            f"endpoints are known for {sorted(endpoint_for)}",
            field="endpoint_for",
        )
    return base.rstrip("/") + spec.push_path


class AttemptCounter:
    """Counts push deliveries per (subscription, message id) where the body lacks ``deliveryAttempt``."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._counts: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._lock = threading.Lock()

    def next(self, subscription: str, message_id: str) -> int:
        key = (subscription, message_id)
        with self._lock:
            count = self._counts.pop(key, 0) + 1
            self._counts[key] = count
            while len(self._counts) > self.capacity:
                self._counts.popitem(last=False)
            return count


def unwrap(body: bytes | str | Mapping[str, Any], attempts: AttemptCounter | None = None) -> Delivery:
    """The ``Delivery`` inside a push request body; raise ``MalformedPush`` naming what is wrong."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedPush(f"push body is not JSON: {exc}", field="body") from None
    if not isinstance(body, Mapping):
        raise MalformedPush("push body must be a JSON object with a 'message' field", field="body")
    message = body.get("message")
    if not isinstance(message, Mapping):
        raise MalformedPush("push body has no 'message' object: not a Pub/Sub push envelope", field="message")
    encoded = message.get("data", "")
    if not isinstance(encoded, str):
        raise MalformedPush("message.data must be a base64 string", field="message.data")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPush("message.data is not valid base64", field="message.data") from None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping) or not all(isinstance(v, str) for v in attributes.values()):
        raise MalformedPush("message.attributes must map strings to strings", field="message.attributes")
    message_id = message.get("messageId") or message.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise MalformedPush("message.messageId is missing", field="message.messageId")
    subscription_path = body.get("subscription", "")
    if not isinstance(subscription_path, str):
        raise MalformedPush("subscription must be a string", field="subscription")
    subscription = subscription_path.rsplit("/", 1)[-1]
    attempt = body.get("deliveryAttempt")
    if attempt is None:
        attempt = attempts.next(subscription, message_id) if attempts else 1
    elif not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise MalformedPush(f"deliveryAttempt must be a positive integer, got {attempt!r}", field="deliveryAttempt")
    return Delivery(data=data, attributes=dict(attributes), message_id=message_id,
                    delivery_attempt=attempt, subscription=subscription)
