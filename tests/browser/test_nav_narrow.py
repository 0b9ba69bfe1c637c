"""The header at 800 px: every nav link is whole and clickable, nothing scrolls sideways or overlaps the
API docs and MLflow links (at 800 px "Model configs" was cut and ran into "Open MLflow")."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Gateway, screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [800, 1280])
def test_the_nav_fits_without_overflow(page: Page, gateway: Gateway, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 700})
    page.goto("/#/experiments")
    expect(page.locator(".nav a[aria-current='page']")).to_have_text("Experiments")
    expect(page.locator("#mlflow-link")).to_be_visible()
    nav = page.locator("nav.nav")
    assert nav.evaluate("n => n.scrollWidth <= n.clientWidth"), "the nav scrolls sideways"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    boxes = page.locator("header.topbar").evaluate("""header => {
        const items = [...header.querySelectorAll('.nav a, .docs-link, .mlflow-link:not([hidden]), .brand')];
        return items.map(el => { const r = el.getBoundingClientRect();
            return {text: el.textContent.trim(), left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                    clipped: el.scrollWidth > el.clientWidth + 1}; });
    }""")
    for box in boxes:
        assert box["left"] >= 0 and box["right"] <= width, f"{box['text']!r} is outside the window: {box}"
        assert not box["clipped"], f"{box['text']!r} is cut"
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap = a["left"] < b["right"] - 1 and b["left"] < a["right"] - 1 and \
                a["top"] < b["bottom"] - 1 and b["top"] < a["bottom"] - 1
            assert not overlap, f"{a['text']!r} overlaps {b['text']!r}"
    page.locator(".nav a", has_text="Model configs").click()
    expect(page.locator(".nav a[aria-current='page']")).to_have_text("Model configs")
    screenshot(page, f"i2-nav-{width}")
