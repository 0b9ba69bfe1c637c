"""The launch check through POST /api/experiments and the estimate (decision 061): each refusal a 400
naming the request field to change, with the counts or widths that make the run doomed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from .conftest import HEAD, start_payload
from .test_configs import error_of


def refusal(client: FlaskClient, payload: dict[str, Any]) -> dict[str, Any]:
    for path in ("/api/experiments/estimate", "/api/experiments"):
        response = client.post(path, json=payload)
        assert response.status_code == 400, (path, response.json)
    assert client.get("/api/experiments").json["total"] == 0, "nothing was created"
    return error_of(response)


def test_towers_of_different_widths_are_refused(
    client: FlaskClient, feature_config: dict[str, Any]
) -> None:
    model = client.post("/api/model-configs", json={
        "name": "Uneven", "query_tower_layers": [64, 32], "candidate_tower_layers": [16]}).json
    error = refusal(client, start_payload(feature_config, model))
    assert error["field"] == "model_config_id"
    assert error["message"] == (
        "model_config_id: model config 'Uneven' gives the query tower 32 outputs (layers [64, 32]) and the candidate "
        "tower 16 (layers [16]), but scoring is their dot product; end both towers with the same layer size or set "
        "output_dim")


def test_a_split_too_small_names_the_field_that_widens_it(
    client: FlaskClient, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    error = refusal(client, start_payload(feature_config, model_config, parameters={
        "sample_percent": 5, "split": {"strategy": "time_holdout", "date_column": "ts", "holdout_days": 1}}))
    assert error["field"] == "parameters.split.holdout_days"
    assert error["message"].startswith("parameters.split.holdout_days: the test split would ")
    assert error["message"].endswith("raise parameters.sample_percent (now 5) or widen parameters.split.holdout_days "
                                     "(now 1)")
    assert set(error["details"]["splits"]) == {"train", "eval", "test"}


def test_a_table_changed_since_registration_is_refused_naming_the_dataset(
    client: FlaskClient, data_files: dict[str, Path], feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    original = data_files["interactions"].read_text()
    renamed = original.replace(HEAD.splitlines()[0], "user_id,sku,rating,city,price,title,ts")
    data_files["interactions"].write_text(renamed)
    error = refusal(client, start_payload(feature_config, model_config))
    assert error["field"] == "dataset_id"
    assert error["message"].startswith(
        "dataset_id: the table of dataset 'Shop interactions' as it is now does not fit: ")
    assert "item_id" in error["message"]


def test_a_corpus_not_larger_than_the_largest_k_is_refused(
    client: FlaskClient, data_files: dict[str, Path], feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    lines = data_files["interactions"].read_text().splitlines()
    few = [lines[0], *(",".join([f"u{i % 97}", f"i{i % 40}", *line.split(",")[2:]]) for i, line in
                       enumerate(lines[1:]))]
    data_files["interactions"].write_text("\n".join(few) + "\n")
    error = refusal(client, start_payload(feature_config, model_config))
    assert error["field"] == "dataset_id"
    assert error["message"].startswith("dataset_id: dataset 'Shop interactions' has 40 distinct item_id values; "
                                       "ranked against a corpus that small, recall@50, @100 is 100 % for any model")
