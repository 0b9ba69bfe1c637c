"""pubsub_push: provisioning push subscriptions on the emulator, unwrapping push request bodies, and what the
services' real push view (``web.routes.push.push_view``) answers."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass

import pytest
from experiments_platform.adapters.pubsub_push import (
    AttemptCounter,
    MalformedPush,
    dead_letter_subscription,
    provision,
    unwrap,
)
from experiments_platform.errors import InvalidInput, NotFound, TransientError
from experiments_platform.events.messages import Topics
from experiments_platform.ports.bus import Delivery, Handler
from experiments_platform.web.routes.push import push_view
from flask import Flask
from flask.testing import FlaskClient


@dataclass(frozen=True)
class Spec:
    name: str
    topic: str
    service: str
    push_path: str
    max_delivery_attempts: int = 5
    ack_deadline_s: int = 60
    min_backoff_s: int | None = 1
    max_backoff_s: int | None = 60

    @property
    def dead_letter_topic(self) -> str:
        return Topics.dead_letter(self.topic)


@pytest.mark.emulators
def test_provision_creates_push_subscriptions_with_retry_and_dead_letter_policies(emulators) -> None:
    from google.cloud import pubsub_v1

    suffix = uuid.uuid4().hex[:6]
    specs = [
        Spec(f"submitter-submit-{suffix}", f"submit-{suffix}", "submitter", "/pubsub/submit", ack_deadline_s=120),
        Spec(f"watcher-builds-{suffix}", f"builds-{suffix}", "status_watcher", "/pubsub/builds",
             max_delivery_attempts=7),
    ]
    endpoints = {"submitter": "http://127.0.0.1:8101/", "status_watcher": "http://127.0.0.1:8102"}
    report = provision(emulators.project, specs, endpoints, extra_topics=[f"extra-{suffix}"])
    assert set(report.topics_created) == {
        f"submit-{suffix}", f"builds-{suffix}", f"submit-{suffix}-dead-letter", f"builds-{suffix}-dead-letter",
        f"extra-{suffix}",
    }
    assert report.subscriptions_created == [
        f"submit-{suffix}-dead-letter-sub", f"builds-{suffix}-dead-letter-sub", specs[0].name, specs[1].name,
    ]

    subscriber = pubsub_v1.SubscriberClient()
    got = subscriber.get_subscription(subscription=subscriber.subscription_path(emulators.project, specs[0].name))
    assert got.topic == f"projects/{emulators.project}/topics/submit-{suffix}"
    assert got.push_config.push_endpoint == "http://127.0.0.1:8101/pubsub/submit"
    assert got.ack_deadline_seconds == 120
    assert got.retry_policy.minimum_backoff.seconds == 1
    assert got.retry_policy.maximum_backoff.seconds == 60
    dead_letter_topic = f"projects/{emulators.project}/topics/submit-{suffix}-dead-letter"
    assert got.dead_letter_policy.dead_letter_topic == dead_letter_topic
    assert got.dead_letter_policy.max_delivery_attempts == 5
    watcher = subscriber.get_subscription(subscription=subscriber.subscription_path(emulators.project, specs[1].name))
    assert watcher.dead_letter_policy.max_delivery_attempts == 7
    dead_name = dead_letter_subscription(specs[0].dead_letter_topic)
    dead = subscriber.get_subscription(subscription=subscriber.subscription_path(emulators.project, dead_name))
    assert dead.topic.endswith(f"/submit-{suffix}-dead-letter")
    assert not dead.push_config.push_endpoint

    moved = {"submitter": "http://127.0.0.1:9101", "status_watcher": "http://127.0.0.1:9102"}
    again = provision(emulators.project, specs, moved)
    assert again.topics_created == []
    assert again.subscriptions_updated == [specs[0].name, specs[1].name]
    got = subscriber.get_subscription(subscription=subscriber.subscription_path(emulators.project, specs[0].name))
    assert got.push_config.push_endpoint == "http://127.0.0.1:9101/pubsub/submit"
    subscriber.close()


@pytest.mark.emulators
def test_provision_names_a_subscription_without_endpoint(emulators) -> None:
    spec = Spec(f"orphan-{uuid.uuid4().hex[:6]}", "orphan-topic", "nobody", "/x")
    with pytest.raises(InvalidInput, match="no push endpoint for subscription 'orphan-.*'nobody'"):
        provision(emulators.project, [spec], {"submitter": "http://127.0.0.1:1"})


def envelope(**overrides: object) -> dict:
    body: dict = {
        "message": {
            "data": base64.b64encode(b'{"experiment_id": "e1"}').decode(),
            "attributes": {"type": "SubmitExperiment"},
            "messageId": "123",
            "publishTime": "2026-01-01T00:00:00Z",
        },
        "subscription": "projects/p/subscriptions/submitter-experiment-submit",
        "deliveryAttempt": 3,
    }
    body.update(overrides)
    return body


def test_unwrap_real_pubsub_push_body() -> None:
    delivery = unwrap(json.dumps(envelope()).encode())
    assert delivery == Delivery(
        data=b'{"experiment_id": "e1"}', attributes={"type": "SubmitExperiment"}, message_id="123",
        delivery_attempt=3, subscription="submitter-experiment-submit",
    )


def test_unwrap_counts_attempts_when_the_emulator_omits_them() -> None:
    body = envelope()
    del body["deliveryAttempt"]
    counter = AttemptCounter()
    assert [unwrap(body, counter).delivery_attempt for _ in range(3)] == [1, 2, 3]
    other = envelope(subscription="projects/p/subscriptions/other")
    del other["deliveryAttempt"]
    assert unwrap(other, counter).delivery_attempt == 1
    assert unwrap(body).delivery_attempt == 1


def test_attempt_counter_forgets_oldest_messages_beyond_capacity() -> None:
    counter = AttemptCounter(capacity=2)
    counter.next("s", "a")
    counter.next("s", "b")
    counter.next("s", "c")
    assert counter.next("s", "a") == 1
    assert counter.next("s", "c") == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        ({"subscription": "s"}, "message"),
        ({"message": {"data": "***", "messageId": "1"}}, "message.data"),
        ({"message": {"data": "aGk=", "attributes": {"n": 1}, "messageId": "1"}}, "message.attributes"),
        ({"message": {"data": "aGk="}}, "message.messageId"),
        ({"message": {"data": "aGk=", "messageId": "1"}, "deliveryAttempt": 0}, "deliveryAttempt"),
    ],
)
def test_unwrap_rejects_malformed_bodies_naming_the_field(body: object, field: str) -> None:
    with pytest.raises(MalformedPush) as raised:
        unwrap(body if isinstance(body, bytes) else json.dumps(body))
    assert raised.value.field == field


def push_client(handler: Handler) -> FlaskClient:
    """An app whose one route is the services' push view, handing deliveries to ``handler``."""
    spec = Spec("submitter-experiment-submit", "experiment-submit", "submitter", "/push")
    app = Flask("push-view-test")
    view = push_view("submitter", spec, lambda: handler, AttemptCounter())
    app.add_url_rule(spec.push_path, view_func=view, methods=["POST"])
    return app.test_client()


