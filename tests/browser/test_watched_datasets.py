"""Datasets page: a user pins a completed quick test to a dataset, sees the run after a source change
against the one before (metrics in pp with the noise verdict, the data's counts), and unpins (issue 13).

The two runs are seeded finished experiments (as the other browser tests seed runs); the second is
recorded on the watch as ``handlers.watches.on_source_changed`` records a re-run. That a source change
really starts the re-run and it really trains is tests/integration/test_watched_datasets.py.
"""

from __future__ import annotations

import pytest
from experiments_platform.domain.launch import DataCheck, SplitSize
from experiments_platform.domain.watch import WatchRun
from experiments_platform.repositories.experiments import ExperimentRepository
from experiments_platform.repositories.watches import WatchRepository
from playwright.sync_api import Page, expect

from .conftest import Gateway, screenshot
from .seeding import seed_experiments

pytestmark = pytest.mark.browser


def seed_two_runs(gateway: Gateway) -> tuple[dict, dict]:
    documents = gateway.stack.platform.documents
    dataset = gateway.dataset()
    seeded = seed_experiments(documents, dataset, 2, seed=13, name_prefix="Watched run")
    before, after = (documents.get("experiments", i) for i in seeded.ids)
    assert before and after and before["status"] == after["status"] == "completed"
    for doc, rows, test, cold, recall in ((before, 5354, 1000, 40, 0.40), (after, 8120, 1500, 390, 0.31)):
        doc["dataset_snapshot"]["row_count"] = rows
        doc["results"]["final"]["recall_at_100"] = recall
        doc["data_check"] = DataCheck(corpus_size=1682 if rows < 6000 else 1700, splits={
            "train": SplitSize(interactions=rows - test, buyers=50),
            "test": SplitSize(interactions=test, buyers=50 if rows < 6000 else 80, cold_item_interactions=cold),
        }).to_document()
    ExperimentRepository(documents).save(before, after)
    return before, after


def test_a_user_pins_a_quick_test_sees_the_drift_and_unpins(page: Page, gateway: Gateway) -> None:
    before, after = seed_two_runs(gateway)
    page.goto("/#/datasets")
    card = page.get_by_role("article", name=f"dataset {gateway.dataset().name}")
    panel = card.locator(".watch-panel")
    panel.locator("summary").click()
    expect(panel.locator(".watch-empty")).to_be_visible()
    panel.get_by_label("Completed quick test to pin").select_option(before["id"])
    panel.get_by_role("button", name="Pin").click()
    watch = panel.locator(".watch")
    expect(watch).to_have_count(1)
    expect(watch.locator(".watch-runs li")).to_have_text([f"pinned: Exp #{before['number']} · completed · 5,354 rows"])
    expect(watch.locator(".watch-no-drift")).to_be_visible()

    [stored] = WatchRepository(gateway.stack.platform.documents).of_dataset(gateway.dataset().id)
    WatchRepository(gateway.stack.platform.documents).update(stored.id, lambda w: w.add(WatchRun(
        trigger="source_change", event_id="e1", experiment_id=after["id"], number=after["number"], rows=8120)))
    page.reload()
    panel.locator("summary").click()
    expect(watch.locator(".watch-runs li").nth(1)).to_have_text(
        f"after a source change: Exp #{after['number']} · completed · 8,120 rows")
    expect(watch.locator(".watch-summary")).to_contain_text(
        f"Exp #{after['number']} vs Exp #{before['number']}: ")
    expect(watch.locator(".watch-summary")).to_contain_text("rows 5,354 → 8,120")
    recall = watch.locator(".watch-metrics tr[data-metric='recall_at_100'] td")
    expect(recall.nth(1)).to_have_text("40.0%")  # format.js: percents without a space, minus signs as −
    expect(recall.nth(2)).to_have_text("31.0%")
    expect(recall.nth(3)).to_have_text("−9.0 pp")
    expect(recall.nth(5)).to_have_text("no noise estimate")
    rows = watch.locator(".watch-data tr[data-key='rows'] td")
    expect(rows).to_have_text(["Dataset rows", "5,354", "8,120", "+2,766 (+51.7%)"])
    cold = watch.locator(".watch-data tr[data-key='test_cold_product_share'] td")
    expect(cold).to_have_text(["Test interactions of products unseen in training (OOV)", "4.0%", "26.0%",
                               "+22.0 pp"])
    screenshot(page, "datasets-watched-drift", full_page=True)

    watch.get_by_role("button", name=f"Unpin {stored.name}").click()
    expect(panel.locator(".watch")).to_have_count(0)
    assert WatchRepository(gateway.stack.platform.documents).of_dataset(gateway.dataset().id) == []
