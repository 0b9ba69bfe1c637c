"""Terraform for issue 13's Eventarc triggers, reconcile's minute poll and the child jobs' cancel.

Read as data (no provider is reachable here); each test names the Google behaviour it needs.
"""

from __future__ import annotations

from typing import Any

from deploy_model import ENVIRONMENT, MODULES, environment_locals, parse
from experiments_platform.events import data_events


def resources(folder: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((MODULES / folder).glob("*.tf")):
        for block in parse(path).get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    found[f"{rtype}.{name}"] = body
    return found


def module_call(name: str) -> dict[str, Any]:
    for path in sorted(ENVIRONMENT.glob("*.tf")):
        for block in parse(path).get("module", []):
            if name in block:
                return dict(block[name])
    raise AssertionError(f"module {name} is not called")


def criteria(trigger: dict[str, Any]) -> dict[str, str]:
    return {c["attribute"]: c["value"] for c in trigger["matching_criteria"]}


def test_an_object_finalized_in_the_data_bucket_reaches_the_submitters_route() -> None:
    triggers = resources("data_events")
    finalized = triggers["google_eventarc_trigger.object_finalized"]
    assert criteria(finalized) == {"type": data_events.STORAGE_FINALIZED, "bucket": "${var.data_bucket}"}
    [destination] = finalized["destination"]
    [run] = destination["cloud_run_service"]
    assert run["path"] == "${var.path}"
    variables = {name: body for block in parse(MODULES / "data_events" / "variables.tf")["variable"]
                 for name, body in block.items()}
    assert variables["path"]["default"] == data_events.DATA_EVENTS_PATH
    assert finalized["location"] == "${var.bucket_location}", "a Cloud Storage trigger lives in its bucket's location"
    call = module_call("data_events")
    assert call["service_name"] == f'${{module.services["{data_events.DATA_EVENTS_SERVICE}"].name}}'
    assert call["data_bucket"] == '${module.storage.names["data"]}'
    assert "data" in environment_locals()["buckets"]


def test_bigquery_table_changes_arrive_as_audit_log_events() -> None:
    audit = resources("data_events")["google_eventarc_trigger.bigquery_table_changed"]
    assert criteria(audit) == {"type": data_events.AUDIT_LOG_WRITTEN, "serviceName": "bigquery.googleapis.com",
                               "methodName": "google.cloud.bigquery.v2.JobService.InsertJob"}


def test_the_triggers_may_deliver_and_invoke_the_submitter() -> None:
    """Direct Cloud Storage events are published by the Cloud Storage service agent (pubsub.publisher);
    the trigger's identity needs eventarc.eventReceiver and run.invoker on the internal-only submitter."""
    grants = resources("data_events")
    assert grants["google_project_iam_member.gcs_publishes"]["role"] == "roles/pubsub.publisher"
    assert "gcs" in grants["google_project_iam_member.gcs_publishes"]["member"]
    assert grants["google_project_iam_member.trigger_receives"]["role"] == "roles/eventarc.eventReceiver"
    invokers = environment_locals()["invokers"]["submitter"]
    assert '${module.identities.members["eventarc-trigger"]}' in invokers
    assert module_call("data_events")["trigger_service_account_email"] == \
        '${module.identities.emails["eventarc-trigger"]}'
    assert "eventarc.googleapis.com" in environment_locals()["apis"]


def test_the_submitter_verifies_the_triggers_tokens_for_its_own_url() -> None:
    """Eventarc invokes Cloud Run with an ID token of the trigger's identity whose audience is the service's
    URL; the route checks both in code (web.data_events, decision 053) against these two variables."""
    env = environment_locals()["services"]["submitter"]["env"]
    assert env["PLATFORM_EVENTARC_SERVICE_ACCOUNT"] == module_call("data_events")["trigger_service_account_email"]
    assert env["PLATFORM_OIDC_AUDIENCE"] == '${local.run_url["submitter"]}'


def test_reconcile_polls_every_minute() -> None:
    """Running experiments' jobs are polled on each sweep (issue 13 item 5): the sweep runs every minute."""
    assert module_call("reconcile")["schedule"] == "* * * * *"


def test_the_status_watcher_may_cancel_the_experiments_child_jobs() -> None:
    """Custom jobs: aiplatform.customJobs.list/cancel (aiplatform.user); Dataflow: dataflow.jobs.list/cancel."""
    roles = environment_locals()["accounts"]["status-watcher"]["project_roles"]
    assert {"roles/aiplatform.user", "roles/dataflow.developer"} <= set(roles)
