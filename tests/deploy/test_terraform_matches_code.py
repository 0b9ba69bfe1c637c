"""Terraform declares exactly what the code refers to: topics, subscriptions, env vars, buckets, identities."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from deploy_model import (
    ENVIRONMENT,
    MODULES,
    REPO,
    blocks,
    command,
    dockerfile,
    environment_locals,
    environment_text,
    final_stage,
    parse,
    service_build,
    service_env,
    shell_words,
)
from experiments_platform.adapters.bigquery_warehouse import BigQueryWarehouse
from experiments_platform.adapters.cloud_build import STEP_ENV, CloudBuildService
from experiments_platform.adapters.vertex_pipelines import VertexPipelineService
from experiments_platform.config import ENV_PREFIX, VERTEX_CONCURRENT_RUNS, Settings, load_settings
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
    "local_run_memory_gib": "memory guard of the local runners' worker processes; Vertex AI runs each component on a "
    "machine of its own size",
    "warehouse_roots": "folders the DuckDB warehouse may read; BigQuery reads the tables "
    "PLATFORM_BIGQUERY_SOURCES names",
    "gateway_max_queued": "connections the local gateway's gunicorn worker queues before it sheds (decision 097); "
    "on Cloud Run the service's concurrency bounds what reaches an instance",
}
GOOGLE_ENDPOINTS = {
    "google_certs_url": "https://www.googleapis.com/",
    "iap_certs_url": "https://www.gstatic.com/iap/",
}
"""Settings whose defaults are Google's own endpoints, which the deployment uses as they are (tests point them
at certificates they serve themselves); Terraform leaves them unset."""
REGIONAL_GOOGLE_ENDPOINTS = {
    "vertex_metadata_endpoint": "unset: {PLATFORM_GCP_REGION}-aiplatform.googleapis.com (tests point it at a server "
    "replaying Vertex ML Metadata's answers)",
}
"""Settings left unset in a deployment so the code derives Google's regional endpoint from the region."""
PLACEHOLDER = {"gs": "gs://placeholder-bucket", "email": "sa@project.iam.gserviceaccount.com"}
CLOUD_RUN_MAX_REQUEST_BYTES = 32 * 1024 * 1024
"""Cloud Run refuses an HTTP/1 request above 32 MiB before the container sees it (cloud.google.com/run/quotas);
gunicorn speaks HTTP/1, so no request limit of a service may exceed it."""


def variable_defaults() -> dict[str, Any]:
    return {name: body.get("default") for block in blocks(ENVIRONMENT, "variable") for name, body in block.items()}


def placeholder_env(env: dict[str, str]) -> dict[str, str]:
    """Concrete values for Terraform expressions, keeping every literal value as declared and giving a
    variable (``var.x`` or ``tostring(var.x)``) its default."""
    concrete = {}
    defaults = variable_defaults()
    for name, value in env.items():
        variable = re.fullmatch(r"\$\{(?:tostring\()?var\.(\w+)\)?\}", value)
        if "${" not in value:
            concrete[name] = value
        elif variable and defaults.get(variable.group(1)) is not None:
            concrete[name] = str(defaults[variable.group(1)])
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


def fields_behind(member: Callable[..., Any], seen: set[str]) -> set[str]:
    """The fields a property or method of ``Settings`` reads, directly or through other properties and methods."""
    found: set[str] = set()
    for name in re.findall(r"self\.(\w+)", inspect.getsource(member)):
        inner = vars(Settings).get(name)
        if name in Settings.model_fields:
            found.add(name)
        elif name not in seen and (isinstance(inner, property) or inspect.isfunction(inner)):
            seen.add(name)
            found |= fields_behind(inner.fget if isinstance(inner, property) else inner, seen)
    return found


def settings_read_by_code() -> set[str]:
    """Fields the code reads, as ``settings.field`` or through a property such as ``resolved_max_concurrent_runs``."""
    source = "\n".join(path.read_text() for path in CODE)
    read = {name for name in Settings.model_fields if re.search(rf"\.{name}\b", source)}
    for name, member in vars(Settings).items():
        if isinstance(member, property) and re.search(rf"\.{name}\b", source):
            read |= fields_behind(member.fget, {name})
    return read


def image_settings(service: str) -> set[str]:
    """``PLATFORM_*`` variables a service's image sets itself (``ENV``), e.g. where the gateway's UI lies."""
    env = [i.arguments for i in final_stage(dockerfile(*service_build(service))) if i.keyword == "ENV"]
    return {word.split("=", 1)[0] for text in env for word in shell_words(text) if word.startswith(ENV_PREFIX)}


def test_every_setting_the_code_reads_is_declared_and_nothing_else_is() -> None:
    declared = {name for service in topology.SERVICES for name in set(service_env(service)) | image_settings(service)}
    declared |= {entry.split("=", 1)[0] for entry in STEP_ENV if entry.startswith(ENV_PREFIX)}
    read = settings_read_by_code() - set(LOCAL_ONLY_SETTINGS) - set(GOOGLE_ENDPOINTS) - set(REGIONAL_GOOGLE_ENDPOINTS)
    assert declared == {f"{ENV_PREFIX}{name.upper()}" for name in read}


