"""What schemathesis found (issue 10 section 6), each as a plain reproduction: strict types, invalid
bodies accepted, undocumented answers, dates that were not ISO 8601."""

from __future__ import annotations

from typing import Any

import pytest
from experiments_platform.bootstrap import Platform
from experiments_platform.ports.documents import DOCUMENT_ID
from experiments_platform.repositories.experiments import ExperimentRepository
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from .conftest import finish, model_payload, results, start_payload
from .test_sweeps import _hits as write_hits
from .test_sweeps import sweep_payload


def refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.json["error_code"] == "INVALID_INPUT" and response.json["field"] == field, response.json


@pytest.mark.parametrize(("name", "value"), [("epochs", True), ("epochs", "3"), ("epochs", 3.5),
                                             ("learning_rate", "0.1"), ("sampling_bias_correction", 0),
                                             ("name", None), ("query_tower_layers", ["64"])])
def test_model_configs_take_no_coerced_values(client: FlaskClient, name: str, value: Any) -> None:
    refused(client.post("/api/model-configs", json=model_payload(**{name: value})), name.split(".")[0]
            if name != "query_tower_layers" else "query_tower_layers[0]")


def test_json_numbers_are_one_type(client: FlaskClient) -> None:
    """A float field takes 1, an integer field 3.0 (the same JSON number as 3, and an integer to JSON Schema)."""
    created = client.post("/api/model-configs", json=model_payload(learning_rate=1, epochs=3.0))
    assert created.status_code == 201, created.json
    assert created.json["epochs"] == 3 and created.json["learning_rate"] == 1.0


@pytest.mark.parametrize("body", [3, "copy", [], {"name": None}, {"name": 3}, {"name": "x" * 201}])
def test_duplicate_refuses_what_is_not_a_duplicate_request(client: FlaskClient, model_config: dict[str, Any],
                                                           body: Any) -> None:
    response = client.post(f"/api/model-configs/{model_config['id']}/duplicate", json=body)
    assert response.status_code == 400, response.json
    assert response.json["error_code"] == "INVALID_INPUT"


def test_duplicate_names_the_copy(client: FlaskClient, model_config: dict[str, Any]) -> None:
    url = f"/api/model-configs/{model_config['id']}/duplicate"
    assert client.post(url).json["name"] == "Standard (copy)"
    assert client.post(url, json={}).json["name"] == "Standard (copy)"
    assert client.post(url, json={"name": ""}).json["name"] == "Standard (copy)"
    assert client.post(url, json={"name": "Mine"}).json["name"] == "Mine"


def test_a_name_with_a_trailing_newline_is_not_an_identifier(client: FlaskClient,
                                                               dataset: dict[str, Any]) -> None:
    body = {"name": "f", "dataset_id": dataset["id"],
            "query_features": [{"column": "user_id\n", "kind": "id"}],
            "candidate_features": [{"column": "item_id", "kind": "id"}]}
    refused(client.post("/api/feature-configs", json=body), "query_features[0].column")


def test_query_integers_are_digits(client: FlaskClient) -> None:
    for raw in ("3_0", " 3", "٣"):
        refused(client.get("/api/experiments", query_string={"page": raw}), "page")
    assert client.get("/api/experiments", query_string={"page": "2"}).status_code == 200


def test_system_options_hold_no_http_dates(client: FlaskClient) -> None:
    defaults = client.get("/api/system/options").json["model_config"]
    assert not {"id", "created_at", "updated_at"} & set(defaults), "per-call values are no defaults"
    assert defaults["epochs"] == 3 and defaults["optimizer"] == "adagrad"


def answer_conforms(document: dict[str, Any], method: str, path: str, status: int, answer: Any) -> None:
    """``answer`` is valid against the served document's schema of that operation's ``status`` answer."""
    schema = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document["components"]})
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(answer)]
    assert errors == [], errors


def test_a_queued_experiment_is_served_as_the_document_says(client: FlaskClient, platform: Platform,
                                                             feature_config: dict[str, Any],
                                                             model_config: dict[str, Any]) -> None:
    started = client.post("/api/experiments", json=start_payload(feature_config, model_config))
    assert started.status_code == 202, started.json
    doc = platform.documents.get("experiments", started.json["id"])
    assert doc is not None
    ExperimentRepository(platform.documents).save({**doc, "status": "queued"})  # as admission leaves it
    document = client.get("/api/openapi.json").json
    served = client.get(f"/api/experiments/{doc['id']}").json
    assert (served["queue_position"], served["queue_length"]) == (1, 1)
    answer_conforms(document, "get", "/api/experiments/{experiment_id}", 200, served)
    listed = client.get("/api/experiments").json
    assert listed["items"][0]["queue_position"] == 1
    answer_conforms(document, "get", "/api/experiments", 200, listed)


