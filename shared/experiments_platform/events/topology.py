"""Which service consumes which topic: subscription names, push paths and delivery policy.

Defined once here; the services mount their push routes from it, the local stack provisions
embedded and emulator subscriptions from it, and the deploy tests cross-check Terraform's
``google_pubsub_subscription`` resources against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from experiments_platform.events.messages import Topics

SERVICES: tuple[str, ...] = ("api_gateway", "submitter", "status_watcher", "artifact_reader", "tfdv_parser")

RECONCILE_PATH = "/tasks/reconcile"
"""Status watcher endpoint called by Cloud Scheduler (and the local sweep) to repair lost events."""


@dataclass(frozen=True)
class Subscription:
    name: str
    topic: str
    service: str
    push_path: str
    max_delivery_attempts: int = 5
    ack_deadline_s: int = 60
    min_backoff_s: int = 1
    max_backoff_s: int = 60

    @property
    def dead_letter_topic(self) -> str:
        return Topics.dead_letter(self.topic)


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("submitter-experiment-submit", Topics.SUBMIT, "submitter", "/pubsub/experiment-submit",
                 ack_deadline_s=120),
    Subscription("status-watcher-cloud-builds", Topics.BUILDS, "status_watcher", "/pubsub/cloud-builds"),
    Subscription("status-watcher-pipeline-state", Topics.PIPELINE_STATE, "status_watcher", "/pubsub/pipeline-state"),
    Subscription("status-watcher-experiment-cancel", Topics.CANCEL, "status_watcher", "/pubsub/experiment-cancel"),
)

PUBLISHERS: dict[str, tuple[str, ...]] = {
    "api_gateway": (Topics.SUBMIT, Topics.CANCEL),
    "submitter": (),
    "status_watcher": (Topics.SUBMIT,),  # reconcile re-submits a pending experiment whose command was lost
    "artifact_reader": (),
    "tfdv_parser": (),
}
"""Topics each service publishes to (Cloud Build and the log sink publish the other two)."""


def subscriptions_of(service: str) -> tuple[Subscription, ...]:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; expected one of {SERVICES}")
    return tuple(s for s in SUBSCRIPTIONS if s.service == service)


def subscription(name: str) -> Subscription:
    for sub in SUBSCRIPTIONS:
        if sub.name == name:
            return sub
    raise KeyError(f"unknown subscription {name!r}; expected one of {[s.name for s in SUBSCRIPTIONS]}")
