"""Event bus port (Pub/Sub; embedded bus locally)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Delivery:
    """One delivery of a message to a subscriber (a Pub/Sub push request, unwrapped)."""

    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)
    message_id: str = ""
    delivery_attempt: int = 1
    subscription: str = ""


Handler = Callable[[Delivery], None]
"""Returns normally to acknowledge; raises to have the message redelivered."""


class EventBus(Protocol):
    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        """Publish and return the message id once the bus has accepted it."""
        ...


class SubscribableBus(EventBus, Protocol):
    """A bus that delivers in-process (embedded bus, or a pull-based test harness)."""

    def subscribe(self, topic: str, subscription: str, handler: Handler, max_delivery_attempts: int = 5) -> None:
        """Deliver every message published on ``topic`` to ``handler`` at least once.

        A handler that raises gets the message again (with backoff); after
        ``max_delivery_attempts`` failures the message goes to the dead-letter list/topic.
        """
        ...
