"""Builders and parsers of the Google shapes, checked against the documented formats."""

from __future__ import annotations

import base64
import json

import pytest
from experiments_platform.domain.status import Stage
from experiments_platform.events import google_events as ge
from experiments_platform.events.messages import (
    BuildFinished,
    PipelineJobStateChanged,
    PipelineTaskStateChanged,
    SubmitExperiment,
)

JOB = "projects/demo/locations/europe-west1/pipelineJobs/qt-abc123-20250101120000"


def test_job_ids_are_vertex_valid_and_name_their_experiment():
    job_id = ge.new_pipeline_job_id("AbC_123")
    name = ge.pipeline_job_name("demo", "europe-west1", job_id)
    assert name.startswith("projects/demo/locations/europe-west1/pipelineJobs/qt-abc123-")
    assert ge.experiment_id_from_job(name) == "abc123"
    with pytest.raises(ValueError, match="must match"):
        ge.pipeline_job_name("demo", "eu", "Bad_Id")


def test_cloud_build_notification_has_the_documented_shape():
    build = ge.build_resource("b-1", "exp1", "SUCCESS", project="demo", pipeline_job_name=JOB)
    data, attributes = ge.build_notification(build)
    assert attributes == {"buildId": "b-1", "status": "SUCCESS"}
    body = json.loads(data)
    assert body["id"] == "b-1" and body["projectId"] == "demo" and body["status"] == "SUCCESS"
    assert body["substitutions"]["_EXPERIMENT_ID"] == "exp1" and "experiment-exp1" in body["tags"]
    assert "finishTime" in body and body["createTime"].endswith("Z")
    step_output = base64.b64decode(body["results"]["buildStepOutputs"][1])
    assert json.loads(step_output) == {"pipeline_job_name": JOB}


def test_cloud_build_notification_parses_to_build_finished():
    build = ge.build_resource("b-2", "exp1", "FAILURE", project="demo", status_detail="step 0 failed",
                              failure_detail="ModuleNotFoundError: tfx")
    message = ge.to_message(*ge.build_notification(build))
    assert message == BuildFinished(
        experiment_id="exp1", build_id="b-2", status="FAILURE", pipeline_job_name=None,
        log_excerpt="step 0 failed\nModuleNotFoundError: tfx",
    )


def test_build_of_something_else_is_ignored_and_numeric_status_is_understood():
    foreign = {"id": "b-3", "status": 3, "projectId": "demo", "tags": ["deploy"]}
    assert ge.to_message(json.dumps(foreign).encode(), {"buildId": "b-3", "status": "SUCCESS"}) is None
    ours = {**foreign, "substitutions": {"_EXPERIMENT_ID": "e9"}}
    parsed = ge.parse_build(ours)
    assert parsed is not None and parsed.status == "SUCCESS"


def test_build_job_name_may_be_plain_text_step_output():
    build = {"id": "b", "status": "SUCCESS", "tags": ["experiment-e1"],
             "results": {"buildStepOutputs": [base64.b64encode(JOB.encode()).decode()]}}
    parsed = ge.parse_build(build)
    assert parsed is not None and parsed.pipeline_job_name == JOB


def test_pipeline_job_log_entry_has_the_log_sink_shape():
    entry = ge.pipeline_job_log_entry(JOB, "PIPELINE_STATE_RUNNING", experiment_id="abc123")
    assert entry["logName"] == "projects/demo/logs/aiplatform.googleapis.com%2Fpipeline_job_events"
    assert entry["resource"] == {
        "type": "aiplatform.googleapis.com/PipelineJob",
        "labels": {"resource_container": "demo", "location": "europe-west1",
                   "pipeline_job_id": "qt-abc123-20250101120000"},
    }
    data, attributes = ge.log_sink_message(entry)
    assert attributes["logging.googleapis.com/timestamp"] == entry["timestamp"]
    assert ge.to_message(data, attributes) == PipelineJobStateChanged(
        experiment_id="abc123", job_name=JOB, state="PIPELINE_STATE_RUNNING", occurred_at=entry["timestamp"]
    )


def test_task_log_entry_parses_with_its_stage_and_error():
    entry = ge.pipeline_task_log_entry(JOB, "Trainer", "FAILED", error_message="ResourceExhausted: OOM")
    message = ge.to_message(*ge.log_sink_message(entry))
    assert message == PipelineTaskStateChanged(
        experiment_id="abc123", job_name=JOB, task_name="Trainer", stage=Stage.TRAIN, state="FAILED",
        error_message="ResourceExhausted: OOM", occurred_at=entry["timestamp"],
    )
    assert entry["severity"] == "ERROR"


def test_vertex_task_names_map_to_stages():
    assert ge.stage_of_task("statisticsgen") is Stage.STATS
    assert ge.stage_of_task("bigquery-example-gen") is Stage.EXAMPLES
    assert ge.stage_of_task("pusher") is Stage.PUSH and ge.stage_of_task("registrar") is Stage.PUSH
    assert ge.stage_of_task("infra-validator") is None


def test_typed_messages_pass_through():
    data, attributes = SubmitExperiment(experiment_id="e1").encode()
    assert ge.to_message(data, attributes) == SubmitExperiment(experiment_id="e1")


@pytest.mark.parametrize(
    ("data", "attributes", "problem"),
    [
        (b"not json", {}, "not JSON"),
        (b"[1, 2]", {}, "JSON list"),
        (b'{"hello": 1}', {}, "unrecognised"),
        (b'{"experiment_id": 3}', {"type": "SubmitExperiment"}, "malformed SubmitExperiment"),
        (b'{"id": "b", "status": "DONE"}', {"buildId": "b"}, "build status 'DONE'"),
        (json.dumps({"logName": "x", "jsonPayload": {"state": "RUNNING"}}).encode(), {}, "names no job"),
        (json.dumps({"logName": "x", "jsonPayload": {"state": "WEIRD", "pipelineJobName": JOB}}).encode(), {},
         "pipeline state 'WEIRD'"),
    ],
)
def test_malformed_events_are_named(data, attributes, problem):
    with pytest.raises(ge.MalformedEvent, match=problem):
        ge.to_message(data, attributes)


def test_other_log_entries_are_ignored():
    entry = {"logName": "projects/p/logs/other", "jsonPayload": {"message": "hello"}}
    assert ge.to_message(json.dumps(entry).encode(), {}) is None
