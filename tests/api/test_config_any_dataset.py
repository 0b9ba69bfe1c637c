"""A feature config saved for "any dataset" is checked on save too (issue 15): each column must exist
in some registered dataset, so a misspelt column is refused when it is typed, not at Start. The
dataset chosen at Start is then checked again, with the error shown once (tests/browser/test_formatting.py).

Before: ``{"dataset_id": null, "query_features": [{"column": "user_idd", ...}]}`` was saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from .conftest import feature_payload


def test_a_misspelt_column_is_refused_on_save_without_a_dataset(client: FlaskClient, dataset: dict[str, Any]) -> None:
    body = feature_payload(None, query_features=[{"column": "user_idd", "kind": "id"}], cross_features=[])
    answer = client.post("/api/feature-configs", json=body)
    assert answer.status_code == 400, answer.json
    assert answer.json["field"] == "query_features[0].column"
    assert "user_idd" in answer.json["message"] and "no registered dataset" in answer.json["message"]
    assert answer.json["suggestions"][0] == "user_id"

    fine = client.post("/api/feature-configs", json=feature_payload(None))
    assert fine.status_code == 201 and fine.json["dataset_id"] is None, "columns of some dataset are fine"


def test_without_any_dataset_registered_nothing_can_be_checked(client: FlaskClient, tmp_path: Path) -> None:
    body = feature_payload(None, query_features=[{"column": "anything", "kind": "id"}], cross_features=[])
    assert client.post("/api/feature-configs", json=body).status_code == 201
