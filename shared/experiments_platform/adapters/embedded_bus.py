"""Embedded event bus: in-process, thread-based delivery with Pub/Sub's guarantees.

Delivery is at least once: every subscription of a topic gets each message on a worker thread;
a handler that raises gets the same message (same ``message_id``, next ``delivery_attempt``)
again after an exponential backoff, and after ``max_delivery_attempts`` failures the message is
recorded in ``dead_letters`` and published on the dead-letter topic (``Topics.dead_letter``)
with Pub/Sub's ``CloudPubSubDeadLetter*`` attributes. ``publish`` only enqueues: it never waits
for, or fails because of, a handler. Messages published to a topic without subscriptions are
dropped, as on Pub/Sub.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from experiments_platform.config import Settings
from experiments_platform.errors import InvalidInput
from experiments_platform.events.messages import Topics
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.bus import Delivery, Handler

log = get_logger(__name__)


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    subscription: str
    delivery: Delivery
    error: str


@dataclass
class _Subscription:
    topic: str
    name: str
    handler: Handler
    max_delivery_attempts: int


@dataclass(order=True)
class _Scheduled:
    due: float
    seq: int
    subscription: _Subscription = field(compare=False)
    delivery: Delivery = field(compare=False)


class EmbeddedBus:
    """``ports.bus.SubscribableBus`` in one process. Call ``close()`` (or ``drain()``) on shutdown."""

    def __init__(
        self,
        workers: int = 4,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if workers < 1:
            raise InvalidInput(f"workers must be >= 1, got {workers}", field="workers")
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._clock = clock
        self._subscriptions: dict[str, list[_Subscription]] = {}
        self._names: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embedded-bus")
        self._lock = threading.Condition()
        self._scheduled: list[_Scheduled] = []
        self._in_flight = 0
        self._seq = itertools.count()
        self._closed = False
        self.dead_letters: list[DeadLetter] = []
        self._timer = threading.Thread(target=self._run_timer, name="embedded-bus-timer", daemon=True)
        self._timer.start()

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedBus:
        return cls()

    def subscribe(self, topic: str, subscription: str, handler: Handler, max_delivery_attempts: int = 5) -> None:
        if max_delivery_attempts < 1:
            raise InvalidInput(f"max_delivery_attempts must be >= 1, got {max_delivery_attempts}",
                               field="max_delivery_attempts")
        with self._lock:
            if subscription in self._names:
                raise InvalidInput(f"subscription {subscription!r} already exists; use a unique name per consumer",
                                   field="subscription")
            self._names.add(subscription)
            self._subscriptions.setdefault(topic, []).append(
                _Subscription(topic, subscription, handler, max_delivery_attempts)
            )

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        if not isinstance(data, bytes):
            raise InvalidInput(f"message data must be bytes, got {type(data).__name__}", field="data")
        message_id = uuid.uuid4().hex
        with self._lock:
            if self._closed:
                raise InvalidInput("the embedded bus is closed; publish before close()")
            targets = list(self._subscriptions.get(topic, ()))
            for sub in targets:
                delivery = Delivery(data=data, attributes=dict(attributes or {}), message_id=message_id,
                                    delivery_attempt=1, subscription=sub.name)
                self._schedule(sub, delivery, delay_s=0.0)
        if not targets:
            log.debug("message dropped: no subscription", extra=fields(topic=topic, message_id=message_id))
        return message_id

    def _schedule(self, sub: _Subscription, delivery: Delivery, delay_s: float) -> None:
        heapq.heappush(self._scheduled, _Scheduled(self._clock() + delay_s, next(self._seq), sub, delivery))
        self._lock.notify_all()

    def _run_timer(self) -> None:
        with self._lock:
            while True:
                if self._closed and not self._scheduled:
                    return
                if not self._scheduled:
                    self._lock.wait()
                    continue
                wait_s = self._scheduled[0].due - self._clock()
                if wait_s > 0:
                    self._lock.wait(timeout=wait_s)
                    continue
                item = heapq.heappop(self._scheduled)
                self._in_flight += 1
                self._pool.submit(self._deliver, item.subscription, item.delivery)

    def _backoff_s(self, attempt: int) -> float:
        ceiling = min(self.backoff_max_s, self.backoff_initial_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311

    def _deliver(self, sub: _Subscription, delivery: Delivery) -> None:
        try:
            sub.handler(delivery)
        except Exception as exc:  # noqa: BLE001 - any handler failure means "redeliver"
            self._handle_failure(sub, delivery, exc)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._lock.notify_all()

    def _handle_failure(self, sub: _Subscription, delivery: Delivery, exc: Exception) -> None:
        context = fields(topic=sub.topic, subscription=sub.name, message_id=delivery.message_id,
                         delivery_attempt=delivery.delivery_attempt, error=repr(exc))
        if delivery.delivery_attempt < sub.max_delivery_attempts:
            log.warning("handler failed; message will be redelivered", extra=context)
            with self._lock:
                retry = replace(delivery, delivery_attempt=delivery.delivery_attempt + 1)
                self._schedule(sub, retry, self._backoff_s(delivery.delivery_attempt))
            return
        log.error("handler failed %d times; message dead-lettered", delivery.delivery_attempt, extra=context)
        with self._lock:
            self.dead_letters.append(DeadLetter(sub.topic, sub.name, delivery, repr(exc)))
            dead_letter_topic = Topics.dead_letter(sub.topic)
            attributes = {
                **delivery.attributes,
                "CloudPubSubDeadLetterSourceSubscription": sub.name,
                "CloudPubSubDeadLetterSourceDeliveryCount": str(delivery.delivery_attempt),
            }
            for dl_sub in self._subscriptions.get(dead_letter_topic, ()):
                dl_delivery = Delivery(data=delivery.data, attributes=attributes, message_id=uuid.uuid4().hex,
                                       delivery_attempt=1, subscription=dl_sub.name)
                self._schedule(dl_sub, dl_delivery, 0.0)

    def idle(self) -> bool:
        with self._lock:
            return not self._scheduled and self._in_flight == 0

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no delivery is queued, scheduled for retry or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._scheduled or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(timeout=min(remaining, 0.05))
            return True

    def drain(self, timeout: float = 30.0) -> None:
        """Deliver everything pending (including retries); raise ``TimeoutError`` if it takes longer."""
        if not self.wait_idle(timeout):
            with self._lock:
                pending = len(self._scheduled) + self._in_flight
            raise TimeoutError(f"embedded bus still has {pending} pending deliveries after {timeout:.1f} s")

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting messages, deliver what is pending (up to ``timeout``) and stop the threads."""
        drained = self.wait_idle(timeout)
        with self._lock:
            self._closed = True
            if not drained:
                log.warning("closing with %d undelivered messages", len(self._scheduled))
                self._scheduled.clear()
            self._lock.notify_all()
        self._timer.join(timeout=5)
        self._pool.shutdown(wait=True)
