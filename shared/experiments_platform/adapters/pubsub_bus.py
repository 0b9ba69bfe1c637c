"""Pub/Sub adapter of ``ports.bus.EventBus`` (publisher side; PUBSUB_EMULATOR_HOST selects the emulator).

Delivery to the services is by push subscriptions (see ``pubsub_push``), as on Cloud Run, so this
adapter only publishes. ``publish`` returns once Pub/Sub has accepted the message.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING

from google.api_core import exceptions as gexc

from experiments_platform.config import Settings
from experiments_platform.errors import ConfigurationError, InvalidInput, TransientError

if TYPE_CHECKING:
    from google.cloud.pubsub_v1 import PublisherClient

PUBLISH_TIMEOUT_S = 30.0


class PubSubBus:
    """Publishes to ``projects/{project}/topics/{topic}``. The client is built on first use."""

    def __init__(self, project: str, publisher: PublisherClient | None = None,
                 timeout_s: float = PUBLISH_TIMEOUT_S) -> None:
        if not project:
            raise ConfigurationError("PLATFORM_GCP_PROJECT is required by PLATFORM_EVENT_BUS=pubsub")
        self.project = project
        self.timeout_s = timeout_s
        self._publisher = publisher

    @classmethod
    def from_settings(cls, settings: Settings) -> PubSubBus:
        return cls(project=settings.gcp_project or "")

    @property
    def publisher(self) -> PublisherClient:
        if self._publisher is None:
            from google.cloud.pubsub_v1 import PublisherClient

            self._publisher = PublisherClient()
        return self._publisher

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        if not isinstance(data, bytes):
            raise InvalidInput(f"message data must be bytes, got {type(data).__name__}", field="data")
        bad = [k for k, v in (attributes or {}).items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise InvalidInput(f"message attributes must map strings to strings; bad keys {bad}", field="attributes")
        path = self.topic_path(topic)
        try:
            future = self.publisher.publish(path, data, **(attributes or {}))
            return str(future.result(timeout=self.timeout_s))
        except gexc.NotFound:
            raise ConfigurationError(
                f"Pub/Sub topic {path} does not exist; provision it (pubsub_push.provision locally, Terraform on GCP)"
            ) from None
        except (gexc.GoogleAPICallError, concurrent.futures.TimeoutError) as exc:
            raise TransientError(f"publishing to {path} failed: {exc}") from exc

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.stop()
            self._publisher = None
