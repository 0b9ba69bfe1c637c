"""What schemathesis found (issue 10 section 6), each as a plain reproduction: strict types, invalid
bodies accepted, undocumented answers, dates that were not ISO 8601."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from .conftest import model_payload


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
