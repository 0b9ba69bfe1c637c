"""Dashboard: summary cards, sortable leaderboard opening the view modal, heatmap with selectors and
the best cell, parallel coordinates, CSV export and the MLflow link."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import Gateway, SeededRuns, screenshot

pytestmark = pytest.mark.browser


def test_dashboard_views_agree_with_the_api(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    stats = gateway.api("GET", "/api/dashboard/stats")
    board = gateway.api("GET", "/api/dashboard/leaderboard?metric=recall_at_100&page_size=1000")
    heat = gateway.api("GET", "/api/dashboard/heatmap?metric=recall_at_100")  # the axes that vary most

    page.goto("/#/dashboard")
    cards = page.locator("#summary-cards")
    expect(cards.locator("[data-stat='total'] .value")).to_have_text(f"{stats['total']:,}")
    best_recall = stats["best_recall_at_100"]["value"]
    expect(cards.locator("[data-stat='best'] .value")).to_have_text(f"{best_recall * 100:.1f}%")
    expect(page.locator("#open-mlflow")).to_have_attribute("href", stats["mlflow_url"])
    assert len(stats["protocols"]) > 1 and stats["total"] == stats["protocol"]["experiments"], "one protocol shown"
    expect(page.locator("#dashboard-protocol")).to_have_value(stats["protocol"]["key"])

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

    page.get_by_label("Columns (X)").select_option("embedding_dims")
    page.get_by_label("Rows (Y)").select_option("epochs")
    epochs = gateway.api("GET", "/api/dashboard/heatmap?metric=recall_at_100&x_axis=embedding_dims&y_axis=epochs")
    expect(page.locator("#heatmap-table tbody tr")).to_have_count(len(epochs["y_axis"]["values"]))
    expect(page.locator("#heatmap-table td.cell.best")).to_have_attribute("data-y", epochs["best"]["y"])
    page.locator("#heatmap-metric").select_option("test_loss_per_example")
    losses = gateway.api("GET",
                         "/api/dashboard/heatmap?metric=test_loss_per_example&x_axis=embedding_dims&y_axis=epochs")
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
    assert len(exported) == sum(g["experiments"] for g in stats["protocols"]), "the export has every protocol"
    assert {"id", "name", "status", "recall_at_100"} <= set(exported[0])

    other = next(g for g in stats["protocols"] if g["key"] != stats["protocol"]["key"] and g["completed"])
    page.locator("#dashboard-protocol").select_option(other["key"])
    expect(cards.locator("[data-stat='total'] .value")).to_have_text(f"{other['experiments']:,}")
    other_board = gateway.api("GET", f"/api/dashboard/leaderboard?page_size=1000&protocol={other['key']}")
    expect(rows).to_have_count(other_board["total"])
    screenshot(page, "42-dashboard-other-protocol")


def test_empty_dataset_scope_shows_empty_states(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    page.goto("/#/dashboard")
    page.get_by_label("Dataset").select_option("movielens-100k")
    expect(page.locator("#leaderboard")).to_contain_text("No completed experiments")
    expect(page.locator("#heatmap")).to_contain_text("No completed experiment")
    expect(page.locator("#summary-cards [data-stat='best'] .value")).to_have_text("—")


def boxes_of(cells: Locator) -> list[dict[str, float]]:
    """Bounding boxes of the cells that are displayed (the narrow layout hides the config columns)."""
    found = [cells.nth(i).bounding_box() for i in range(cells.count())]
    return [box for box in found if box is not None and box["width"] > 0]


def assert_one_line(boxes: list[dict[str, float]], what: str) -> None:
    assert len(boxes) >= 6, f"{what}: only {len(boxes)} cells are displayed"
    top, bottom = max(box["y"] for box in boxes), min(box["y"] + box["height"] for box in boxes)
    tops = sorted(round(b["y"]) for b in boxes)
    assert top < bottom, f"{what}: no horizontal line crosses every cell (y = {tops}): the cells are stacked"
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left["x"] + left["width"] <= right["x"] + 1, f"{what}: cells overlap or are out of order"


@pytest.mark.parametrize("width", [1366, 1024, 800])
def test_leaderboard_is_a_table_at_laptop_width_and_narrower(page: Page, gateway: Gateway, seeded: SeededRuns,
                                                             width: int) -> None:
    shown = gateway.api("GET", "/api/dashboard/leaderboard?page_size=1000")["total"]  # the newest protocol's runs
    assert shown > 2
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/#/dashboard")
    table = page.locator("#leaderboard-table")
    rows = table.locator(".lb-body [role='row']")
    expect(rows).to_have_count(shown)
    header = boxes_of(table.locator("[role='columnheader']"))
    assert_one_line(header, f"header at {width} px")
    clipped = table.locator("[role='columnheader']").evaluate_all(
        "cells => cells.filter(c => c.offsetWidth && c.scrollWidth > c.clientWidth).map(c => c.textContent)")
    assert not clipped, f"header labels cut off at {width} px: {clipped}"
    for index in (0, 1, shown - 1):
        rows.nth(index).scroll_into_view_if_needed()
        row = boxes_of(rows.nth(index).get_by_role("cell"))
        assert_one_line(row, f"row {index + 1} at {width} px")
        assert [round(b["x"]) for b in row] == [round(b["x"]) for b in boxes_of(
            table.locator("[role='columnheader']"))], f"row {index + 1} at {width} px: cells not under their headers"
    wrap = page.locator(".leaderboard-wrap")
    overflow = wrap.evaluate("el => el.scrollWidth - el.clientWidth")
    assert overflow <= 1, f"the leaderboard scrolls sideways by {overflow} px at {width} px"
    cell_height = rows.first.get_by_role("cell").first.bounding_box()
    assert cell_height is not None and cell_height["height"] < 48, "a leaderboard row is taller than one text line"
    if width < 1366:
        wrap.evaluate("el => { el.scrollTop = 0; window.scrollTo(0, 0); }")
        screenshot(page, f"42-dashboard-{width}px")


def test_ranking_by_recall_excluding_training_items(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    board = gateway.api("GET", "/api/dashboard/leaderboard?metric=recall_at_100_excluding_train_items&page_size=1")
    page.goto("/#/dashboard")
    page.get_by_label("Rank by").select_option("recall_at_100_excluding_train_items")
    table = page.locator("#leaderboard-table")
    active = table.locator("[role='columnheader'][aria-sort='descending']")
    expect(active).to_have_text("Recall@100 (excl. training items) ▼")
    expect(page.locator("#leaderboard-caption")).to_contain_text("ranked by Recall@100 (excl. training items)")
    first = table.locator(".lb-body [role='row']").first
    expect(first).to_contain_text(board["items"][0]["label"])
    expect(first.locator(".metric-chip")).to_have_text(f"{board['items'][0]['value'] * 100:.1f}%")
    assert_one_line(boxes_of(table.locator("[role='columnheader']")), "header ranked by the excl. metric")
    clipped = table.locator("[role='columnheader']").evaluate_all(
        "cells => cells.filter(c => c.offsetWidth && c.scrollWidth > c.clientWidth).map(c => c.textContent)")
    assert not clipped, f"header labels cut off: {clipped}"
    screenshot(page, "43-dashboard-ranked-excluding-training-items")
