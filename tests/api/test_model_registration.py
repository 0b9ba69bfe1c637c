"""Pending model registrations and promotion (issue 12 leftovers, decision 079), against a real ``mlflow server``
this module stops and starts (its own process, SQLite backend kept across restarts).

A full training whose Registrar ran while MLflow was down leaves ``model.json`` with ``registration:
"pending"``; every reconcile sweep retries it, and once MLflow answers the pushed model becomes a version of
the registered model. The model's first version is production on its own; a later one only when promoted
(``POST /api/experiments/{id}/promote``)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.adapters.embedded_bus import EmbeddedBus
from experiments_platform.adapters.mlflow_tracker import HTTP_VARIABLES
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain.pipeline_spec import MODEL_FILE, registry_model_name
from experiments_platform.handlers.reconcile import reconcile
from flask.testing import FlaskClient
from mlflow import MlflowClient
from restartable_mlflow import RestartableMlflow

from .conftest import LAUNCH_MINIMUMS, finish, gateway_app, results, start_payload
from .test_configs import error_of


@pytest.fixture
def mlflow_process(tmp_path: Path) -> Iterator[RestartableMlflow]:
    folder = tmp_path / "mlflow"
    folder.mkdir()
    server = RestartableMlflow(folder, Path(sys.executable).with_name("mlflow"))
    saved = {name: os.environ.pop(name, None) for name in HTTP_VARIABLES}  # the tracker's own limits apply
    try:
        yield server
    finally:
        if server.process is not None:
            server.stop()
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


@pytest.fixture
def registry_platform(tmp_path: Path, mlflow_process: RestartableMlflow) -> Iterator[Platform]:
    settings = Settings(data_dir=tmp_path / "var", mlflow_tracking_uri=mlflow_process.uri, **LAUNCH_MINIMUMS)
    built = Platform(settings, documents=SqliteDocumentStore(tmp_path / "documents.sqlite"),
                     bus=EmbeddedBus.from_settings(settings), warehouse=DuckDBWarehouse.from_settings(settings))
    yield built
    built.close()


@pytest.fixture
def registry_client(registry_platform: Platform) -> FlaskClient:
    return gateway_app(registry_platform).test_client()


def _pending_push(platform: Platform, client: FlaskClient, feature_config: dict[str, Any],
                  model_config: dict[str, Any], tmp_path: Path, run_id: str, version: str) -> dict[str, Any]:
    """A completed full training whose Registrar found MLflow down: its pushed SavedModel folder and the
    ``model.json`` the Registrar writes then (``pipeline.registrar.model_record``, pending)."""
    doc = client.post("/api/experiments", json=start_payload(feature_config, model_config, parameters={},
                                                              full_training={"max_epochs": 3})).json
    assert doc is not None and doc["full_training"] is not None, doc
    finish(platform, doc["id"], mlflow_run_id=run_id, results=results(0.4, 300.0, test_loss_per_example=4.2))
    pushed = tmp_path / "registry" / version
    (pushed / "variables").mkdir(parents=True)
    (pushed / "saved_model.pb").write_bytes(b"a pushed SavedModel " + version.encode())
    (pushed / "variables" / "variables.index").write_bytes(b"index")
    name = registry_model_name(doc["dataset_id"])
    record = {
        "experiment_id": doc["id"], "run_kind": "full_training", "source_experiment_id": None,
        "serving_model_uri": (tmp_path / "serving" / version).as_uri(), "pushed_model_uri": pushed.as_uri(),
        "pushed_version": version, "candidate_embeddings_uri": f"{pushed.as_uri()}/assets.extra/embeddings.npz",
        "signature": "serving_default", "top_k": 100, "inputs": {"user_id": "string"},
        "outputs": {"ids": "string [batch, top_k]", "scores": "float32 [batch, top_k]"},
        "registry_uri": (tmp_path / "registry").as_uri(), "mlflow_model_name": name, "mlflow_model_version": None,
        "alias": "production", "mlflow_run_id": run_id, "registration": "pending",
        "registration_error": f"MLflow at {platform.settings.mlflow_tracking_uri} is unreachable",
        "production": False, "pushed_at": "2026-12-04T17:00:00+00:00",
    }
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(doc["id"], MODEL_FILE), json.dumps(record).encode())
    return doc


def _record(platform: Platform, experiment_id: str) -> dict[str, Any]:
    value = json.loads(platform.blobs.read_bytes(platform.experiment_artifacts_uri(experiment_id, MODEL_FILE)))
    assert isinstance(value, dict)
    return value


def test_reconcile_registers_pending_pushes_once_mlflow_answers_and_promote_moves_production(
        registry_platform: Platform, registry_client: FlaskClient, mlflow_process: RestartableMlflow,
        feature_config: dict[str, Any], model_config: dict[str, Any], tmp_path: Path) -> None:
    platform, client = registry_platform, registry_client
    mlflow_process.start()
    mlflow = MlflowClient(mlflow_process.uri)
    experiment = mlflow.create_experiment("full-trainings")
    runs = [mlflow.create_run(experiment).info.run_id for _ in range(2)]  # the trainers' runs, made while it was up
    mlflow_process.stop()

    first = _pending_push(platform, client, feature_config, model_config, tmp_path, runs[0], "1733300000")
    second = _pending_push(platform, client, feature_config, model_config, tmp_path, runs[1], "1733300500")
    name = registry_model_name(first["dataset_id"])

    down = reconcile(platform)
    assert down.registered == []
    still = _record(platform, first["id"])
    assert still["registration"] == "pending" and mlflow_process.uri.removeprefix("http://") in still[
        "registration_error"], still["registration_error"]
    refused = client.post(f"/api/experiments/{first['id']}/promote")
    assert refused.status_code == 409 and "not registered yet" in error_of(refused)["message"]

    mlflow_process.start()
    up = reconcile(platform)
    assert sorted(up.registered) == sorted([first["id"], second["id"]])
    records = {doc["id"]: _record(platform, doc["id"]) for doc in (first, second)}
    assert all(r["registration"] == "registered" and r["registration_error"] is None for r in records.values())
    production = mlflow.get_model_version_by_alias(name, "production")
    first_registered = min(records.values(), key=lambda r: int(r["mlflow_model_version"]))
    later = max(records.values(), key=lambda r: int(r["mlflow_model_version"]))
    assert production.version == first_registered["mlflow_model_version"], "the model's first version deploys"
    assert first_registered["production"] is True and later["production"] is False, "a later push waits"
    version = mlflow.get_model_version(name, later["mlflow_model_version"])
    assert version.run_id == later["mlflow_run_id"] and version.tags["pushed_model_uri"] == later["pushed_model_uri"]
    assert reconcile(platform).registered == [], "registered once"

    deployed = client.get("/api/full-training/summary").json["currently_deployed"]
    assert deployed["version"] == first_registered["mlflow_model_version"]
    promoted = client.post(f"/api/experiments/{later['experiment_id']}/promote")
    assert promoted.status_code == 200, promoted.json
    assert promoted.json["version"] == later["mlflow_model_version"]
    assert mlflow.get_model_version_by_alias(name, "production").version == later["mlflow_model_version"]
    after = client.get("/api/full-training/summary").json["currently_deployed"]
    assert after["version"] == later["mlflow_model_version"] and after["experiment"]["id"] == later["experiment_id"]


def test_promote_refuses_a_quick_test_and_an_unknown_run(
        registry_client: FlaskClient, registry_platform: Platform, feature_config: dict[str, Any],
        model_config: dict[str, Any]) -> None:
    quick = registry_client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    finish(registry_platform, quick["id"], results=results(0.4, 300.0))
    refused = registry_client.post(f"/api/experiments/{quick['id']}/promote")
    assert refused.status_code == 409, "a well-formed request the run's kind refuses (schemathesis ST202)"
    assert error_of(refused)["field"] == "experiment_id" and "quick test" in error_of(refused)["message"]
    assert registry_client.post("/api/experiments/nope/promote").status_code == 404
