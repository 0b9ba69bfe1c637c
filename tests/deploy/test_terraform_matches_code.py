"""Terraform declares exactly what the code refers to: topics, subscriptions, env vars, buckets, identities."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from deploy_model import (
    MODULES,
    REPO,
    dockerfile,
    environment_locals,
    environment_text,
    final_stage,
    parse,
    service_build,
    service_env,
    shell_words,
)
from experiments_platform.adapters.cloud_build import STEP_ENV, CloudBuildService
from experiments_platform.adapters.vertex_pipelines import VertexPipelineService
from experiments_platform.config import ENV_PREFIX, Settings, load_settings
from experiments_platform.events import google_events, topology
from experiments_platform.events.messages import Topics

CODE = [
    path for root in (REPO / "shared" / "experiments_platform", REPO / "services") for path in root.rglob("*.py")
    if path.name != "config.py"
]
LOCAL_ONLY_SETTINGS = {
    "data_dir": "root of the embedded stores; every cloud service uses Firestore, GCS, BigQuery instead",
    "tfx_python": "python of the local build and pipeline runners; Cloud Build and Vertex AI run images",
    "pipeline_idle_workers": "spare workers of the local runners; Cloud Build and Vertex AI start their own machines",
}
PLACEHOLDER = {"gs": "gs://placeholder-bucket", "email": "sa@project.iam.gserviceaccount.com"}


def placeholder_env(env: dict[str, str]) -> dict[str, str]:
    """Concrete values for Terraform expressions, keeping every literal value as declared."""
    concrete = {}
    for name, value in env.items():
        if "${" not in value:
            concrete[name] = value
        elif value.startswith("gs://"):
            concrete[name] = PLACEHOLDER["gs"]
        elif "SERVICE_ACCOUNT" in name:
            concrete[name] = PLACEHOLDER["email"]
        elif name.endswith(("_URL", "_URI")):
            concrete[name] = "https://service-123.europe-west1.run.app"
        else:
            concrete[name] = "placeholder"
    return concrete


def test_topics_are_the_code_topics() -> None:
    assert sorted(environment_locals()["topics"]) == sorted(Topics.ALL)


def test_subscriptions_are_the_topology() -> None:
    declared = environment_locals()["subscriptions"]
    expected = {
        s.name: {
            "topic": s.topic,
            "service": s.service,
            "push_path": s.push_path,
            "ack_deadline_s": s.ack_deadline_s,
            "max_delivery_attempts": s.max_delivery_attempts,
            "min_backoff_s": s.min_backoff_s,
            "max_backoff_s": s.max_backoff_s,
        }
        for s in topology.SUBSCRIPTIONS
    }
    assert declared == expected


def test_dead_letter_topics_are_those_the_code_names() -> None:
    main = (MODULES / "pubsub" / "main.tf").read_text()
    assert 'name     = "${each.key}-dead-letter"' in main
    assert Topics.dead_letter("x") == "x-dead-letter"
    assert {s.dead_letter_topic for s in topology.SUBSCRIPTIONS} == {
        f"{t}-dead-letter" for t in {s["topic"] for s in environment_locals()["subscriptions"].values()}
    }


def test_publishers_are_the_topology() -> None:
    declared = {topic: sorted(services) for topic, services in environment_locals()["publishers"].items()}
    expected: dict[str, list[str]] = {}
    for service, topics in topology.PUBLISHERS.items():
        for topic in topics:
            expected.setdefault(topic, []).append(service)
    assert declared == {topic: sorted(services) for topic, services in expected.items()}


def test_services_and_their_identities() -> None:
    local = environment_locals()
    assert set(local["services"]) == set(topology.SERVICES)
    identities = local["service_account_of"]
    assert set(identities) == set(topology.SERVICES)
    assert len(set(identities.values())) == len(identities), "each service needs its own service account"
    assert set(identities.values()) <= set(local["accounts"])


def test_the_reconcile_endpoint_is_the_code_path() -> None:
    assert environment_locals()["reconcile_path"] == topology.RECONCILE_PATH


@pytest.mark.parametrize("service", topology.SERVICES)
def test_each_service_env_is_valid_settings(service: str) -> None:
    env = service_env(service)
    fields = set(Settings.model_fields)
    for name in env:
        assert name.startswith(ENV_PREFIX), f"{service}: {name} is not a PLATFORM_* setting"
        assert name[len(ENV_PREFIX):].lower() in fields, f"{service}: {name} is no field of Settings"
    settings = load_settings(placeholder_env(env))
    assert settings.service == service
    assert settings.document_store == "firestore" and settings.event_bus == "pubsub"


@pytest.mark.parametrize("service", [s for s in topology.SERVICES if environment_locals()["services"][s]["builds"]])
def test_services_that_start_or_cancel_builds_have_what_the_adapters_need(service: str) -> None:
    settings = load_settings(placeholder_env(service_env(service)))
    CloudBuildService.from_settings(settings, client_factory=lambda: None)  # type: ignore[arg-type,return-value]
    VertexPipelineService.from_settings(settings, client_factory=lambda: None)  # type: ignore[arg-type,return-value]


def settings_read_by_code() -> set[str]:
    source = "\n".join(path.read_text() for path in CODE)
    return {name for name in Settings.model_fields if re.search(rf"\.{name}\b", source)}


def image_settings(service: str) -> set[str]:
    """``PLATFORM_*`` variables a service's image sets itself (``ENV``), e.g. where the gateway's UI lies."""
    env = [i.arguments for i in final_stage(dockerfile(*service_build(service))) if i.keyword == "ENV"]
    return {word.split("=", 1)[0] for text in env for word in shell_words(text) if word.startswith(ENV_PREFIX)}


def test_every_setting_the_code_reads_is_declared_and_nothing_else_is() -> None:
    declared = {name for service in topology.SERVICES for name in set(service_env(service)) | image_settings(service)}
    declared |= {entry.split("=", 1)[0] for entry in STEP_ENV if entry.startswith(ENV_PREFIX)}
    read = settings_read_by_code() - set(LOCAL_ONLY_SETTINGS)
    assert declared == {f"{ENV_PREFIX}{name.upper()}" for name in read}


def test_every_bucket_is_used_by_the_code_or_mlflow() -> None:
    text = environment_text()
    for bucket in environment_locals()["buckets"]:
        uses = re.findall(rf'module\.storage\.names\["{re.escape(bucket)}"\]', text)
        assert uses, f"bucket {bucket} is declared but nothing refers to it"
    env_values = " ".join(v for s in topology.SERVICES for v in service_env(s).values())
    for setting, bucket in (("PLATFORM_ARTIFACTS_URI", "artifacts"), ("PLATFORM_PIPELINE_ROOT", "pipeline-root"),
                            ("PLATFORM_STAGING_URI", "staging")):
        assert f'module.storage.names["{bucket}"]' in env_values, f"{setting} must name the {bucket} bucket"


def test_every_service_account_is_used() -> None:
    text = environment_text()
    run_as = set(environment_locals()["service_account_of"].values())
    for account in environment_locals()["accounts"]:
        referenced = re.search(rf'(emails|members)\["{re.escape(account)}"\]', text)
        assert referenced or account in run_as, f"service account {account} is declared but nothing uses it"


def test_push_subscriptions_authenticate_with_oidc_and_dead_letter() -> None:
    [push] = [
        body
        for block in parse(MODULES / "pubsub" / "main.tf")["resource"]
        for rtype, named in block.items()
        if rtype == "google_pubsub_subscription"
        for name, body in named.items()
        if name == "push"
    ]
    push_config = push["push_config"][0]
    assert push_config["oidc_token"][0]["service_account_email"] == "${var.push_service_account_email}"
    assert push["dead_letter_policy"][0]["max_delivery_attempts"] == "${each.value.max_delivery_attempts}"
    assert push["retry_policy"][0]["minimum_backoff"] == "${each.value.min_backoff_s}s"


def test_the_log_sink_routes_exactly_the_events_the_status_watcher_parses() -> None:
    main = (MODULES / "event_routing" / "main.tf").read_text()
    assert f'resource.type=\\"{google_events.PIPELINE_RESOURCE_TYPE}\\"' in main
    assert quote(google_events.PIPELINE_LOG_ID, safe="") in main
    assert "jsonPayload.state:*" in main
