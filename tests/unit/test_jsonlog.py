"""Structured JSON logs: severity, service, experiment id, stage and the trace field Cloud Logging reads."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from experiments_platform.jsonlog import (
    JsonFormatter,
    configure_logging,
    fields,
    get_logger,
    log_context,
    trace_from_header,
)


class Captured:
    def __init__(self, project: str | None) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter("status_watcher", project))
        self.logger = logging.getLogger(f"test.jsonlog.{id(self)}")
        self.logger.addHandler(self.handler)
        self.logger.setLevel(1)
        self.logger.propagate = False

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def captured() -> Iterator[Captured]:
    capture = Captured(project="demo-project")
    yield capture
    capture.logger.removeHandler(capture.handler)


def test_record_fields(captured: Captured) -> None:
    captured.logger.info("stage moved to %s", "running")
    [record] = captured.records()
    assert record["severity"] == "INFO"
    assert record["message"] == "stage moved to running"
    assert record["service"] == "status_watcher"
    assert record["logger"] == captured.logger.name
    assert record["time"].endswith("+00:00")


@pytest.mark.parametrize(("level", "severity"), [
    (logging.DEBUG, "DEBUG"), (logging.INFO, "INFO"), (logging.WARNING, "WARNING"),
    (logging.ERROR, "ERROR"), (logging.CRITICAL, "CRITICAL"), (5, "DEFAULT"),
])
def test_severity_names_cloud_logging_understands(captured: Captured, level: int, severity: str) -> None:
    captured.logger.log(level, "x")
    assert captured.records()[0]["severity"] == severity


def test_context_binds_experiment_and_stage_then_unbinds(captured: Captured) -> None:
    with log_context(experiment_id="e1", stage="train"):
        captured.logger.info("inside")
        with log_context(stage="compile", build_id=None):
            captured.logger.info("nested")
        captured.logger.info("back")
    captured.logger.info("outside")
    inside, nested, back, outside = captured.records()
    assert (inside["experiment_id"], inside["stage"]) == ("e1", "train")
    assert (nested["experiment_id"], nested["stage"]) == ("e1", "compile")
    assert "build_id" not in nested
    assert back["stage"] == "train"
    assert "experiment_id" not in outside and "stage" not in outside


def test_fields_of_one_record(captured: Captured) -> None:
    with log_context(experiment_id="e1"):
        captured.logger.warning("redelivery", extra=fields(delivery_attempt=3, experiment_id="e2"))
    [record] = captured.records()
    assert record["delivery_attempt"] == 3
    assert record["experiment_id"] == "e2"


def test_trace_becomes_the_cloud_logging_trace_field(captured: Captured) -> None:
    trace = trace_from_header("105445aa7843bc8bf206b12000100000/1;o=1")
    assert trace == "105445aa7843bc8bf206b12000100000"
    with log_context(trace=trace):
        captured.logger.info("traced")
    [record] = captured.records()
    assert record["logging.googleapis.com/trace"] == "projects/demo-project/traces/105445aa7843bc8bf206b12000100000"
    assert "trace" not in record


def test_trace_without_a_project_stays_plain() -> None:
    capture = Captured(project=None)
    with log_context(trace="abc"):
        capture.logger.info("traced")
    assert capture.records()[0]["trace"] == "abc"
    assert trace_from_header(None) is None
    assert trace_from_header("") is None


def test_exceptions_are_logged_with_their_traceback(captured: Captured) -> None:
    try:
        raise ValueError("bad message")
    except ValueError:
        captured.logger.exception("handler failed")
    [record] = captured.records()
    assert record["severity"] == "ERROR"
    assert "ValueError: bad message" in record["exception"]


def test_values_that_are_not_json_are_stringified(captured: Captured) -> None:
    captured.logger.info("path", extra=fields(path=object.__new__(type("P", (), {"__str__": lambda s: "/var/x"}))))
    assert captured.records()[0]["path"] == "/var/x"


def test_configure_logging_writes_json_lines_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("submitter", project="demo-project")
        get_logger("experiments_platform.test").info("hello", extra=fields(experiment_id="e9"))
        line = capsys.readouterr().out.strip().splitlines()[-1]
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    record = json.loads(line)
    assert (record["service"], record["message"], record["experiment_id"]) == ("submitter", "hello", "e9")


def test_a_flask_requests_trace_is_on_its_logs_and_gone_after_it(captured: Captured) -> None:
    from experiments_platform.jsonlog import trace_requests
    from flask import Flask

    app = Flask("traced")
    trace_requests(app)

    @app.get("/work")
    def work() -> str:
        captured.logger.info("inside")
        return "ok"

    response = app.test_client().get("/work", headers={"X-Cloud-Trace-Context": "abc123/7;o=1"})
    assert response.status_code == 200
    captured.logger.info("after")
    inside, after = captured.records()
    assert inside["logging.googleapis.com/trace"] == "projects/demo-project/traces/abc123"
    assert "logging.googleapis.com/trace" not in after
