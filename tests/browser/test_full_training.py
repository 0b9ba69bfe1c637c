"""Full training through the UI, for real (issue 12, decisions 075-077): a quick test on the 50-user MovieLens
sample completes; "Run Full Training" on its card opens the dialog and starts a full training of it (its
configs and split, 100 %, early stopping) that runs the real TFX pipeline with Pusher and Registrar to
completion with seven stages on its card; the view modal's Lineage tab shows the ML Metadata artifacts
and executions and the MLflow model version; the dashboard's Full Trains and Currently deployed cards and
the agreement panel show it. A second full training, started from the view modal, is cancelled in Train."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import SAMPLE_DATASET, Gateway, running_stack, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

RUN_TIMEOUT_S = 900
SEVEN = ("compile", "examples", "stats", "schema", "transform", "train", "push")


def wait_for(gateway: Gateway, experiment_id: str, until: Any, timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        doc = gateway.api("GET", f"/api/experiments/{experiment_id}")
        if until(doc):
            return doc
        if doc["status"] in ("failed", "cancelled"):
            raise AssertionError(f"{experiment_id} ended {doc['status']}: {doc.get('error')}")
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {experiment_id}: {doc.get('status')} {doc.get('stages')}")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[Gateway]:
    """A stack of this module's own: a run slot another browser test left taken must not keep its runs queued."""
    yield from running_stack(tmp_path_factory, mlflow_server)


@pytest.fixture(scope="module")
def quick_test(gateway: Gateway) -> dict[str, Any]:
    feature = gateway.api("POST", "/api/feature-configs", json={
        "name": "Full-training sample: ids", "dataset_id": SAMPLE_DATASET,
        "query_features": [{"column": "user_id", "kind": "id", "embedding_dim": 16}],
        "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 16}],
    })
    model = gateway.api("POST", "/api/model-configs", json={
        "name": "Full-training sample: no towers", "query_tower_layers": [], "candidate_tower_layers": [],
        "epochs": 2, "batch_size": 256, "learning_rate": 0.1,
    })
    started = gateway.api("POST", "/api/experiments", json={
        "name": "Quick test to train in full", "dataset_id": SAMPLE_DATASET, "feature_config_id": feature["id"],
        "model_config_id": model["id"],
        "parameters": {"sample_percent": 100, "seed": 11, "split": {"strategy": "random", "train_percent": 70,
                                                                  "val_percent": 15}},
    })
    return wait_for(gateway, started["id"], lambda d: d["status"] == "completed")


