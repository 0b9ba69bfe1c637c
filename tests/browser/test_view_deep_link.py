"""Changing ``#/experiments?view=<id>`` while a view modal is open replaces the modal, never stacks a second."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Gateway, SeededRuns, screenshot

pytestmark = pytest.mark.browser


def test_changing_the_view_link_with_a_modal_open_shows_one_modal(page: Page, gateway: Gateway,
                                                                  seeded: SeededRuns) -> None:
    first, second = seeded.completed[0], seeded.completed[1]
    numbers = {i: gateway.api("GET", f"/api/experiments/{i}")["number"] for i in (first, second)}
    page.goto(f"/#/experiments?view={first}")
    expect(page.get_by_role("dialog", name=f"Exp #{numbers[first]}")).to_be_visible()
    page.evaluate(f"location.hash = '#/experiments?view={second}'")
    expect(page.get_by_role("dialog", name=f"Exp #{numbers[second]}")).to_be_visible()
    expect(page.locator(".modal-backdrop")).to_have_count(1)
    expect(page.get_by_role("dialog")).to_have_count(1)
    page.evaluate(f"location.hash = '#/experiments?view={second}&tab=x'")  # the same run asked again
    expect(page.locator("main .exp-card").first).to_be_visible()
    expect(page.get_by_role("dialog", name=f"Exp #{numbers[second]}")).to_be_visible()
    expect(page.locator(".modal-backdrop")).to_have_count(1)
    screenshot(page, "i2-view-link-one-modal")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
