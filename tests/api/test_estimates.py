"""Estimates before launch, for where the pipeline runs (this machine, or Vertex AI with costs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from flask.testing import FlaskClient

from .conftest import LAUNCH_MINIMUMS, ROW_COUNT, gateway_app, start_payload
from .test_configs import error_of


def test_estimates_for_every_tier_on_this_machine(
    client: FlaskClient, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    response = client.post("/api/experiments/estimate", json=start_payload(feature_config, model_config))
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["recommended_tier"], body["row_count"], body["sample_percent"]) == ("small", ROW_COUNT, 25)
    assert [e["hardware_tier"] for e in body["estimates"]] == ["small", "medium", "large"]
    assert all(e["target"] == "local" and e["cost_usd"] == 0 and e["duration_s"] > 0 for e in body["estimates"])
    assert set(body["estimates"][0]["stage_durations_s"]) == {
        "compile", "examples", "stats", "schema", "transform", "train"}

    assert body["data_check"]["corpus_size"] == 150 and body["data_check"]["splits"]["test"]["interactions"] > 0
    assert body["protocol"]["label"].startswith("Shop interactions · 25% sample · random 80/10/10")
    assert [w["code"] for w in body["warnings"]] == ["SMALL_TEST_SET", "HIGH_TEST_OOV", "HIGH_TEST_OOV", "SMALL_CORPUS"]
    assert "have an item that never occurs in the training split" in body["warnings"][2]["message"]

    started = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    assert started["estimate"] == body["estimates"][1], "the experiment keeps the estimate of its tier (medium)"
    assert (started["data_check"], started["warnings"], started["protocol"]) == \
        (body["data_check"], body["warnings"], body["protocol"]), "the launch keeps what the estimate showed"

    invalid = error_of(client.post("/api/experiments/estimate", json=start_payload(
        feature_config, model_config, parameters={"sample_percent": 3})))
    assert invalid["field"] == "parameters.sample_percent"


def test_vertex_estimates_cost_money(
    tmp_path: Path, client: FlaskClient, platform: Platform,
    feature_config: dict[str, Any], model_config: dict[str, Any],
) -> None:
    settings = Settings(data_dir=tmp_path / "var", pipeline_service="vertex", gcp_project="demo-project",
                        **LAUNCH_MINIMUMS)
    vertex = Platform(settings, documents=platform.documents, bus=platform.bus)
    body = gateway_app(vertex).test_client().post(
        "/api/experiments/estimate", json=start_payload(feature_config, model_config)).json
    small, medium, large = body["estimates"]
    assert all(e["target"] == "vertex" and e["cost_usd"] > 0 for e in (small, medium, large))
    assert small["duration_s"] > 60, "Vertex start-up overheads are included"
