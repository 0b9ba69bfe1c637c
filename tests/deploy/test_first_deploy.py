"""What a first ``terraform apply`` on a fresh project and a first quick test on Vertex AI need (issue 13).

Each test reads the Terraform as data (no provider is reachable here) and names the Google
behaviour it guards against.
"""

from __future__ import annotations

import re
from typing import Any

from deploy_model import ENVIRONMENT, MODULES, command, environment_locals, environment_text, parse, service_build
from experiments_platform.events import google_events, topology

TASK_LOG_ID = "aiplatform.googleapis.com/pipeline_job_task_events"
"""Vertex AI writes task state changes to this log, job state changes to ``PIPELINE_LOG_ID``; both
with resource type aiplatform.googleapis.com/PipelineJob (Cloud Logging's index of platform logs:
docs.cloud.google.com/logging/docs/api/platform-logs, payloads PipelineJobLogEntry and
PipelineJobTaskLogEntry)."""


def module_resources(folder: str) -> dict[str, dict[str, Any]]:
    """``"type.name"`` → body for every resource of one module."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((MODULES / folder).glob("*.tf")):
        for block in parse(path).get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    found[f"{rtype}.{name}"] = body
    return found


def environment_modules() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(ENVIRONMENT.glob("*.tf")):
        for block in parse(path).get("module", []):
            found.update(block)
    return found


# --- 3: stage progress on Vertex AI -----------------------------------------------------------


def test_the_log_sink_routes_task_state_changes_too() -> None:
    """Task state changes (ExampleGen ... Trainer) are in pipeline_job_task_events, not pipeline_job_events."""
    main = (MODULES / "event_routing" / "main.tf").read_text()
    for log_id in (google_events.PIPELINE_LOG_ID, TASK_LOG_ID):
        encoded = log_id.replace("/", "%2F")
        assert f'logName=\\"projects/${{var.project_id}}/logs/{encoded}\\"' in main, log_id


# --- 7: the artifact reader reads pipeline jobs ----------------------------------------------------


def test_the_artifact_reader_may_read_pipeline_jobs() -> None:
    """The component-log view calls GetPipelineJob (adapters/cloud_logging): aiplatform.pipelineJobs.get."""
    roles = environment_locals()["accounts"]["artifact-reader"]["project_roles"]
    assert "roles/aiplatform.viewer" in roles



def test_the_gateway_may_read_a_runs_lineage_from_vertex_ml_metadata() -> None:
    """``GET /api/experiments/{id}/lineage`` runs in the gateway: for a gs:// run it calls Vertex ML Metadata's
    QueryContextLineageSubgraph (adapters/vertex_lineage), aiplatform.contexts.queryContextLineageSubgraph, in
    roles/aiplatform.viewer; without it the lineage view says only "403 permission denied"."""
    gateway = environment_locals()["service_account_of"]["api_gateway"]
    assert "roles/aiplatform.viewer" in environment_locals()["accounts"][gateway]["project_roles"]

def test_the_pipeline_may_create_beams_temporary_bigquery_dataset() -> None:
    """Beam's ReadFromBigQuery(query=...) runs the query into a temporary dataset it creates, on any
    runner: the pipeline account needs bigquery.datasets.create (roles/bigquery.user), not only jobs."""
    roles = environment_locals()["accounts"]["pipeline-runner"]["project_roles"]
    assert "roles/bigquery.user" in roles


def test_dataflow_has_a_private_subnetwork() -> None:
    """Organisation projects often have no default network and forbid external IPs (blocker 2)."""
    network = module_resources("network")
    subnetwork = network["google_compute_subnetwork.dataflow"]
    assert subnetwork["private_ip_google_access"] is True
    [rule] = network["google_compute_firewall.dataflow_workers"]["allow"]
    assert rule["ports"] == ["12345-12346"]
    assert "network" in environment_modules()
    assert "compute.googleapis.com" in environment_locals()["apis"]


# --- 8: first apply on a fresh project -----------------------------------------------------------


def test_no_grant_names_the_lazily_created_vertex_custom_code_agent() -> None:
    """service-N@gcp-sa-aiplatform-cc exists only after the project's first custom job: a grant to it
    fails the first apply. Images in the project's own registry need none (decision 080)."""
    for path in [*ENVIRONMENT.glob("*.tf"), *MODULES.rglob("*.tf")]:
        assert "gcp-sa-aiplatform-cc" not in path.read_text(), path