def test_run_full_training_from_a_card_to_a_pushed_model_with_its_lineage_and_the_cards(
        page: Page, gateway: Gateway, quick_test: dict[str, Any]) -> None:
    page.goto("/#/experiments")
    card = page.locator(f"article[data-experiment-id='{quick_test['id']}']")
    expect(card.locator(".stages li")).to_have_count(6)
    card.get_by_role("button", name=f"Run Full Training of Exp #{quick_test['number']}").click()
    dialog = page.get_by_role("dialog", name=f"Run Full Training · Exp #{quick_test['number']}")
    expect(dialog).to_contain_text("seed 11")
    dialog.get_by_label("Most epochs").fill("3")
    dialog.get_by_label("Patience").fill("1")
    expect(dialog.get_by_label("Accelerator")).to_have_value("")
    screenshot(page, "ft-1-run-full-training-dialog")
    dialog.get_by_role("button", name="Start full training").click()
    expect(dialog).to_be_hidden()

    view = page.locator("[role='dialog'][data-experiment-id]")
    expect(view).to_be_visible()
    full_id = str(view.get_attribute("data-experiment-id"))
    assert full_id != quick_test["id"]
    expect(view.locator(".run-kind-full")).to_be_visible()
    doc = gateway.api("GET", f"/api/experiments/{full_id}")
    assert doc["full_training"]["source_experiment_id"] == quick_test["id"]
    assert doc["full_training"]["max_epochs"] == 3 and doc["parameters"]["sample_percent"] == 100
    assert doc["full_training"]["accelerator"] is None, "CPU is the dialog's default"
    assert doc["parameters"]["split"] == quick_test["parameters"]["split"]
    view.get_by_role("button", name="Close").click()

    full_card = page.locator(f"article[data-experiment-id='{full_id}']")
    expect(full_card.locator(".stages li")).to_have_count(7)
    expect(full_card.locator(".stages li").last).to_have_attribute("data-stage", "push")
    # A stage of the card running or done: cached data stages may pass between two polls of the page.
    expect(full_card.locator(".stages li[data-status='running'], .stages li[data-status='succeeded']").first
           ).to_be_visible(timeout=120_000)
    screenshot(page, "ft-2-full-training-running")
    doc = wait_for(gateway, full_id, lambda d: d["status"] == "completed")
    assert tuple(doc["stages"]) == SEVEN and all(s["status"] == "succeeded" for s in doc["stages"].values())
    training = doc["results"]["training"]
    assert training["run_kind"] == "full_training" and 1 <= training["best_epoch"] <= training["epochs_run"] <= 3
    expect(full_card).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(full_card.locator(".stages li[data-status='succeeded']")).to_have_count(7)
    expect(full_card.locator(".best-epoch")).to_contain_text(f"best epoch {training['best_epoch']}")
    expect(full_card.get_by_role("button", name="Run Full Training of")).to_have_count(0)
    screenshot(page, "ft-3-full-training-completed")

    full_card.get_by_role("button", name="View Exp").click()
    modal = page.get_by_role("dialog", name=f"Exp #{doc['number']}")
    modal.get_by_role("tab", name="Lineage").click()
    for artifact in ("Examples", "ExampleStatistics", "Schema", "TransformGraph", "Model", "PushedModel"):
        expect(modal.locator(f"table.lineage-artifacts tr[data-type='{artifact}']").first).to_be_visible(
            timeout=30_000)
    expect(modal.locator("table.lineage-executions tr[data-component='Trainer']")).to_have_count(1)
    expect(modal.locator("table.lineage-executions tr[data-component='Pusher']")).to_have_count(1)
    lineage = gateway.api("GET", f"/api/experiments/{full_id}/lineage")
    model = lineage["model"]
    assert model["registration"] == "registered" and model["alias"] == "production"
    expect(modal.locator("[data-field='registry']")).to_have_text(
        f"{model['mlflow_model_name']} version {model['mlflow_model_version']} @production")
    pushed = next(a for a in lineage["lineage"]["artifacts"] if a["type"] == "PushedModel")
    pushed_uri = modal.locator("table.lineage-artifacts tr[data-type='PushedModel'] td.uri .uri-full")
    expect(pushed_uri).to_have_text(pushed["uri"])
    screenshot(page, "ft-4-lineage", full_page=True)
    modal.get_by_role("button", name="Close").click()

    page.goto("/#/dashboard")
    trains = page.locator("#full-training-cards .tile[data-stat='full-trains']")
    expect(trains.locator(".value")).to_have_text("1", timeout=30_000)
    deployed = page.locator("#full-training-cards .tile[data-stat='deployed']")
    expect(deployed.locator(".deployed-model")).to_have_text(
        f"{model['mlflow_model_name']} v{model['mlflow_model_version']} @production")
    panel = page.locator("#agreement-panel")
    expect(panel.locator(f"tr[data-key='{quick_test['id']}']")).to_have_count(1)
    expect(panel.locator("[data-figure='n']")).to_have_text("1")
    expect(panel.locator(".agreement-reading")).to_contain_text("at least 3 are needed")
    summary = gateway.api("GET", "/api/full-training/summary")
    assert summary["currently_deployed"]["from"] == "mlflow"
    assert summary["currently_deployed"]["experiment"]["id"] == full_id
    screenshot(page, "ft-5-dashboard-cards-and-agreement", full_page=True)


def test_a_full_training_started_from_the_view_modal_is_cancelled_in_train(
        page: Page, gateway: Gateway, quick_test: dict[str, Any]) -> None:
    page.goto("/#/experiments")
    card = page.locator(f"article[data-experiment-id='{quick_test['id']}']")
    card.get_by_role("button", name="View Exp").click()
    view = page.get_by_role("dialog", name=f"Exp #{quick_test['number']}")
    view.get_by_role("button", name=f"Run Full Training of Exp #{quick_test['number']}").click()
    dialog = page.get_by_role("dialog", name=f"Run Full Training · Exp #{quick_test['number']}")
    dialog.get_by_label("Most epochs").fill("200")
    dialog.get_by_label("Patience").fill("50")
    dialog.get_by_role("button", name="Start full training").click()
    opened = page.locator("[role='dialog'][data-experiment-id]")
    expect(opened).not_to_have_attribute("data-experiment-id", quick_test["id"])
    full_id = str(opened.get_attribute("data-experiment-id"))
    opened.get_by_role("button", name="Close").click()
    wait_for(gateway, full_id, lambda d: d["stages"]["train"]["status"] == "running")
    full_card = page.locator(f"article[data-experiment-id='{full_id}']")
    full_card.get_by_role("button", name="Cancel Exp").click()
    page.get_by_role("dialog", name="Cancel Exp").get_by_role("button", name="Cancel experiment").click()
    expect(full_card).to_have_attribute("data-status", "cancelled", timeout=120_000)
    doc = gateway.api("GET", f"/api/experiments/{full_id}")
    assert doc["stages"]["train"]["status"] == "cancelled" and doc["stages"]["push"]["status"] == "pending"
