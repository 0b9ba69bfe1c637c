"""Request limits of every service (issue 10 section 3, decision 051): 413 above the body limits,
400 for JSON nested too deeply, never a 500 or an HTML page; 405 with ``Allow``."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from experiments_platform.bootstrap import Platform
from experiments_platform.config import MiB
from experiments_platform.web.app import MAX_JSON_DEPTH, PUSH_MAX_BODY_BYTES, create_app
from flask.testing import FlaskClient

from .conftest import model_payload


def json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    return response.json  # type: ignore[no-any-return]


def padded(size: int) -> bytes:
    """A JSON model config of ``size`` bytes (a long description)."""
    body = json.dumps(model_payload(description=""))
    return body.replace('"description": ""', '"description": "' + "x" * (size - len(body)) + '"').encode()


def test_api_bodies_above_the_setting_are_refused_with_413(client: FlaskClient) -> None:
    limit = 1 * MiB
    assert len(padded(limit)) == limit
    assert client.post("/api/model-configs", data=padded(limit), content_type="application/json").status_code == 400
    body = json_error(client.post("/api/model-configs", data=padded(limit + 1), content_type="application/json"), 413)
    assert body["error_code"] == "REQUEST_ENTITY_TOO_LARGE"
    assert f"at most {limit} bytes" in body["message"]


def test_a_body_without_content_length_is_cut_at_the_limit(client: FlaskClient) -> None:
    response = client.post("/api/model-configs", input_stream=io.BytesIO(padded(2 * MiB)),
                           content_type="application/json", headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert json_error(response, 413)["error_code"] == "REQUEST_ENTITY_TOO_LARGE"


def test_the_limit_is_a_setting(platform: Platform) -> None:
    small = Platform(platform.settings.model_copy(update={"api_max_body_bytes": 2048}),
                     documents=platform.documents, bus=platform.bus, warehouse=platform.warehouse)
    client = create_app("api_gateway", small, test_config={"TESTING": True}).test_client()
    assert client.post("/api/model-configs", data=padded(2049), content_type="application/json").status_code == 413


@pytest.mark.parametrize("service", ["submitter", "status_watcher"])
def test_push_bodies_larger_than_any_pubsub_message_are_refused_with_413(platform: Platform, service: str) -> None:
    client = create_app(service, platform, test_config={"TESTING": True}).test_client()
    path = "/pubsub/experiment-submit" if service == "submitter" else "/pubsub/cloud-builds"
    assert PUSH_MAX_BODY_BYTES > 10_000_000 * 4 // 3, "a 10 MB message, base64-encoded, must still fit"
    body = json_error(client.post(path, data=b"{" + b" " * PUSH_MAX_BODY_BYTES + b"}",
                                  content_type="application/json"), 413)
    assert body["error_code"] == "REQUEST_ENTITY_TOO_LARGE"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_a_400_naming_the_body(client: FlaskClient, depth: int) -> None:
    for path in ("/api/model-configs", "/api/experiments", "/api/experiments/compare", "/api/datasets"):
        body = json_error(client.post(path, data=nested(depth), content_type="application/json"), 400)
        assert body["field"] == "body" and "nests" in body["message"]


def test_nesting_within_the_bound_is_read(client: FlaskClient) -> None:
    body = json_error(client.post("/api/model-configs", data=nested(MAX_JSON_DEPTH),
                                  content_type="application/json"), 400)
    assert "nests" not in body["message"]


@pytest.mark.parametrize("service", ["submitter", "status_watcher"])
def test_deeply_nested_push_bodies_never_answer_500(platform: Platform, service: str) -> None:
    client = create_app(service, platform, test_config={"TESTING": True}).test_client()
    path = "/pubsub/experiment-submit" if service == "submitter" else "/pubsub/cloud-builds"
    response = client.post(path, data=nested(100_000), content_type="application/json")
    assert response.status_code < 500 and response.mimetype == "application/json"


def test_a_method_a_route_lacks_is_405_with_allow(client: FlaskClient) -> None:
    response = client.open("/api/metrics", method="TRACE")
    json_error(response, 405)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    for method in ("GET", "PUT", "DELETE"):
        response = client.open("/api/experiments/compare", method=method)
        json_error(response, 405)
        assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}


def test_options_lists_only_the_methods_of_the_route(client: FlaskClient) -> None:
    for path, methods in (("/api/experiments/compare", {"OPTIONS", "POST"}),
                          ("/api/experiments/estimate", {"OPTIONS", "POST"}),
                          ("/api/experiments", {"GET", "HEAD", "OPTIONS", "POST"})):
        response = client.options(path)
        assert response.status_code == 200
        assert set(response.headers["Allow"].split(", ")) == methods, path