def test_settings_left_unset_keep_googles_endpoints() -> None:
    for name, prefix in GOOGLE_ENDPOINTS.items():
        assert str(Settings.model_fields[name].default).startswith(prefix), name
    for name in REGIONAL_GOOGLE_ENDPOINTS:
        assert Settings.model_fields[name].default is None, name


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


# --- authentication, uploads and admission as deployed (issues 10 and 13, decisions 052, 053, 058) ---------------


def module_call(name: str) -> dict[str, Any]:
    [call] = [block[name] for block in blocks(ENVIRONMENT, "module") if name in block]
    return call  # type: ignore[no-any-return]


def environment_resource(rtype: str, name: str) -> dict[str, Any]:
    [body] = [named[name] for block in blocks(ENVIRONMENT, "resource") for t, named in block.items()
              if t == rtype and name in named]
    return body  # type: ignore[no-any-return]


def test_push_and_reconcile_tokens_are_verified_for_the_audience_and_accounts_their_senders_use() -> None:
    """Decision 053: a service verifies a push or reconcile token only when PLATFORM_OIDC_AUDIENCE is set, and
    refuses every token whose ``aud`` is not exactly that value: the subscriptions and the scheduler must mint
    their tokens for the very audience (and from the very account) the receiving service is told."""
    text = environment_text()
    pushed_to = {s.service for s in topology.SUBSCRIPTIONS}
    for service in topology.SERVICES:
        env = service_env(service)
        if service in pushed_to:
            assert env["PLATFORM_OIDC_AUDIENCE"] == f'${{local.run_url["{service}"]}}', service
            assert env["PLATFORM_PUSH_SERVICE_ACCOUNT"] == '${module.identities.emails["pubsub-push"]}', service
    assert "audience              = local.run_url[s.service]" in text, "push tokens' aud"
    assert module_call("pubsub")["push_service_account_email"] == '${module.identities.emails["pubsub-push"]}'
    reconcile = module_call("reconcile")
    watcher = service_env("status_watcher")
    assert reconcile["audience"] == watcher["PLATFORM_OIDC_AUDIENCE"]
    assert reconcile["service_account_email"] == watcher["PLATFORM_SCHEDULER_SERVICE_ACCOUNT"]
    assert reconcile["service_account_email"] == '${module.identities.emails["reconcile-scheduler"]}'


def test_cloud_run_accepts_the_tokens_minted_for_its_deterministic_url() -> None:
    """The audience above is https://NAME-PROJECT_NUMBER.REGION.run.app (known before the service exists, so a
    service's own env can name it); Cloud Run IAM takes it as a custom audience of the service."""
    services = module_call("services")
    assert services["custom_audiences"] == ["${local.run_url[each.key]}"]
    run = {rtype: named for block in parse(MODULES / "cloud_run_service" / "main.tf")["resource"]
           for rtype, named in block.items()}
    assert run["google_cloud_run_v2_service"]["service"]["custom_audiences"] == "${var.custom_audiences}"
    assert environment_locals()["run_url"].startswith(
        '${{for service in keys(local.service_account_of) : service => "https://${replace(service, "_", "-")}-'
        '${data.google_project.this.number}.${var.region}.run.app"}}')


def test_the_gateway_verifies_iap_assertions_for_its_own_cloud_run_service() -> None:
    """IAP enabled on a Cloud Run service signs x-goog-iap-jwt-assertion with aud
    /projects/PROJECT_NUMBER/locations/REGION/services/SERVICE_NAME (not a load balancer's backendServices id)."""
    iap_services = [s for s, spec in environment_locals()["services"].items() if spec["iap"]]
    assert iap_services == ["api_gateway"]
    assert service_env("api_gateway")["PLATFORM_IAP_AUDIENCE"] == "${local.iap_audience}"
    assert environment_locals()["iap_audience"] == (
        "/projects/${data.google_project.this.number}/locations/${var.region}"
        '/services/${replace("api_gateway", "_", "-")}')
    assert 'name                  = replace(each.key, "_", "-")' in environment_text()
    for service in set(topology.SERVICES) - set(iap_services):
        assert "PLATFORM_IAP_AUDIENCE" not in service_env(service), service


