"""The wizard offers time splits only for a dataset with a date column: for one without, they are disabled
(saying why) and the split stays random, instead of asking the user to choose a date column that is not there."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import SAMPLE_DATASET, Gateway, screenshot

pytestmark = pytest.mark.browser

EVENTS = b"buyer,sku,qty\nb1,p1,1\nb2,p1,2\nb1,p2,1\nb3,p3,4\n"


def test_no_time_split_for_a_dataset_without_a_date_column(page: Page, gateway: Gateway) -> None:
    undated = gateway.api("POST", "/api/datasets/uploads", files={"file": ("undated.csv", EVENTS, "text/csv")},
                          data={"name": "Undated purchases", "query_id_column": "buyer", "candidate_id_column": "sku"})
    feature = gateway.api("POST", "/api/feature-configs", json={
        "name": "Split offer: ids", "dataset_id": SAMPLE_DATASET,
        "query_features": [{"column": "user_id", "kind": "id", "embedding_dim": 8}],
        "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 8}]})
    model = gateway.api("POST", "/api/model-configs", json={"name": "Split offer towers", "query_tower_layers": [8],
                                                             "candidate_tower_layers": [8]})
    try:
        assert not undated.get("date_column")
        page.goto("/#/experiments")
        page.locator("#new-experiment").click()
        wizard = page.get_by_role("dialog", name="New experiment")
        wizard.get_by_label("Dataset").select_option(SAMPLE_DATASET)
        wizard.get_by_label("Name").fill("Split offer")
        wizard.get_by_role("button", name="Next →").click()
        strategy = wizard.get_by_label("Split strategy")
        expect(strategy.locator("option[value='time_holdout']")).to_be_enabled()
        strategy.select_option("time_holdout")
        wizard.get_by_role("button", name="← Back").click()

        wizard.get_by_label("Dataset").select_option(undated["id"])
        wizard.get_by_role("button", name="Next →").click()
        expect(strategy).to_have_value("random")
        for value in ("time_holdout", "strict_time"):
            option = strategy.locator(f"option[value='{value}']")
            expect(option).to_be_disabled()
            expect(option).to_contain_text("needs a date column")
        expect(wizard.get_by_label("Train %")).to_be_visible()
        expect(wizard.get_by_text("choose one of its columns")).to_have_count(0)
        screenshot(page, "i2-wizard-no-date-column")
    finally:
        gateway.api("DELETE", f"/api/feature-configs/{feature['id']}")
        gateway.api("DELETE", f"/api/model-configs/{model['id']}")
        gateway.api("DELETE", f"/api/datasets/{undated['id']}")


def test_each_buyers_latest_interactions_split_is_checked_before_launch(page: Page, gateway: Gateway) -> None:
    feature = gateway.api("POST", "/api/feature-configs", json={
        "name": "Latest split: ids", "dataset_id": SAMPLE_DATASET,
        "query_features": [{"column": "user_id", "kind": "id", "embedding_dim": 8}],
        "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 8}]})
    model = gateway.api("POST", "/api/model-configs", json={"name": "Latest split towers", "query_tower_layers": [8],
                                                             "candidate_tower_layers": [8]})
    try:
        page.goto("/#/experiments")
        page.locator("#new-experiment").click()
        wizard = page.get_by_role("dialog", name="New experiment")
        wizard.get_by_label("Name").fill("Latest split")
        wizard.get_by_label("Dataset").select_option(SAMPLE_DATASET)
        wizard.get_by_label("Feature config").select_option(feature["id"])
        wizard.get_by_label("Model config").select_option(model["id"])
        wizard.get_by_role("button", name="Next →").click()
        wizard.get_by_label("Data sample").select_option("100")
        wizard.get_by_label("Split strategy").select_option("buyer_time")
        expect(wizard.get_by_label("Date column")).to_have_value("timestamp")
        wizard.get_by_label("Test % of each buyer").fill("0")
        summary = wizard.locator("#estimate-summary")
        expect(summary).to_contain_text("Split test percent: Input should be greater than or equal to 1",
                                        timeout=15_000)
        wizard.get_by_label("Test % of each buyer").fill("20")
        expect(summary).to_contain_text("Estimated for", timeout=15_000)
        expect(summary).not_to_contain_text("refused")
        screenshot(page, "i3-wizard-buyer-latest-split")
    finally:
        gateway.api("DELETE", f"/api/feature-configs/{feature['id']}")
        gateway.api("DELETE", f"/api/model-configs/{model['id']}")