def test_sweep_views_are_served_as_the_document_says(client: FlaskClient, feature_config: dict[str, Any],
                                                     model_config: dict[str, Any]) -> None:
    document = client.get("/api/openapi.json").json
    started = client.post("/api/sweeps", json=sweep_payload(feature_config, model_config))
    assert started.status_code == 202, started.json
    answer_conforms(document, "post", "/api/sweeps", 202, started.json)
    url = f"/api/sweeps/{started.json['id']}"
    answer_conforms(document, "get", "/api/sweeps/{sweep_id}", 200, client.get(url).json)
    answer_conforms(document, "post", "/api/sweeps/{sweep_id}/cancel", 202, client.post(f"{url}/cancel").json)
    estimate = client.post("/api/sweeps/estimate", json=sweep_payload(feature_config, model_config))
    assert estimate.status_code == 200, estimate.json
    answer_conforms(document, "post", "/api/sweeps/estimate", 200, estimate.json)


def test_a_sweep_is_ranked_only_by_a_rankable_metric(client: FlaskClient, feature_config: dict[str, Any],
                                                     model_config: dict[str, Any]) -> None:
    url = f"/api/sweeps/{client.post('/api/sweeps', json=sweep_payload(feature_config, model_config)).json['id']}"
    for metric in ("AAA", "recall_at_100 ", "history"):
        refused(client.get(url, query_string={"metric": metric}), "metric")
    assert client.get(url, query_string={"metric": "recall_at_50"}).json["metric"] == "recall_at_50"
    assert client.get(url, query_string={"metric": ""}).json["metric"] == "recall_at_100"


def test_the_document_lists_what_any_operation_may_answer(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").json
    start = document["paths"]["/api/experiments"]["post"]["responses"]
    assert start["429"]["$ref"].endswith("/QueueFull") and start["413"]["$ref"].endswith("/TooLarge")
    assert "Retry-After" in document["components"]["responses"]["QueueFull"]["headers"]
    assert "Retry-After" in document["components"]["responses"]["Overloaded"]["headers"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path.startswith("/api/") and method in ("get", "put", "post", "delete"):
                assert {"401", "503"} <= set(operation["responses"]), f"{method} {path}"
    for path in ("/api/dashboard/stats", "/api/dashboard/dimensions", "/api/dashboard/leaderboard",
                 "/api/dashboard/heatmap", "/api/dashboard/attribution"):
        assert "400" in document["paths"][path]["get"]["responses"], path
    assert "503" not in document["paths"]["/healthz"]["get"]["responses"], "a probe is never refused"


def test_a_paired_interval_is_served_as_the_document_says(client: FlaskClient, platform: Platform,
                                                          feature_config: dict[str, Any],
                                                          model_config: dict[str, Any]) -> None:
    a, b = (client.post("/api/experiments", json=start_payload(feature_config, model_config)).json for _ in range(2))
    for n, doc in enumerate((a, b)):
        write_hits(platform, doc["id"], [1] * (30 + 10 * n) + [0] * (70 - 10 * n))
        finish(platform, doc["id"], results=results(0.3 + n / 10, 0.5))
    paired = client.get("/api/paired", query_string={"a": a["id"], "b": b["id"]})
    assert paired.status_code == 200 and paired.json["rows"], paired.json
    answer_conforms(client.get("/api/openapi.json").json, "get", "/api/paired", 200, paired.json)


def test_path_ids_are_documented_as_the_store_takes_them(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").json
    sweep_id = next(p for p in document["paths"]["/api/sweeps/{sweep_id}"]["get"]["parameters"]
                    if p.get("name") == "sweep_id")
    assert sweep_id["schema"]["pattern"] == DOCUMENT_ID.pattern
    assert document["components"]["parameters"]["ExperimentId"]["schema"]["pattern"] == DOCUMENT_ID.pattern
    answer = client.get("/api/sweeps/%C2%AD")
    assert (answer.status_code, answer.json["field"]) == (404, "sweep_id"), answer.json
