"""Keyboard use: modals trap focus, Esc closes them and focus returns; tabs and cards work from the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Gateway, SeededRuns, screenshot

pytestmark = pytest.mark.browser


def test_wizard_traps_focus_and_escape_restores_it(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    page.goto("/#/experiments")
    opener = page.locator("#new-experiment")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New experiment")
    expect(dialog.get_by_label("Name")).to_be_focused()
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('[role=dialog]') !== null"), "focus left the modal"
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.closest('[role=dialog]') !== null"), "focus left the modal"
    dialog.get_by_label("Name").fill("Keyboard run")
    dialog.get_by_label("Name").press("Enter")
    expect(dialog.get_by_label("Data sample")).to_be_focused()
    expect(dialog.get_by_role("radio", name="Small")).to_be_visible()
    screenshot(page, "60-wizard-step2")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def test_view_modal_tabs_and_leaderboard_rows_by_keyboard(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    # Other browser tests of the session add completed runs too: count what the API ranks, not what was seeded.
    board = gateway.api("GET", "/api/dashboard/leaderboard?metric=recall_at_100&page_size=1")
    page.goto("/#/dashboard")
    rows = page.locator("#leaderboard-table [role='row'][data-id]")
    expect(rows).to_have_count(board["total"])
    row = rows.first
    row.focus()
    page.keyboard.press("ArrowDown")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("End")
    expect(rows.last).to_be_focused()
    page.keyboard.press("Home")
    expect(row).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    overview = dialog.get_by_role("tab", name="Overview")
    expect(overview).to_have_attribute("aria-selected", "true")
    overview.focus()
    page.keyboard.press("ArrowRight")
    expect(dialog.get_by_role("tab", name="Pipeline")).to_be_focused()
    expect(dialog.get_by_role("tab", name="Pipeline")).to_have_attribute("aria-selected", "true")
    node = dialog.locator("svg.dag .node[data-component='Transform']")
    node.focus()
    page.keyboard.press("Enter")
    expect(dialog.locator(".logs-panel h3")).to_have_text("Logs · Transform")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(row).to_be_focused()
