"""Compare: the always-visible button, the selection modal with its 2–5 limit, and the grouped comparison."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import Gateway, SeededRuns, screenshot

pytestmark = pytest.mark.browser


def test_select_up_to_five_then_compare_two(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    selectable = gateway.api("GET", "/api/experiments/selectable")["items"]
    assert len(selectable) >= 6
    page.goto("/#/experiments")
    page.get_by_role("button", name="⇄ Compare").click()
    dialog = page.get_by_role("dialog", name="Select experiments to compare")
    rows = dialog.locator(".select-row")
    expect(rows).to_have_count(len(selectable))
    go = dialog.locator("#compare-go")
    expect(go).to_be_disabled()

    boxes = dialog.get_by_role("checkbox")
    for index in range(5):
        boxes.nth(index).check()
    expect(dialog.locator("#compare-count")).to_contain_text("5 selected")
    expect(boxes.nth(5)).to_be_disabled()
    expect(rows.nth(5)).to_have_class("select-row disabled")
    screenshot(page, "30-compare-selection")

    dialog.get_by_role("button", name="Clear all").click()
    expect(go).to_be_disabled()
    first, second = seeded.best, next(i for i in seeded.completed if i != seeded.best)
    dialog.locator(f"input[data-id='{first}']").check()
    dialog.locator(f"input[data-id='{second}']").check()
    expect(go).to_have_text("Compare (2)")
    go.click()

    comparison = page.get_by_role("dialog", name="Compare 2 experiments")
    table = comparison.locator("#comparison-table")
    expected = gateway.api("POST", "/api/experiments/compare", json={"experiment_ids": [first, second]})
    sections = [s["key"] for s in expected["sections"]]
    assert sections == ["results", "training", "sampling", "dataset", "feature_config", "model_config"]
    expect(table.locator("tr.section")).to_have_count(len(sections))
    row = next(r for s in expected["sections"] for r in s["rows"] if r["key"] == "recall_at_100")
    recall_row = table.locator("tr[data-row='recall_at_100']")
    expect(recall_row.locator("td.marker")).to_have_text("≡" if row["identical"] else "≠")
    expect(recall_row.locator("td.value.best")).to_have_count(len(row["best"]))
    expect(recall_row.locator("td.value").nth(row["best"][0])).to_have_text(row["display"][row["best"][0]])
    expect(table.locator("tr[data-row='name'], tr[data-identical='true']").first).to_be_visible()
    expect(table.locator("td.marker.same").first).to_have_text("≡")
    popularity = table.locator("tr[data-row='popularity_recall_at_10']")
    expect(popularity.locator("th")).to_have_text("Popularity Recall@10")
    for cell in popularity.locator("td.value").all():
        expect(cell).to_have_text(re.compile(r"^\d+\.\d%$"))
    expect(table.locator("tr[data-row^='popularity_'] td.value.best")).to_have_count(0)
    excluding = table.locator("tr[data-row='recall_at_100_excluding_train_items']")
    expect(excluding.locator("th")).to_have_text("Recall@100 (excl. training items)")
    expect(excluding.locator("td.value").first).to_have_text(re.compile(r"^\d+\.\d%$"))
    expect(table.locator("tbody th", has_text="_")).to_have_count(0)
    screenshot(page, "31-comparison")

    comparison.get_by_role("button", name="← Change selection").click()
    again = page.get_by_role("dialog", name="Select experiments to compare")
    expect(again.locator("#compare-count")).to_contain_text("2 selected")
    page.keyboard.press("Escape")
    expect(again).to_be_hidden()