def test_uploads_land_under_the_data_buckets_prefix_and_load_into_the_uploads_dataset() -> None:
    env = service_env("api_gateway")
    local = environment_locals()
    assert env["PLATFORM_UPLOADS_URI"] == 'gs://${module.storage.names["data"]}/${local.uploads_prefix}'
    dataset = environment_resource("google_bigquery_dataset", "uploads")
    # a load job reads gs:// files only from a bucket in the dataset's location
    assert dataset["location"] == "${var.region}" and module_call("storage")["location"] == "${var.region}"
    uploads_dataset = "${var.project_id}.${google_bigquery_dataset.uploads.dataset_id}"
    for service in topology.SERVICES:  # every warehouse of the deployment reads the uploaded tables
        assert service_env(service)["PLATFORM_BIGQUERY_UPLOADS_DATASET"] == uploads_dataset, service
    assert int(env["PLATFORM_UPLOAD_MAX_BYTES"]) < CLOUD_RUN_MAX_REQUEST_BYTES
    assert int(env["PLATFORM_API_MAX_BODY_BYTES"]) < CLOUD_RUN_MAX_REQUEST_BYTES
    assert local["uploads_prefix"] == "uploads"
    job_wait = inspect.signature(BigQueryWarehouse).parameters["timeout_s"].default
    assert local["services"]["api_gateway"]["timeout_s"] >= job_wait, "Cloud Run would cut an upload's load job"


def test_the_gateway_may_write_the_uploads_prefix_and_load_and_query_tables() -> None:
    grant = environment_resource("google_storage_bucket_iam_member", "gateway_writes_uploads")
    assert grant["bucket"] == '${module.storage.names["data"]}'
    assert grant["member"] == '${module.identities.members["api-gateway"]}'
    # create the object, read it (BigQuery's load job reads it as the gateway), delete it when the load fails
    assert grant["role"] == "roles/storage.objectUser"
    [condition] = grant["condition"]
    assert condition["expression"].replace('\\"', '"') == (
        'resource.name.startsWith("projects/_/buckets/${module.storage.names["data"]}'
        '/objects/${local.uploads_prefix}/")')
    editor = environment_resource("google_bigquery_dataset_iam_member", "gateway_loads_uploads")
    assert editor["dataset_id"] == "${google_bigquery_dataset.uploads.dataset_id}"
    assert editor["role"] == "roles/bigquery.dataEditor"
    assert editor["member"] == '${module.identities.members["api-gateway"]}'
    roles = environment_locals()["accounts"]["api-gateway"]["project_roles"]
    # jobUser: load jobs, and the launch check's count queries; dataViewer: those queries read the sources
    assert {"roles/bigquery.jobUser", "roles/bigquery.dataViewer"} <= set(roles)


def test_admission_is_one_limit_for_every_service_and_a_variable() -> None:
    """The gateway queues, the submitter admits, the status watcher admits the next: one
    PLATFORM_MAX_CONCURRENT_RUNS."""
    for service in topology.SERVICES:
        assert service_env(service)["PLATFORM_MAX_CONCURRENT_RUNS"] == "${tostring(var.max_concurrent_runs)}", service
    defaults = variable_defaults()
    assert defaults["max_concurrent_runs"] == VERTEX_CONCURRENT_RUNS
    for variable in ("max_queued_runs", "preflight_min_interactions", "preflight_min_buyers"):
        assert defaults[variable] == Settings.model_fields[variable].default, variable
        assert service_env("api_gateway")[f"{ENV_PREFIX}{variable.upper()}"] == f"${{tostring(var.{variable})}}"


def test_each_gateway_worker_takes_as_many_requests_as_it_has_threads() -> None:
    """Decision 058: beyond PLATFORM_GATEWAY_MAX_IN_FLIGHT a worker answers 503 at once; Cloud Run's concurrency
    (workers x threads) already bounds an instance, so the limit per worker is its threads."""
    argv = command(*service_build("api_gateway"))
    threads = int(argv[argv.index("--threads") + 1])
    assert int(service_env("api_gateway")["PLATFORM_GATEWAY_MAX_IN_FLIGHT"]) == threads


@pytest.mark.parametrize("service", topology.SERVICES)
def test_each_service_built_from_its_terraform_env_refuses_requests_without_a_token(
        service: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The settings above turn the checks on: no push, reconcile or gateway request gets past them without a
    token (401 before any cloud client is built), and no service logs that authentication is off."""
    from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
    from experiments_platform.bootstrap import Platform
    from experiments_platform.web.app import create_app

    settings = load_settings(placeholder_env(service_env(service)))
    platform = Platform(settings, documents=SqliteDocumentStore(tmp_path / "documents.sqlite"))
    try:
        with caplog.at_level("INFO"):
            client = create_app(service, platform).test_client()
        assert not [r for r in caplog.records if "authentication off" in r.getMessage()]
        guarded = [("POST", s.push_path) for s in topology.SUBSCRIPTIONS if s.service == service]
        if service == "status_watcher":
            guarded.append(("POST", topology.RECONCILE_PATH))
        if service == "api_gateway":
            guarded += [("GET", "/api/experiments"), ("GET", "/")]
        for method, path in guarded:
            answer = client.open(path, method=method, json={})
            assert answer.status_code == 401, (path, answer.get_data(as_text=True))
        assert client.get("/healthz").status_code == 200
    finally:
        platform.close()
