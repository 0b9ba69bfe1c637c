"""Metric labels and formats on screen come from the catalogue the API serves (``GET /api/metrics``).

The page gets a catalogue whose Recall@100 has another label and two decimals, and whose test loss
reads with two significant digits; the dashboard, the leaderboard and the view modal must follow it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from .conftest import Gateway, SeededRuns, screenshot

pytestmark = pytest.mark.browser

RENAMED = "Hit rate in top 100"


def altered(catalogue: dict[str, Any]) -> dict[str, Any]:
    for metric in catalogue["metrics"]:
        if metric["name"] == "recall_at_100":
            metric.update(label=RENAMED, digits=2)
        if metric["name"] == "test_loss_per_example":
            metric.update(digits=2)
    return catalogue


def test_labels_and_formats_follow_the_served_catalogue(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    served = gateway.api("GET", "/api/metrics")
    assert {m["name"]: m["label"] for m in served["metrics"]}["recall_at_100"] == "Recall@100"

    def serve_altered(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(altered(served)))

    page.route("**/api/metrics", serve_altered)
    stats = gateway.api("GET", "/api/dashboard/stats")
    best = stats["best_recall_at_100"]["value"]
    page.goto("/#/dashboard")
    cards = page.locator("#summary-cards")
    expect(cards.locator("[data-stat='best'] .label")).to_have_text(f"Best {RENAMED}")
    expect(cards.locator("[data-stat='best'] .value")).to_have_text(f"{best * 100:.2f}%")
    expect(page.locator("#leaderboard-table").get_by_role("button", name=RENAMED, exact=False).first).to_be_visible()
    expect(page.locator("#leaderboard-caption")).to_contain_text(f"ranked by {RENAMED} (higher is better)")
    expect(page.locator("#heatmap-table")).to_have_attribute("aria-label", re.compile(f"^{RENAMED} by "))
    screenshot(page, "45-catalogue-dashboard")

    experiment = gateway.api("GET", f"/api/experiments/{seeded.best}")
    final = experiment["results"]["final"]
    page.goto(f"/#/experiments?view={seeded.best}")
    dialog = page.get_by_role("dialog", name=f"Exp #{experiment['number']}")
    tile = dialog.locator(".tile[data-metric='recall_at_100']")
    expect(tile.locator(".label")).to_have_text(RENAMED)
    expect(tile.locator(".value")).to_have_text(f"{final['recall_at_100'] * 100:.2f}%")
    two_digits = float(f"{final['test_loss_per_example']:.2g}")  # the loss tile shows the comparable loss
    expect(dialog.locator(".tile[data-metric='test_loss_per_example'] .value")).to_have_text(f"{two_digits:,g}")
    dialog.get_by_role("tab", name="Training").click()
    expect(dialog.locator("table.final-metrics tr[data-metric='recall_at_100'] td").first).to_have_text(RENAMED)
