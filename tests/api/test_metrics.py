"""``GET /api/metrics``: the metric catalogue as the UI reads it, described by the OpenAPI document."""

from __future__ import annotations

import json

from experiments_platform.domain.metrics import CATALOGUE
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator


def test_the_catalogue_is_served_in_display_order_and_matches_its_schema(client: FlaskClient) -> None:
    response = client.get("/api/metrics")
    assert response.status_code == 200
    served = response.json
    assert [m["name"] for m in served["metrics"]] == [m.name for m in CATALOGUE]
    assert served["primary"] == "recall_at_100" and served["recall_ks"] == [10, 50, 100]
    by_name = {m["name"]: m for m in served["metrics"]}
    assert by_name["recall_at_100"] | {"description": ""} == {
        "name": "recall_at_100", "label": "Recall@100", "direction": "higher", "unit": "rate", "format": "percent",
        "digits": 1, "group": "quality", "source": "final", "is_rate": True, "description": ""}
    assert (by_name["test_loss"]["direction"], by_name["test_loss"]["format"]) == ("none", "decimal")
    assert by_name["test_loss_per_example"]["direction"] == "lower", "the per-example loss ranks (decision 079)"
    assert by_name["popularity_recall_at_100"]["direction"] == "none"

    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    catalogue_schema = json.dumps({**schemas["MetricCatalogue"], "$defs": schemas})
    local_refs = catalogue_schema.replace("#/components/schemas/", "#/$defs/")
    validator = Draft202012Validator(json.loads(local_refs))
    assert not list(validator.iter_errors(served))


def test_a_page_load_with_the_catalogue_cached_gets_a_304(client: FlaskClient) -> None:
    first = client.get("/api/metrics")
    assert first.headers["Cache-Control"] == "no-cache" and first.headers["ETag"]
    again = client.get("/api/metrics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()

