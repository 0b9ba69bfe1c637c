"""Dashboard: summary cards, sortable leaderboard opening the view modal, heatmap with selectors and
the best cell, parallel coordinates, CSV export and the MLflow link."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from .conftest import Gateway, SeededRuns, screenshot

pytestmark = pytest.mark.browser


def test_dashboard_views_agree_with_the_api(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    stats = gateway.api("GET", "/api/dashboard/stats")
    board = gateway.api("GET", "/api/dashboard/leaderboard?metric=recall_at_100&page_size=1000")
    heat = gateway.api("GET", "/api/dashboard/heatmap?metric=recall_at_100&x_axis=embedding_dims&y_axis=cross_features")

    page.goto("/#/dashboard")
    cards = page.locator("#summary-cards")
    expect(cards.locator("[data-stat='total'] .value")).to_have_text(f"{stats['total']:,}")
    best_recall = stats["best_recall_at_100"]["value"]
    expect(cards.locator("[data-stat='best'] .value")).to_have_text(f"{best_recall * 100:.1f}%")
    expect(page.locator("#open-mlflow")).to_have_attribute("href", stats["mlflow_url"])

    rows = page.locator("#leaderboard-table [role='row'][data-id]")
    expect(rows).to_have_count(board["total"])
    expect(rows.first).to_contain_text(board["items"][0]["label"])

    best = heat["best"]
    cell = page.locator("#heatmap-table td.cell.best")
    expect(cell).to_have_count(1)
    expect(cell).to_have_attribute("data-x", best["x"])
    expect(cell).to_have_attribute("data-y", best["y"])
    expect(page.locator("#parallel-coordinates")).to_have_attribute("data-lines", str(board["total"]))
    screenshot(page, "40-dashboard", full_page=True)

    page.locator("#leaderboard-table").get_by_role("button", name="Recall@10", exact=True).click()
    top10 = max(item["metrics"]["recall_at_10"] for item in board["items"])
    expect(rows.first.get_by_role("cell").nth(6)).to_have_text(f"{top10 * 100:.1f}%")

    page.get_by_label("Rows (Y)").select_option("epochs")
    epochs = gateway.api("GET", "/api/dashboard/heatmap?metric=recall_at_100&x_axis=embedding_dims&y_axis=epochs")
    expect(page.locator("#heatmap-table tbody tr")).to_have_count(len(epochs["y_axis"]["values"]))
    expect(page.locator("#heatmap-table td.cell.best")).to_have_attribute("data-y", epochs["best"]["y"])
    page.get_by_label("Metric", exact=True).select_option("test_loss")
    losses = gateway.api("GET", "/api/dashboard/heatmap?metric=test_loss&x_axis=embedding_dims&y_axis=epochs")
    expect(page.locator("#heatmap-table td.cell.best")).to_have_attribute("data-value", str(losses["best"]["value"]))
    screenshot(page, "41-dashboard-heatmap-loss")

    first = board["items"][0]
    rows.filter(has_text=first["label"]).first.click()
    dialog = page.get_by_role("dialog", name=first["label"])
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")

    with page.expect_download() as download:
        page.get_by_role("link", name="⇩ Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert len(exported) == stats["total"]
    assert {"id", "name", "status", "recall_at_100"} <= set(exported[0])


def test_empty_dataset_scope_shows_empty_states(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    page.goto("/#/dashboard")
    page.get_by_label("Dataset").select_option("movielens-100k")
    expect(page.locator("#leaderboard")).to_contain_text("No completed experiments")
    expect(page.locator("#heatmap")).to_contain_text("No completed experiment")
    expect(page.locator("#summary-cards [data-stat='best'] .value")).to_have_text("—")