def test_the_pubsub_service_agent_is_created_before_it_is_granted() -> None:
    """Pub/Sub's service agent may not exist yet on a fresh project; the grants must wait for it."""
    pubsub = module_resources("pubsub")
    identity = pubsub["google_project_service_identity.pubsub"]
    assert identity["service"] == "pubsub.googleapis.com"
    text = (MODULES / "pubsub" / "main.tf").read_text()
    assert "gcp-sa-pubsub.iam.gserviceaccount.com" not in text, "name the agent through its identity resource"
    for grant in ("google_pubsub_topic_iam_member.agent_publishes_dead_letters",
                  "google_pubsub_subscription_iam_member.agent_acks_forwarded",
                  "google_service_account_iam_member.agent_mints_push_tokens"):
        assert pubsub[grant]["member"] == "${local.pubsub_agent}", grant
    assert re.search(r'pubsub_agent\s*=\s*"serviceAccount:\$\{google_project_service_identity\.pubsub\.email\}"', text)


def test_service_account_members_are_known_at_plan_time() -> None:
    """Invokers, readers and publishers are for_each keys: values known only after apply
    (a new account's email) make the first plan fail with 'Invalid for_each argument'."""
    outputs = (MODULES / "service_identities" / "outputs.tf").read_text()
    assert "account.email" not in outputs and "account.member" not in outputs
    assert "iam.gserviceaccount.com" in outputs
    assert "depends_on" in outputs, "the derived names must still wait for the accounts"


def test_mlflow_migrates_its_database_in_a_job_before_the_server_starts() -> None:
    """Two server workers racing mlflow's migrations under a 60 s probe fail the first boot."""
    mlflow = module_resources("mlflow")
    job = mlflow["google_cloud_run_v2_job.migrate"]
    assert job["run_execution_token"], "the apply waits for the migration execution to complete"
    [template] = job["template"]
    [task] = template["template"]
    [container] = task["containers"]
    assert "mlflow db upgrade" in " ".join(container["args"])
    [server] = [b["server"] for b in parse(MODULES / "mlflow" / "main.tf")["module"] if "server" in b]
    depends = " ".join(server["depends_on"])
    assert "google_cloud_run_v2_job.migrate" in depends
    assert "google_project_iam_member.server_connects_sql" in depends
    assert "google_project_iam_member.server_connects_sql" in " ".join(job["depends_on"])
    # Cloud Run caps failure_threshold x period_seconds of a startup probe at 240 s.
    budget = server["startup_probe_period_s"] * server["startup_probe_failure_threshold"]
    assert 120 <= budget <= 240


def test_mlflow_accepts_both_of_its_cloud_run_urls() -> None:
    """Cloud Run serves a service at https://NAME-PROJECT_NUMBER.REGION.run.app and at
    https://NAME-HASH-REGIONCODE.a.run.app; MLflow refuses Host headers it does not allow."""
    [server] = [b["server"] for b in parse(MODULES / "mlflow" / "main.tf")["module"] if "server" in b]
    hosts = server["env"]["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert "${local.service_host}" in hosts
    assert "${local.service_name}-*.a.run.app" in hosts


# --- 9: delivery and concurrency -----------------------------------------------------------------


def test_a_push_is_never_redelivered_while_its_request_may_still_run() -> None:
    """Pub/Sub redelivers a push not answered within the ack deadline; Cloud Run lets a request run
    up to its timeout. A timeout longer than the deadline means two deliveries processed at once."""
    services = environment_locals()["services"]
    for sub in topology.SUBSCRIPTIONS:
        assert services[sub.service]["timeout_s"] <= sub.ack_deadline_s, sub.name


def test_cloud_run_concurrency_is_what_gunicorn_serves() -> None:
    """More concurrent requests than workers x threads queue inside the instance instead of scaling out."""
    services = environment_locals()["services"]
    for service in topology.SERVICES:
        argv = command(*service_build(service))
        workers = int(argv[argv.index("--workers") + 1])
        threads = int(argv[argv.index("--threads") + 1])
        assert services[service]["concurrency"] == workers * threads, service
    text = environment_text()
    assert "concurrency           = each.value.concurrency" in text


def test_push_tokens_are_minted_for_the_service_base_url() -> None:
    """The OIDC audience is the receiving service's URL, not the push endpoint with its path (the URL the
    service itself verifies: test_terraform_matches_code)."""
    pubsub = module_resources("pubsub")
    [push_config] = pubsub["google_pubsub_subscription.push"]["push_config"]
    assert push_config["oidc_token"][0]["audience"] == "${each.value.audience}"
    subscriptions = environment_modules()["pubsub"]["subscriptions"]
    assert "audience              = local.run_url[s.service]" in environment_text(), subscriptions
