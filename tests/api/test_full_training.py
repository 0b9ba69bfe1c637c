"""Full training through the gateway (issue 12, decision 075): started from a completed quick test or from
configs, refusals naming the field, the Push stage, the Full Trains / Currently deployed summary and the
quick-vs-full agreement over real stored experiments (embedded adapters; MLflow is not running here, so
"Currently deployed" comes from the pushed model's model.json and says so)."""

from __future__ import annotations

import json
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.events.messages import SubmitExperiment, Topics
from flask.testing import FlaskClient

from .conftest import Published, finish, results, start_payload
from .test_configs import error_of


def _quick(client: FlaskClient, feature_config: dict[str, Any], model_config: dict[str, Any],
           **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/experiments", json=start_payload(feature_config, model_config, **overrides))
    assert response.status_code == 202, response.json
    return response.json  # type: ignore[no-any-return]


def test_a_full_training_of_a_completed_quick_test_keeps_its_configs_and_split_with_all_the_data(
        client: FlaskClient, platform: Platform, published: Published, feature_config: dict[str, Any],
        model_config: dict[str, Any]) -> None:
    quick = _quick(client, feature_config, model_config,
                   parameters={"sample_percent": 25, "seed": 7, "split": {"strategy": "random", "train_percent": 70,
                                                                         "val_percent": 15}})
    refused = client.post(f"/api/experiments/{quick['id']}/full-training", json={})
    assert refused.status_code == 409 and "completed quick test" in error_of(refused)["message"]
    finish(platform, quick["id"], results=results(0.31, 0.5))

    response = client.post(f"/api/experiments/{quick['id']}/full-training",
                           json={"full_training": {"max_epochs": 12, "patience": 2}})
    assert response.status_code == 202, response.json
    full = response.json
    assert full["full_training"]["source_experiment_id"] == quick["id"]
    assert full["full_training"]["max_epochs"] == 12 and full["full_training"]["patience"] == 2
    assert full["parameters"]["sample_percent"] == 100
    assert full["parameters"]["split"] == quick["parameters"]["split"] and full["parameters"]["seed"] == 7
    assert full["feature_config_snapshot"] == quick["feature_config_snapshot"]
    assert list(full["stages"]) == ["compile", "examples", "stats", "schema", "transform", "train", "push"]
    assert list(quick["stages"])[-1] == "train", "a quick test keeps its six stages"
    assert full["status"] == "pending" and full["name"].endswith("full training")
    assert SubmitExperiment(experiment_id=full["id"]) in published.on(Topics.SUBMIT)

    row = next(i for i in client.get("/api/experiments").json["items"] if i["id"] == full["id"])
    assert row["full_training"]["source_experiment_id"] == quick["id"]

    again = client.post(f"/api/experiments/{full['id']}/full-training", json={})
    assert again.status_code == 400 and error_of(again)["field"] == "experiment_id"
    bad = client.post(f"/api/experiments/{quick['id']}/full-training", json={"full_training": {"patience": 0}})
    assert bad.status_code == 400 and error_of(bad)["field"] == "full_training.patience"
    gpu = client.post(f"/api/experiments/{quick['id']}/full-training", json={"full_training": {"accelerator": "V100"}})
    assert gpu.status_code == 400 and error_of(gpu)["field"] == "full_training.accelerator"
    t4 = client.post(f"/api/experiments/{quick['id']}/full-training", json={"full_training": {"accelerator": "T4"}})
    assert t4.status_code == 202 and t4.json["full_training"]["accelerator"] == "T4"
    missing = client.post("/api/experiments/nope/full-training", json={})
    assert missing.status_code == 404


def test_a_full_training_from_configs_uses_all_the_data_and_refuses_a_sample(
        client: FlaskClient, feature_config: dict[str, Any], model_config: dict[str, Any]) -> None:
    sampled = client.post("/api/experiments", json=start_payload(feature_config, model_config,
                                                                  full_training={"max_epochs": 5}))
    assert sampled.status_code == 400
    error = error_of(sampled)
    assert error["field"] == "parameters.sample_percent" and "set it to 100" in error["message"]
    response = client.post("/api/experiments", json=start_payload(feature_config, model_config, parameters={},
                                                                   full_training={"max_epochs": 5}))
    assert response.status_code == 202, response.json
    assert response.json["parameters"]["sample_percent"] == 100
    assert response.json["full_training"] == {**response.json["full_training"], "max_epochs": 5,
                                              "source_experiment_id": None}
    assert "push" in response.json["stages"]


def _model_json(platform: Platform, experiment_id: str, version: str) -> None:
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment_id, "model.json"), json.dumps({
        "experiment_id": experiment_id, "run_kind": "full_training", "pushed_model_uri": f"file:///reg/{version}",
        "pushed_version": version, "mlflow_model_name": "two-tower-x", "mlflow_model_version": version[-1],
        "alias": "production", "mlflow_run_id": "r1", "registration": "registered"}).encode())


