"""Promote a full training to production from the Full Trains card (issue 12 leftover, decision 079).

Two completed full trainings of one dataset, their pushed models registered in the session's real MLflow
server by the platform's own registration (``domain.registration.register_version``, as the Registrar and
reconcile do): the first version became production on its own, the later, better one did not. The card
offers to promote the best; the click moves MLflow's production alias and the Currently deployed card."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.domain.base import utcnow
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.pipeline_spec import MODEL_FILE, registry_model_name
from experiments_platform.domain.registration import register_version
from experiments_platform.repositories.experiments import ExperimentRepository
from mlflow import MlflowClient
from playwright.sync_api import Page, expect

from .conftest import SAMPLE_DATASET, Gateway, running_stack, screenshot
from .seeding import seed_experiments

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[Gateway]:
    yield from running_stack(tmp_path_factory, mlflow_server)


def _full_training(gateway: Gateway, doc: dict[str, Any], recall: float, finished_minutes_ago: int,
                   folder: Path, mlflow_uri: str) -> dict[str, Any]:
    """Make a seeded completed run a completed full training with a pushed model, registered in MLflow."""
    platform = gateway.stack.platform
    doc = {**doc, "full_training": {"max_epochs": 3, "patience": 2}, "name": f"Full training {recall}",
           "finished_at": (utcnow() - timedelta(minutes=finished_minutes_ago)).isoformat()}
    doc["results"] = {**doc["results"], "final": {**doc["results"]["final"], "recall_at_100": recall}}
    experiment = Experiment.model_validate(doc)
    ExperimentRepository(platform.documents).save(experiment.to_document())
    pushed = folder / experiment.id
    (pushed / "variables").mkdir(parents=True)
    (pushed / "saved_model.pb").write_bytes(f"SavedModel of {experiment.id}".encode())
    client = MlflowClient(mlflow_uri)
    mlflow_experiment = client.get_experiment_by_name("promote-test") or None
    experiment_key = mlflow_experiment.experiment_id if mlflow_experiment else client.create_experiment("promote-test")
    run_id = client.create_run(experiment_key).info.run_id
    record = {"experiment_id": experiment.id, "run_kind": "full_training", "pushed_model_uri": pushed.as_uri(),
              "pushed_version": str(1733300000 + finished_minutes_ago), "registry_uri": folder.as_uri(),
              "mlflow_model_name": registry_model_name(experiment.dataset_id), "mlflow_model_version": None,
              "alias": "production", "mlflow_run_id": run_id, "registration": "pending", "registration_error": None,
              "production": False}
    record = register_version(platform.tracker, record, str(pushed))  # type: ignore[arg-type]
    assert record["registration"] == "registered", record["registration_error"]
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment.id, MODEL_FILE),
                               json.dumps(record).encode())
    return record


def test_the_full_trains_card_promotes_the_best_full_training_to_production(
        page: Page, gateway: Gateway, mlflow_server: str, tmp_path: Path) -> None:
    dataset = gateway.api("POST", f"/api/datasets/{SAMPLE_DATASET}/duplicate", json={"name": "Promote test data"})
    seeded = seed_experiments(gateway.stack.platform.documents, gateway.dataset(dataset["id"]), 3, seed=12,
                              name_prefix="Promote")
    docs = [gateway.stack.platform.documents.get("experiments", i) for i in seeded.completed[:2]]
    first = _full_training(gateway, docs[0], 0.30, 20, tmp_path, mlflow_server)
    later = _full_training(gateway, docs[1], 0.40, 5, tmp_path, mlflow_server)
    assert first["production"] is True and later["production"] is False, "only the model's first version deploys"
    name = first["mlflow_model_name"]
    mlflow = MlflowClient(mlflow_server)
    assert mlflow.get_model_version_by_alias(name, "production").version == first["mlflow_model_version"]

    page.goto("/#/dashboard")
    page.locator("#dashboard-dataset").select_option(dataset["id"])
    deployed = page.locator("#full-training-cards .tile[data-stat='deployed']")
    expect(deployed.locator(".deployed-model")).to_have_text(f"{name} v{first['mlflow_model_version']} @production",
                                                            timeout=30_000)
    trains = page.locator("#full-training-cards .tile[data-stat='full-trains']")
    later_label = gateway.api("GET", f"/api/experiments/{later['experiment_id']}")["number"]
    button = trains.get_by_role("button", name=f"Promote Exp #{later_label} to production")
    expect(button).to_be_visible()
    screenshot(page, "79-promote-before")
    button.click()
    expect(deployed.locator(".deployed-model")).to_have_text(f"{name} v{later['mlflow_model_version']} @production")
    expect(trains.get_by_role("button", name=f"Promote Exp #{later_label} to production")).to_have_count(0)
    assert mlflow.get_model_version_by_alias(name, "production").version == later["mlflow_model_version"]
    summary = gateway.api("GET", f"/api/full-training/summary?dataset_id={dataset['id']}")
    assert summary["currently_deployed"]["experiment"]["id"] == later["experiment_id"], "the cached card was redrawn"
    screenshot(page, "79-promote-after")
