"""Contract of ports.bus: the embedded bus, and Pub/Sub (emulator) delivering by push subscriptions.

The Pub/Sub side is exercised as on Cloud Run: ``PubSubBus`` publishes, ``pubsub_push.provision``
creates push subscriptions (retry and dead-letter policies) that push to a local HTTP endpoint,
and the endpoint is the services' push view (``web.routes.push.push_view``). Every test uses fresh
subscription names.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from experiments_platform.adapters.embedded_bus import EmbeddedBus
from experiments_platform.adapters.pubsub_bus import PubSubBus
from experiments_platform.adapters.pubsub_push import (
    AttemptCounter,
    dead_letter_subscription,
    provision,
)
from experiments_platform.events.messages import Topics
from experiments_platform.ports.bus import Delivery, EventBus, Handler, SubscribableBus
from experiments_platform.web.routes.push import push_view
from flask import Flask
from google.api_core.exceptions import DeadlineExceeded
from werkzeug.serving import make_server

TIMEOUT_S = 30.0


class Harness(Protocol):
    def subscribe(self, topic: str, subscription: str, handler: Handler, max_delivery_attempts: int = 5) -> None: ...
    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str: ...
    def dead_lettered(self, topic: str) -> list[tuple[bytes, dict[str, str]]]: ...


class EmbeddedHarness:
    """The embedded bus, with a collector on each dead-letter topic (as ``provision`` does on Pub/Sub)."""

    def __init__(self) -> None:
        self.bus: SubscribableBus = EmbeddedBus(workers=4, backoff_initial_s=0.01, backoff_max_s=0.1)
        self.publish = self.bus.publish
        self.collectors: dict[str, Recorder] = {}

    def subscribe(self, topic: str, subscription: str, handler: Handler, max_delivery_attempts: int = 5) -> None:
        if topic not in self.collectors:
            self.collectors[topic] = Recorder()
            self.bus.subscribe(Topics.dead_letter(topic), f"{subscription}-dead-letters", self.collectors[topic])
        self.bus.subscribe(topic, subscription, handler, max_delivery_attempts)

    def dead_lettered(self, topic: str) -> list[tuple[bytes, dict[str, str]]]:
        return [(d.data, d.attributes) for d in self.collectors[topic].deliveries]


@dataclass(frozen=True)
class PushSpec:
    name: str
    topic: str
    push_path: str
    max_delivery_attempts: int
    ack_deadline_s: int = 10
    min_backoff_s: int | None = None  # no retry policy: the emulator redelivers every ~1 s instead of 1 s, 3 s, 3 s...
    max_backoff_s: int | None = None

    @property
    def dead_letter_topic(self) -> str:
        return Topics.dead_letter(self.topic)


class PubSubPushHarness:
    """Push subscriptions on the emulator delivering to an HTTP endpoint in this process."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.bus: EventBus = PubSubBus(project)
        self.views: dict[str, Callable[[], Any]] = {}
        self.attempts = AttemptCounter()
        self.dead_letter_subscriptions: dict[str, str] = {}
        app = Flask("bus-contract-push")
        app.add_url_rule("/push/<name>", view_func=lambda name: self.views[name](), methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def subscribe(self, topic: str, subscription: str, handler: Handler, max_delivery_attempts: int = 5) -> None:
        spec = PushSpec(subscription, topic, f"/push/{subscription}", max_delivery_attempts)
        self.views[subscription] = push_view("bus-contract", spec, lambda: handler, self.attempts)
        provision(self.project, [spec], lambda s: self.base_url + s.push_path)
        self.dead_letter_subscriptions[topic] = dead_letter_subscription(spec.dead_letter_topic)

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        return self.bus.publish(topic, data, attributes)

    def dead_lettered(self, topic: str) -> list[tuple[bytes, dict[str, str]]]:
        from google.cloud.pubsub_v1 import SubscriberClient

        subscriber = SubscriberClient()
        path = subscriber.subscription_path(self.project, self.dead_letter_subscriptions[topic])
        try:
            response = subscriber.pull(subscription=path, max_messages=10, timeout=1)
        except DeadlineExceeded:
            return []
        found = [(m.message.data, dict(m.message.attributes)) for m in response.received_messages]
        if response.received_messages:
            subscriber.acknowledge(subscription=path, ack_ids=[m.ack_id for m in response.received_messages])
        subscriber.close()
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        assert isinstance(self.bus, PubSubBus)
        self.bus.close()


@pytest.fixture(params=["embedded", pytest.param("pubsub", marks=pytest.mark.emulators)])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "embedded":
        embedded = EmbeddedHarness()
        yield embedded
        assert isinstance(embedded.bus, EmbeddedBus)
        embedded.bus.close()
    else:
        emulators = request.getfixturevalue("emulators")
        pushing = PubSubPushHarness(emulators.project)
        yield pushing
        pushing.close()


def fresh(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def wait_for(condition: Callable[[], Any], timeout: float = TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


class Recorder:
    """A handler that records deliveries and fails the first ``failures`` of them."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()

    def __call__(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
            count = len(self.deliveries)
        if count <= self.failures:
            raise RuntimeError(f"failure {count}")


def test_delivers_data_attributes_and_message_id(harness: Harness) -> None:
    topic, recorder = fresh("topic"), Recorder()
    harness.subscribe(topic, fresh("sub"), recorder)
    message_id = harness.publish(topic, b'{"experiment_id": "e1"}', {"type": "SubmitExperiment"})
    wait_for(lambda: recorder.deliveries)
    delivery = recorder.deliveries[0]
    assert delivery.data == b'{"experiment_id": "e1"}'
    assert delivery.attributes["type"] == "SubmitExperiment"
    assert delivery.message_id == message_id
    assert delivery.delivery_attempt == 1


def test_every_subscription_of_a_topic_gets_the_message(harness: Harness) -> None:
    topic, first, second = fresh("topic"), Recorder(), Recorder()
    harness.subscribe(topic, fresh("first"), first)
    harness.subscribe(topic, fresh("second"), second)
    harness.publish(topic, b"fan-out")
    wait_for(lambda: first.deliveries and second.deliveries)
    assert first.deliveries[0].data == second.deliveries[0].data == b"fan-out"


def test_redelivers_after_a_handler_error(harness: Harness) -> None:
    topic, recorder = fresh("topic"), Recorder(failures=1)
    harness.subscribe(topic, fresh("sub"), recorder)
    message_id = harness.publish(topic, b"retry me")
    wait_for(lambda: len(recorder.deliveries) >= 2)
    first, second = recorder.deliveries[:2]
    assert first.message_id == second.message_id == message_id
    assert (first.delivery_attempt, second.delivery_attempt) == (1, 2)
    time.sleep(1.2)
    assert len(recorder.deliveries) == 2, "an acknowledged message was delivered again"
    assert harness.dead_lettered(topic) == []


def test_dead_letters_after_max_delivery_attempts(harness: Harness) -> None:
    topic, recorder = fresh("topic"), Recorder(failures=1000)
    harness.subscribe(topic, fresh("sub"), recorder, max_delivery_attempts=5)
    harness.publish(topic, b"poison", {"type": "SubmitExperiment"})
    dead = wait_for(lambda: harness.dead_lettered(topic))
    assert [data for data, _ in dead] == [b"poison"]
    attributes = dead[0][1]
    assert attributes["type"] == "SubmitExperiment"
    assert attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"
    assert len(recorder.deliveries) == 5
    assert [d.delivery_attempt for d in recorder.deliveries] == [1, 2, 3, 4, 5]


def test_duplicate_delivery_is_harmless_for_an_idempotent_handler(harness: Harness) -> None:
    """A handler that did its work but failed before acknowledging gets the message again;
    the stable message id lets it skip the work the second time."""
    topic = fresh("topic")
    effects: list[bytes] = []
    seen: set[str] = set()
    calls: list[int] = []

    def crash_after_work_once(delivery: Delivery) -> None:
        calls.append(delivery.delivery_attempt)
        if delivery.message_id not in seen:
            seen.add(delivery.message_id)
            effects.append(delivery.data)
        if len(calls) == 1:
            raise ConnectionError("lost the connection before acknowledging")

    harness.subscribe(topic, fresh("sub"), crash_after_work_once)
    harness.publish(topic, b"once")
    harness.publish(topic, b"twice")
    wait_for(lambda: len(calls) >= 3)
    time.sleep(0.5)
    assert sorted(effects) == [b"once", b"twice"]
    assert len(calls) == 3


def test_publish_never_waits_for_handlers(harness: Harness) -> None:
    topic, started = fresh("topic"), threading.Event()
    release = threading.Event()

    def slow(delivery: Delivery) -> None:
        started.set()
        release.wait(10)

    harness.subscribe(topic, fresh("sub"), slow)
    harness.publish(topic, b"first")
    assert started.wait(TIMEOUT_S)
    t0 = time.monotonic()
    harness.publish(topic, b"second")
    assert time.monotonic() - t0 < 0.5
    release.set()


def test_embedded_dead_letter_topic_receives_the_poison_message() -> None:
    bus = EmbeddedBus(backoff_initial_s=0.001, backoff_max_s=0.01)
    dead = Recorder()
    bus.subscribe("submit", "submitter", Recorder(failures=1000), max_delivery_attempts=3)
    bus.subscribe(Topics.dead_letter("submit"), "submit-dead-letter-sub", dead)
    bus.publish("submit", b"poison", {"type": "SubmitExperiment"})
    bus.drain(timeout=10)
    assert [d.data for d in dead.deliveries] == [b"poison"]
    assert dead.deliveries[0].attributes == {
        "type": "SubmitExperiment",
        "CloudPubSubDeadLetterSourceSubscription": "submitter",
        "CloudPubSubDeadLetterSourceDeliveryCount": "3",
    }
    assert len(bus.dead_letters) == 1
    bus.close()


def test_embedded_drain_waits_for_chained_messages() -> None:
    bus = EmbeddedBus()
    received: list[bytes] = []

    def relay(delivery: Delivery) -> None:
        bus.publish("second", delivery.data + b"!")

    bus.subscribe("first", "relay", relay)
    bus.subscribe("second", "sink", lambda d: received.append(d.data))
    for i in range(20):
        bus.publish("first", str(i).encode())
    bus.drain(timeout=10)
    assert sorted(received) == sorted(f"{i}!".encode() for i in range(20))
    bus.close()


def test_embedded_close_delivers_pending_messages_then_refuses_publishing() -> None:
    bus = EmbeddedBus(workers=1)
    received: list[bytes] = []

    def slow(delivery: Delivery) -> None:
        time.sleep(0.01)
        received.append(delivery.data)

    bus.subscribe("t", "s", slow)
    for i in range(10):
        bus.publish("t", bytes([i]))
    bus.close()
    assert len(received) == 10
    with pytest.raises(Exception, match="closed"):
        bus.publish("t", b"late")