def raises(exc: Exception) -> Handler:
    def handler(delivery: Delivery) -> None:
        raise exc

    return handler


def test_the_push_view_acknowledges_handled_and_malformed_requests() -> None:
    received: list[Delivery] = []
    handled = push_client(received.append).post("/push", json=envelope())
    assert (handled.status_code, handled.get_data()) == (204, b"")
    assert received == [unwrap(envelope())]
    for body in ({"nope": 1}, {"message": {"data": "***", "messageId": "1"}}):
        ignored = push_client(raises(AssertionError("never called"))).post("/push", json=body)
        assert ignored.status_code == 200 and ignored.get_json()["status"] == "ignored"


def test_the_push_view_asks_for_redelivery_of_every_failure_without_leaking_it() -> None:
    transient = push_client(raises(TransientError("firestore unavailable"))).post("/push", json=envelope())
    assert transient.status_code == 503
    assert transient.get_json() == {"error_code": "TRANSIENT", "message": "firestore unavailable",
                                    "delivery_attempt": 3}
    for exc in (NotFound("experiment e1 does not exist"), KeyError("secret-token-in-a-bug")):
        failed = push_client(raises(exc)).post("/push", json=envelope())
        assert failed.status_code == 500, exc
        body = failed.get_json()
        assert body["error_code"] == "INTERNAL_ERROR" and body["delivery_attempt"] == 3
        assert "secret" not in failed.get_data(as_text=True) and "Traceback" not in failed.get_data(as_text=True)
        assert "submitter service's logs" in body["message"]


def test_the_push_view_numbers_deliveries_the_emulator_leaves_unnumbered() -> None:
    body = envelope()
    del body["deliveryAttempt"]
    client = push_client(raises(TransientError("still down")))
    assert [client.post("/push", json=body).get_json()["delivery_attempt"] for _ in range(3)] == [1, 2, 3]
