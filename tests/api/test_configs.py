"""Datasets, feature configs and model configs through the HTTP API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from .conftest import ROW_COUNT, dataset_payload, feature_payload, model_payload

XSS = "<img src=x onerror=alert(1)>"


def error_of(response: Any) -> dict[str, Any]:
    assert response.is_json, response.data[:200]
    body = response.json
    assert set(body) >= {"error_code", "message"}
    return body  # type: ignore[no-any-return]


def test_registering_a_dataset_reads_columns_and_row_count_from_the_file(dataset: dict[str, Any]) -> None:
    assert dataset["row_count"] == ROW_COUNT
    assert {c["name"]: c["type"] for c in dataset["columns"]} == {
        "user_id": "string", "item_id": "string", "rating": "integer", "city": "string",
        "price": "float", "title": "string", "ts": "timestamp",
    }
    assert dataset["buyer_features"]["row_count"] == 3
    assert [c["name"] for c in dataset["buyer_features"]["columns"]] == ["user_id", "age", "segment"]


def test_dataset_from_a_missing_file_names_the_uri_field(client: FlaskClient, data_files: dict[str, Path]) -> None:
    payload = dataset_payload(data_files, source={"kind": "file", "uri": "file:///nowhere/x.csv"})
    response = client.post("/api/datasets", json=payload)
    assert response.status_code == 400
    body = error_of(response)
    assert body["field"] == "source.uri"
    assert "no file at" in body["message"]


def test_unknown_id_column_is_refused_with_the_closest_names(client: FlaskClient, data_files: dict[str, Path]) -> None:
    response = client.post("/api/datasets", json=dataset_payload(data_files, query_id_column="userid"))
    assert response.status_code == 400
    body = error_of(response)
    assert body["field"] == "query_id_column"
    assert body["suggestions"][0] == "user_id"
    assert "did you mean 'user_id'" in body["message"]


def test_side_table_join_key_must_exist(client: FlaskClient, data_files: dict[str, Path]) -> None:
    buyer = {"source": {"kind": "file", "uri": data_files["users"].as_uri()}, "join_key": "user"}
    response = client.post("/api/datasets", json=dataset_payload(data_files, buyer_features=buyer))
    body = error_of(response)
    assert response.status_code == 400
    assert body["field"] == "buyer_features.join_key"
    assert body["suggestions"] == ["user_id"]


def test_missing_body_and_wrong_source_kind(client: FlaskClient, data_files: dict[str, Path]) -> None:
    response = client.post("/api/datasets", data="not json", content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in error_of(response)["message"]
    response = client.post("/api/datasets", json=dataset_payload(data_files, source={"kind": "ftp", "uri": "x"}))
    body = error_of(response)
    assert body["field"] == "source.kind"
    assert "'file'" in body["message"] and "'bigquery'" in body["message"]


def test_crud_of_a_dataset(client: FlaskClient, dataset: dict[str, Any], data_files: dict[str, Path]) -> None:
    listed = client.get("/api/datasets").json
    assert listed["total"] == 1 and listed["items"][0]["id"] == dataset["id"]
    assert client.get(f"/api/datasets/{dataset['id']}").json == dataset

    changed = client.put(
        f"/api/datasets/{dataset['id']}", json=dataset_payload(data_files, name="renamed", date_column=None)
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["name"] == "renamed" and changed.json["date_column"] is None
    assert changed.json["id"] == dataset["id"] and changed.json["created_at"] == dataset["created_at"]
    assert changed.json["updated_at"] > dataset["updated_at"]

    copy = client.post(f"/api/datasets/{dataset['id']}/duplicate")
    assert copy.status_code == 201
    assert copy.json["name"] == "renamed (copy)" and copy.json["id"] != dataset["id"]
    assert copy.json["columns"] == dataset["columns"]
    named = client.post(f"/api/datasets/{dataset['id']}/duplicate", json={"name": "third"})
    assert named.json["name"] == "third"
    assert client.get("/api/datasets").json["total"] == 3

    assert client.delete(f"/api/datasets/{copy.json['id']}").status_code == 204
    assert client.get(f"/api/datasets/{copy.json['id']}").status_code == 404
    assert client.delete(f"/api/datasets/{copy.json['id']}").status_code == 404


def test_not_found_names_the_kind_and_id(client: FlaskClient) -> None:
    for path, label in (("datasets", "dataset"), ("feature-configs", "feature config"),
                        ("model-configs", "model config"), ("experiments", "experiment")):
        response = client.get(f"/api/{path}/nope")
        assert response.status_code == 404
        assert error_of(response) == {"error_code": "NOT_FOUND", "message": f"{label} 'nope' doesn't exist"}
    assert client.get("/api/datasets/..").status_code == 404


def test_a_dataset_used_by_a_feature_config_cannot_be_deleted(
    client: FlaskClient, dataset: dict[str, Any], feature_config: dict[str, Any]
) -> None:
    response = client.delete(f"/api/datasets/{dataset['id']}")
    assert response.status_code == 409
    body = error_of(response)
    assert body["error_code"] == "CONFLICT"
    assert "feature config 'ids + city'" in body["message"]
    assert client.get(f"/api/datasets/{dataset['id']}").status_code == 200


def test_feature_config_field_errors_name_the_path(client: FlaskClient, dataset: dict[str, Any]) -> None:
    payload = feature_payload(dataset["id"])
    payload["query_features"][0]["embedding_dim"] = 0
    body = error_of(client.post("/api/feature-configs", json=payload))
    assert body["field"] == "query_features[0].embedding_dim"
    assert "greater than or equal to 1" in body["message"]

    payload = feature_payload(dataset["id"])
    del payload["candidate_features"][0]["kind"]
    body = error_of(client.post("/api/feature-configs", json=payload))
    assert body["field"] == "candidate_features[0].kind"

    payload = feature_payload(dataset["id"])
    payload["candidate_features"][0]["kind"] = "idx"
    body = error_of(client.post("/api/feature-configs", json=payload))
    assert body["field"] == "candidate_features[0].kind" and "'idx' is not one of" in body["message"]

    payload = feature_payload(dataset["id"], cross_features=[{"tower": "query", "columns": ["user_id", "title"]}])
    body = error_of(client.post("/api/feature-configs", json=payload))
    assert body["field"] == "cross_features[0]"
    assert "['title'] not among the query tower's features" in body["message"]


def test_feature_columns_are_checked_against_the_dataset(client: FlaskClient, dataset: dict[str, Any]) -> None:
    payload = feature_payload(dataset["id"], cross_features=[])
    payload["query_features"][1]["column"] = "cty"
    payload["candidate_features"].append({"column": "title", "kind": "numeric"})
    response = client.post("/api/feature-configs", json=payload)
    assert response.status_code == 400
    body = error_of(response)
    assert body["field"] == "query_features[1].column"
    assert body["suggestions"] == ["city"]
    assert "unknown column 'cty'; did you mean 'city'?" in body["message"]
    problems = body["details"]["errors"]
    assert [p["field"] for p in problems] == ["query_features[1].column", "candidate_features[1].column"]
    assert "a numeric feature needs a numeric column" in problems[1]["message"]

    payload = feature_payload(dataset["id"], query_features=[{"column": "age", "kind": "numeric"}], cross_features=[])
    assert client.post("/api/feature-configs", json=payload).status_code == 201, "side-table columns are usable"

    body = error_of(client.post("/api/feature-configs", json=feature_payload("missing")))
    assert body["field"] == "dataset_id"


def test_feature_and_model_config_crud(
    client: FlaskClient, dataset: dict[str, Any], feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    other = client.post("/api/feature-configs", json=feature_payload(None, name="no dataset")).json
    assert client.get(f"/api/feature-configs?dataset_id={dataset['id']}").json["total"] == 1
    assert client.get("/api/feature-configs").json["total"] == 2

    payload = feature_payload(dataset["id"], name="v2")
    payload["query_features"][0]["embedding_dim"] = 128
    updated = client.put(f"/api/feature-configs/{feature_config['id']}", json={**payload, "id": "ignored"}).json
    assert updated["id"] == feature_config["id"] and updated["query_features"][0]["embedding_dim"] == 128

    assert model_config["query_tower_layers"] == [256, 128, 64]
    body = error_of(client.post("/api/model-configs", json=model_payload(query_tower_layers=[128, 0])))
    assert body["field"] == "query_tower_layers[1]"
    body = error_of(client.post("/api/model-configs", json=model_payload(optimizer="adamw", colour="red")))
    assert {p["field"] for p in body["details"]["errors"]} == {"optimizer", "colour"}
    copy = client.post(f"/api/model-configs/{model_config['id']}/duplicate").json
    assert copy["name"] == "Standard (copy)"
    renamed = client.put(f"/api/model-configs/{copy['id']}", json=model_payload(name="Wide", l2_regularization=0.01))
    assert renamed.json["l2_regularization"] == 0.01
    assert client.delete(f"/api/model-configs/{copy['id']}").status_code == 204
    assert client.delete(f"/api/feature-configs/{other['id']}").status_code == 204


def test_user_text_is_stored_and_returned_as_is(client: FlaskClient, dataset: dict[str, Any]) -> None:
    response = client.post("/api/model-configs", json=model_payload(name=XSS, description=f"<script>{XSS}</script>"))
    assert response.status_code == 201
    assert response.content_type == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    fetched = client.get(f"/api/model-configs/{response.json['id']}").json
    assert fetched["name"] == XSS and fetched["description"] == f"<script>{XSS}</script>"
    not_found = client.get(f"/api/model-configs/{XSS}")
    assert not_found.content_type == "application/json"
