"""Real quick tests through the UI on the 50-user MovieLens sample: the wizard launches one, its card's
stage bar advances live to completion, every tab of the view modal shows the run's real data; another
one is cancelled from its card while running."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from paused_runs import PipelineRun, running, started
from playwright.sync_api import Page, expect

from .conftest import SAMPLE_DATASET, Gateway, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

RUN_TIMEOUT_S = 420
STAGES = ("compile", "examples", "stats", "schema", "transform", "train")


@pytest.fixture(scope="module")
def configs(gateway: Gateway) -> dict[str, Any]:
    feature = gateway.api("POST", "/api/feature-configs", json={
        "name": "Sample: ids, age, occupation, genres", "dataset_id": SAMPLE_DATASET,
        "query_features": [{"column": "user_id", "kind": "id", "embedding_dim": 16},
                           {"column": "age", "kind": "numeric", "transform": "normalize"},
                           {"column": "occupation", "kind": "categorical", "embedding_dim": 4}],
        "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 16},
                               {"column": "genres", "kind": "text", "embedding_dim": 4}],
    })
    model = gateway.api("POST", "/api/model-configs", json={
        "name": "Sample towers 32→16", "query_tower_layers": [32, 16], "candidate_tower_layers": [32, 16],
        "epochs": 2, "batch_size": 256, "learning_rate": 0.1,
    })
    live = gateway.api("POST", "/api/feature-configs", json={
        "name": "Sample: ids, age, genres", "dataset_id": SAMPLE_DATASET,
        "query_features": [{"column": "user_id", "kind": "id", "embedding_dim": 16},
                           {"column": "age", "kind": "numeric", "transform": "normalize"}],
        "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 16},
                               {"column": "genres", "kind": "text", "embedding_dim": 4}],
    })
    return {"feature": feature, "model": model, "live_feature": live}


def launch(page: Page, name: str, configs: dict[str, Any], shots: str | None = None,
           features: dict[str, Any] | None = None) -> str:
    """Launch from the wizard; ``features``: a feature config of the test's own (no other run shares its
    Transform and Trainer, so neither comes from TFX's cache)."""
    page.goto("/#/experiments")
    page.locator("#new-experiment").click()
    wizard = page.get_by_role("dialog", name="New experiment")
    wizard.get_by_label("Name").fill(name)
    wizard.get_by_label("Description").fill("50-user sample, launched from the browser test")
    wizard.get_by_label("Dataset").select_option(SAMPLE_DATASET)
    wizard.get_by_label("Feature config").select_option((features or configs["feature"])["id"])
    wizard.get_by_label("Model config").select_option(configs["model"]["id"])
    if shots:
        screenshot(page, f"{shots}-wizard-step1")
    wizard.get_by_role("button", name="Next →").click()
    wizard.get_by_label("Data sample").select_option("100")
    expect(wizard.get_by_label("Epochs")).to_have_value("2")
    expect(wizard.locator("[data-estimate='small']")).to_contain_text("~", timeout=15_000)
    expect(wizard.locator(".tier .recommended")).to_have_count(1)
    expect(wizard.locator("#estimate-summary")).to_contain_text("Estimated for")
    if shots:
        screenshot(page, f"{shots}-wizard-step2")
    clicked = time.monotonic()
    wizard.get_by_role("button", name="▶ Start quick test").click()
    expect(wizard).to_be_hidden()
    assert time.monotonic() - clicked < 3, "the wizard must close at once"
    card = page.locator("article.exp-card").filter(has_text=name)
    expect(card).to_be_visible()
    return str(card.get_attribute("data-experiment-id"))


def stage_states(page: Page, experiment_id: str) -> tuple[str, ...]:
    card = page.locator(f"article[data-experiment-id='{experiment_id}']")
    return tuple(card.locator(".stages li").evaluate_all("items => items.map(i => i.dataset.status)"))


def test_cancel_a_running_experiment(page: Page, gateway: Gateway, configs: dict[str, Any]) -> None:
    experiment_id = launch(page, "Run to be cancelled", configs)
    card = page.locator(f"article[data-experiment-id='{experiment_id}']")
    cancel = card.get_by_role("button", name="Cancel Exp")
    expect(cancel).to_be_enabled()
    run = PipelineRun(gateway.stack.settings.data_dir, experiment_id)
    with run.paused(running()):
        expect(card.locator(".stages li[data-status='running']")).to_have_count(1, timeout=120_000)
        cancel.click()
        confirm = page.get_by_role("dialog", name="Cancel Exp")
        expect(confirm).to_contain_text("no compute is left running")
        screenshot(page, "70-cancel-confirmation")
        confirm.get_by_role("button", name="Cancel experiment").click()
        run.wait_for(lambda job: bool(job.get("cancel_requested")), timeout_s=60)
    expect(card).to_have_attribute("data-status", "cancelled", timeout=60_000)
    expect(card.get_by_role("button", name="Cancel Exp")).to_be_disabled()
    expect(card.locator(".stages li[data-status='running']")).to_have_count(0)
    screenshot(page, "71-cancelled-card")
    assert gateway.api("GET", f"/api/experiments/{experiment_id}")["status"] == "cancelled"