def test_the_summary_counts_full_trains_names_the_deployed_model_and_measures_agreement(
        client: FlaskClient, platform: Platform, feature_config: dict[str, Any],
        model_config: dict[str, Any]) -> None:
    empty = client.get("/api/full-training/summary").json
    assert empty["full_trains"]["total"] == 0 and empty["currently_deployed"] is None
    assert empty["agreement"]["n"] == 0 and "at least 3" in empty["agreement"]["reading"]

    # four configurations (learning rates), each a quick test and its full training; quick ranks them as full does
    pairs = [(0.20, 0.30), (0.25, 0.34), (0.28, 0.41), (0.33, 0.45)]
    fulls = []
    for n, (quick_value, full_value) in enumerate(pairs):
        quick = _quick(client, feature_config, model_config, name=f"lr {n}",
                       parameters={"sample_percent": 25, "learning_rate": 0.05 + n / 100})
        finish(platform, quick["id"], results=results(quick_value, 0.5))
        full = client.post(f"/api/experiments/{quick['id']}/full-training", json={}).json
        report = results(full_value, 0.4)
        report["training"] = {"run_kind": "full_training", "best_epoch": 4 + n, "epochs_run": 7 + n}
        finish(platform, full["id"], results=report, finished_at=f"2026-01-01T10:0{n}:00Z")
        _model_json(platform, full["id"], f"17000{n}")
        fulls.append(full)
    running = _quick(client, feature_config, model_config, name="still running")
    client.post(f"/api/experiments/{running['id']}/full-training", json={})  # refused: not completed

    summary = client.get("/api/full-training/summary").json
    assert summary["quick_tests"] == 5
    assert summary["full_trains"]["total"] == 4 and summary["full_trains"]["completed"] == 4
    assert summary["full_trains"]["best"]["value"] == 0.45
    deployed = summary["currently_deployed"]
    assert deployed["experiment"]["id"] == fulls[-1]["id"] and deployed["version"] == "3"
    assert deployed["pushed_model_uri"] == "file:///reg/170003" and deployed["from"].startswith("model.json")
    panel = summary["agreement"]
    assert panel["n"] == 4 and panel["spearman"] == 1.0 and panel["kendall"] == 1.0
    assert panel["quick_winner_is_full_winner"] is True
    assert [r["best_epoch"] for r in panel["rows"]] == [4, 5, 6, 7]
    assert panel["reading"].startswith("Quick tests on this dataset") and "ρ = 1.00" in panel["reading"]


def test_lineage_says_why_there_is_none_before_the_pipeline_ran(
        client: FlaskClient, feature_config: dict[str, Any], model_config: dict[str, Any]) -> None:
    quick = _quick(client, feature_config, model_config)
    answer = client.get(f"/api/experiments/{quick['id']}/lineage").json
    assert answer["lineage"] is None and "no pipeline spec yet" in answer["reason"]
    assert client.get("/api/experiments/nope/lineage").status_code == 404
