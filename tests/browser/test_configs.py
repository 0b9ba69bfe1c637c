"""Configuration screens: datasets with columns and row counts; feature and model configs created,
edited and duplicated through the UI, with the API's validation messages beside the fields."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import SAMPLE_DATASET, Gateway, screenshot

pytestmark = pytest.mark.browser


def test_datasets_show_columns_and_row_counts(page: Page, gateway: Gateway) -> None:
    page.goto("/#/datasets")
    card = page.get_by_role("article", name="dataset MovieLens 100k, first 50 users")
    expected = gateway.dataset(SAMPLE_DATASET)
    expect(card.locator(".row-count")).to_have_text(f"{expected.row_count:,}")
    card.get_by_text("columns (").click()
    columns = card.locator(".columns-table tbody tr")
    side = [t for t in (expected.buyer_features, expected.product_features) if t]
    expect(columns).to_have_count(len(expected.columns) + sum(len(t.columns) for t in side))
    expect(card.locator(".columns-table")).to_contain_text("occupation")
    screenshot(page, "01-datasets")


def test_register_dataset_reports_unknown_column_beside_the_field(page: Page, gateway: Gateway) -> None:
    source = gateway.dataset(SAMPLE_DATASET).source.uri
    page.goto("/#/datasets")
    page.get_by_role("button", name="+ New dataset").first.click()
    dialog = page.get_by_role("dialog", name="Register a dataset")
    dialog.get_by_label("Name").fill("Ratings copy")
    dialog.locator("[data-field='source.kind']").select_option("file")
    dialog.locator("[data-field='source.uri']").fill(source)
    dialog.get_by_label("Buyer / query id column").fill("user")
    dialog.get_by_label("Product / candidate id column").fill("item_id")
    dialog.get_by_role("button", name="Save").click()
    error = dialog.locator("[data-field-wrap='query_id_column'] .field-error")
    expect(error).to_contain_text("user_id")
    expect(dialog.get_by_label("Buyer / query id column")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "02-dataset-validation")
    dialog.get_by_label("Buyer / query id column").fill("user_id")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    card = page.get_by_role("article", name="dataset Ratings copy")
    expect(card.locator(".row-count")).to_have_text(f"{gateway.dataset(SAMPLE_DATASET).row_count:,}")


def test_feature_config_created_with_validation_then_duplicated(page: Page, gateway: Gateway) -> None:
    page.goto("/#/feature-configs")
    page.get_by_role("button", name="+ New feature config").first.click()
    dialog = page.get_by_role("dialog", name="New feature config")
    dialog.get_by_label("Name").first.fill("Ids and genres")
    dialog.get_by_label("Dataset").select_option(SAMPLE_DATASET)
    dialog.locator("[data-field='query_features.0.column']").fill("user_idd")
    dialog.locator("[data-field='candidate_features.0.column']").fill("item_id")
    dialog.get_by_role("button", name="+ Add candidate feature").click()
    dialog.locator("[data-field='candidate_features.1.column']").fill("genres")
    dialog.locator("[data-field='candidate_features.1.kind']").select_option("text")
    dialog.get_by_role("button", name="Save").click()

    error = dialog.locator("[data-field-wrap='query_features.0.column'] .field-error")
    expect(error).to_contain_text("did you mean 'user_id'")
    screenshot(page, "03-feature-config-validation")

    dialog.locator("[data-field='query_features.0.column']").fill("user_id")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    card = page.get_by_role("article", name="feature config Ids and genres")
    expect(card).to_contain_text("user_id(32d)")
    expect(card).to_contain_text("genres(text, 16d)")

    card.get_by_role("button", name="Duplicate feature config Ids and genres").click()
    expect(page.get_by_role("article", name="feature config Ids and genres (copy)")).to_be_visible()
    screenshot(page, "04-feature-configs")
    stored = gateway.api("GET", "/api/feature-configs")["items"]
    assert {"Ids and genres", "Ids and genres (copy)"} <= {c["name"] for c in stored}


def test_a_buyer_history_feature_is_offered_in_the_query_tower_only(page: Page, gateway: Gateway) -> None:
    page.goto("/#/feature-configs")
    page.get_by_role("button", name="+ New feature config").first.click()
    dialog = page.get_by_role("dialog", name="New feature config")
    dialog.get_by_label("Name").first.fill("Genre history")
    dialog.get_by_label("Dataset").select_option(SAMPLE_DATASET)
    dialog.locator("[data-field='query_features.0.column']").fill("user_id")
    dialog.get_by_role("button", name="+ Add query feature").click()
    dialog.locator("[data-field='query_features.1.column']").fill("genres")
    dialog.locator("[data-field='query_features.1.kind']").select_option("history")
    expect(dialog.locator("[data-field='query_features.1.embedding_dim']")).to_have_count(0)
    dialog.locator("[data-field='query_features.1.max_values']").fill("12")
    dialog.locator("[data-field='query_features.1.shrinkage']").fill("20")
    query_kinds = dialog.locator("[data-field='query_features.1.kind'] option").evaluate_all(
        "options => options.map(o => o.value)")
    candidate_kinds = dialog.locator("[data-field='candidate_features.0.kind'] option").evaluate_all(
        "options => options.map(o => o.value)")
    assert "history" in query_kinds and candidate_kinds == [k for k in query_kinds if k != "history"]
    dialog.locator("[data-field='candidate_features.0.column']").fill("item_id")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    card = page.get_by_role("article", name="feature config Genre history")
    expect(card).to_contain_text("genres(history, 12v)")
    [stored] = [c for c in gateway.api("GET", "/api/feature-configs")["items"] if c["name"] == "Genre history"]
    assert stored["query_features"][1] == {"column": "genres", "kind": "history", "max_values": 12, "shrinkage": 20.0}


def test_model_config_created_and_edited(page: Page, gateway: Gateway) -> None:
    page.goto("/#/model-configs")
    page.get_by_role("button", name="+ New model config").first.click()
    dialog = page.get_by_role("dialog", name="New model config")
    dialog.get_by_label("Name").first.fill("Tiny towers")
    dialog.get_by_label("Query tower layers").fill("32 16")
    dialog.get_by_label("Candidate tower layers").fill("32→16")
    dialog.get_by_label("Epochs").fill("0")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("[data-field-wrap='epochs'] .field-error")).to_contain_text("1")
    expect(dialog.get_by_label("Epochs")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "05-model-config-validation")
    dialog.get_by_label("Epochs").fill("2")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    card = page.get_by_role("article", name="model config Tiny towers")
    expect(card).to_contain_text("32→16")
    card.get_by_role("button", name="Edit model config Tiny towers").click()
    edit = page.get_by_role("dialog", name="Edit model config “Tiny towers”")
    edit.get_by_label("Learning rate").fill("0.05")
    edit.get_by_role("button", name="Save").click()
    expect(edit).to_be_hidden()
    expect(page.get_by_role("article", name="model config Tiny towers")).to_contain_text("learning rate 0.05")
    screenshot(page, "06-model-configs")
