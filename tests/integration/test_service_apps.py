"""One app shape (``web.app.create_app``) for the five services: health, the error mapping, argument errors,
one request-log line per request, and entry points that are only ``create_service_app(name)``."""

from __future__ import annotations

import ast
import base64
import importlib.util
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.events import topology
from experiments_platform.events.messages import SubmitExperiment
from experiments_platform.web.app import ROUTES, create_app
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
SECRET = "password=hunter2"


def load_main(service: str) -> Any:
    name = f"main_{service}_{uuid.uuid4().hex[:6]}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "services" / service / "main.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Broken:
    """A port whose every call fails the way a bug does, with a secret in the exception's text."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"{name} failed with {SECRET}")

        return fail


def submit_envelope() -> dict[str, Any]:
    data, attributes = SubmitExperiment(experiment_id="e1").encode()
    return {"message": {"data": base64.b64encode(data).decode(), "attributes": attributes, "messageId": "1"},
            "subscription": "projects/p/subscriptions/submitter-experiment-submit", "deliveryAttempt": 1}


# service → a request its routes answer by calling the broken ports
FAILING_REQUEST: dict[str, tuple[str, str, dict[str, Any]]] = {
    "api_gateway": ("GET", "/api/experiments", {}),
    "submitter": ("POST", "/pubsub/experiment-submit", {"json": submit_envelope()}),
    "status_watcher": ("POST", topology.RECONCILE_PATH, {}),
    "artifact_reader": ("GET", "/experiments/e1/artifacts", {}),
    "tfdv_parser": ("GET", "/statistics", {"query_string": {"uri": "file:///tmp/stats"}}),
}

# service → a request with a bad argument, and the field the answer must name
BAD_ARGUMENT: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "api_gateway": ("GET", "/api/experiments", {"query_string": {"page_size": "many"}}, "page_size"),
    "artifact_reader": ("GET", "/experiments/e1/logs/Trainer", {"query_string": {"lines": "0"}}, "lines"),
    "tfdv_parser": ("POST", "/schema", {"json": {"uri": ["gs://b/schema"]}}, "uri"),
}


def client(service: str, platform: Platform) -> FlaskClient:
    return create_app(service, platform, test_config={"TESTING": True}).test_client()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


def test_every_service_of_the_topology_has_its_routes_and_nothing_else() -> None:
    assert set(ROUTES) == set(topology.SERVICES)
    with pytest.raises(ValueError, match="unknown service 'gateway'; expected one of api_gateway"):
        create_app("gateway", Platform(Settings()))


@pytest.mark.parametrize("service", topology.SERVICES)
def test_each_entry_point_serves_healthz_and_is_only_the_factory(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path))
    answer = load_main(service).app.test_client().get("/healthz")
    assert answer.status_code == 200 and answer.get_json() == {"status": "ok", "service": service}
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    source = (ROOT / "services" / service / "main.py").read_text()
    calls = {node.func.id for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert "create_service_app" in calls and len(source.splitlines()) <= 20, f"{service}/main.py is not thin"


@pytest.mark.parametrize("service", topology.SERVICES)
def test_an_unexpected_failure_answers_json_500_and_logs_the_stack_only(
    service: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    platform = Platform(settings, documents=Broken(), blobs=Broken())
    method, path, options = FAILING_REQUEST[service]
    with caplog.at_level(logging.INFO):
        answer = client(service, platform).open(path, method=method, **options)
    assert answer.status_code == 500 and answer.is_json
    body = answer.get_json()
    assert body["error_code"] == "INTERNAL_ERROR" and f"the {service} service's logs" in body["message"]
    text = answer.get_data(as_text=True)
    assert SECRET not in text and "Traceback" not in text and "RuntimeError" not in text
    logged = [r for r in caplog.records if r.exc_info and SECRET in str(r.exc_info[1])]
    assert logged, "the stack of the failure is logged"


@pytest.mark.parametrize("service", topology.SERVICES)
def test_unknown_routes_and_methods_answer_json(service: str, settings: Settings) -> None:
    app = client(service, Platform(settings))
    missing = app.get("/no/such/route")
    assert missing.status_code == 404 and missing.get_json()["error_code"] == "NOT_FOUND"
    wrong = app.delete("/healthz")
    assert wrong.status_code == 405 and wrong.get_json()["error_code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("service", sorted(BAD_ARGUMENT))
def test_a_bad_argument_is_a_400_naming_the_field(service: str, settings: Settings, tmp_path: Path) -> None:
    documents = SqliteDocumentStore(tmp_path / "d.sqlite")
    method, path, options, field = BAD_ARGUMENT[service]
    answer = client(service, Platform(settings, documents=documents)).open(path, method=method, **options)
    documents.close()
    assert answer.status_code == 400, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["error_code"] == "INVALID_INPUT" and body["field"] == field and field in body["message"]


def test_a_body_that_is_no_json_is_named_the_body(settings: Settings) -> None:
    answer = client("tfdv_parser", Platform(settings)).post("/statistics", data="uri=gs://b/s",
                                                           content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400 and answer.get_json()["field"] == "body"
    assert '{"uri": "gs://bucket/path"}' in answer.get_json()["message"]


def test_one_log_line_per_request_at_debug_level(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    app = client("artifact_reader", Platform(settings))
    with caplog.at_level(logging.INFO, logger="experiments_platform.web.app"):
        app.get("/healthz")
    assert not [r for r in caplog.records if r.name == "experiments_platform.web.app"], "request lines are debug"
    with caplog.at_level(logging.DEBUG, logger="experiments_platform.web.app"):
        app.get("/healthz", headers={"X-Cloud-Trace-Context": "0af7651916cd43dd8448eb211c80319c/1;o=1"})
        app.get("/experiments/x/nothing")
    lines = [r for r in caplog.records if r.name == "experiments_platform.web.app"]
    assert [(r.getMessage(), r.fields["method"], r.fields["path"], r.fields["status"]) for r in lines] == [  # type: ignore[attr-defined]
        ("request", "GET", "/healthz", 200), ("request", "GET", "/experiments/x/nothing", 404)]
    assert all(isinstance(r.fields["latency_ms"], float) for r in lines)  # type: ignore[attr-defined]