def test_quick_test_runs_live_to_completion_and_every_tab_has_data(
    page: Page, gateway: Gateway, configs: dict[str, Any]
) -> None:
    """The card follows the run: Compile done while the pipeline waits to start, Train running, then all
    succeeded. The run is held at each of the first two (``paused_runs``) until the card shows it."""
    experiment_id = launch(page, "Sample quick test", configs, shots="72", features=configs["live_feature"])
    card = page.locator(f"article[data-experiment-id='{experiment_id}']")
    bar = card.locator(".stages li")
    run = PipelineRun(gateway.stack.settings.data_dir, experiment_id)
    seen = [stage_states(page, experiment_id)]
    with run.paused(started):
        expect(bar.first).to_have_attribute("data-status", "succeeded", timeout=120_000)
        seen.append(stage_states(page, experiment_id))
    with run.paused(running("Trainer")):
        expect(bar.last).to_have_attribute("data-status", "running", timeout=60_000)
        expect(card.locator(".stages li[data-status='succeeded']")).to_have_count(5)
        seen.append(stage_states(page, experiment_id))
        screenshot(page, "73-card-running")
    ended = re.compile("completed|failed|cancelled")
    expect(card).to_have_attribute("data-status", ended, timeout=RUN_TIMEOUT_S * 1000)
    seen.append(stage_states(page, experiment_id))
    doc = gateway.api("GET", f"/api/experiments/{experiment_id}")
    assert doc["status"] == "completed", f"run ended {doc['status']}: {doc.get('error')}"
    waiting, training, final = seen[-3:]
    assert waiting[0] == "succeeded" and waiting[-1] == "pending", f"Compile done, Train not started: {seen}"
    assert training == ("succeeded",) * 5 + ("running",), f"every stage before Train done: {seen}"
    assert final == ("succeeded",) * 6
    done = [sum(s == "succeeded" for s in states) for states in seen]
    assert done == sorted(done), f"stages moved backwards: {seen}"
    expect(card.locator(".stages li[data-status='succeeded']")).to_have_count(6)
    screenshot(page, "74-card-completed")

    card.get_by_role("button", name="View Exp").click()
    dialog = page.get_by_role("dialog", name=f"Exp #{doc['number']}")
    recall = doc["results"]["final"]["recall_at_100"]
    expect(dialog.locator(".tile[data-metric='recall_at_100'] .value")).to_have_text(f"{recall * 100:.1f}%")
    screenshot(page, "75-real-overview")

    dialog.get_by_role("tab", name="Pipeline").click()
    nodes = dialog.locator("svg.dag .node")
    expect(nodes.first).to_be_visible()
    assert nodes.count() >= 6
    expect(dialog.locator("svg.dag .node[data-status='succeeded']")).to_have_count(nodes.count())
    dialog.locator("svg.dag .node[data-component='Trainer']").click()
    expect(dialog.locator("pre.logs")).not_to_have_attribute("data-lines", "0")
    screenshot(page, "76-real-pipeline")

    dialog.get_by_role("tab", name="Data Insights").click()
    expect(dialog.locator("table.stats-table[data-kind='numeric'] tbody tr").first).to_be_visible(timeout=30_000)
    expect(dialog.locator("table.vocab-table tbody tr").filter(has_text="user_id")).to_have_count(1)
    screenshot(page, "77-real-data-insights")

    dialog.get_by_role("tab", name="Training").click()
    loss = dialog.locator("canvas#loss-chart")
    recall_chart = dialog.locator("canvas#recall-chart")
    # Chart.js loads on first use: wait until each chart is drawn before reading its point count.
    expect(loss).to_have_attribute("data-state", "drawn", timeout=30_000)
    expect(recall_chart).to_have_attribute("data-state", "drawn", timeout=30_000)
    assert int(loss.get_attribute("data-points") or 0) >= 2 * 2
    assert int(recall_chart.get_attribute("data-points") or 0) >= 3
    screenshot(page, "78-real-training")
