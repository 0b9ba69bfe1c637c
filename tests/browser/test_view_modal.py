"""The view modal on a finished experiment: every tab, with real tracker data (MLflow), real TFX
statistics and schema parsed by the artifact reader, and component logs from the log store."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, Route, expect

from .conftest import Gateway, SeededRuns, screenshot

pytestmark = pytest.mark.browser


def test_every_tab_shows_real_data(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    experiment = gateway.api("GET", f"/api/experiments/{seeded.best}")
    final = experiment["results"]["final"]
    page.goto(f"/#/experiments?view={seeded.best}")
    dialog = page.get_by_role("dialog", name=f"Exp #{experiment['number']}")
    expect(dialog).to_be_visible()

    tile = dialog.locator(".tile[data-metric='recall_at_100']")
    expect(tile.locator(".value")).to_have_text(f"{final['recall_at_100'] * 100:.1f}%")
    expect(dialog.locator(".tile[data-metric='recall_at_100'] .sub")).to_contain_text(
        f"popularity {final['popularity_recall_at_100'] * 100:.1f}%")
    expect(dialog.locator(".protocol")).to_contain_text("1,682 candidates")
    expect(dialog.locator(".stages [data-status='succeeded']")).to_have_count(6)
    screenshot(page, "20-view-overview")

    dialog.get_by_role("tab", name="Pipeline").click()
    nodes = dialog.locator("svg.dag .node")
    expect(nodes).to_have_count(7)  # the Evaluator too (it shares the Train stage with the Trainer)
    expect(dialog.locator("svg.dag .node[data-status='succeeded']")).to_have_count(7)
    expect(dialog.locator("svg.dag .artifact.present")).to_have_count(7)
    dialog.locator("svg.dag .node[data-component='StatisticsGen']").click()
    dialog.get_by_role("button", name="Raw").click()
    logs = dialog.locator("pre.logs")
    expect(logs).to_contain_text("StatisticsGen step 30: processing <b>batch</b> 30")
    dialog.get_by_role("button", name="↻ Refresh").click()
    expect(dialog.locator(".logs-panel")).to_contain_text("last 30 lines")
    screenshot(page, "21-view-pipeline")

    dialog.get_by_role("tab", name="Data Insights").click()
    numeric = dialog.locator("table.stats-table[data-kind='numeric']")
    expect(numeric.locator("tbody tr").filter(has_text="age")).to_have_count(1)
    expect(numeric.locator(".mini-hist").first).to_be_visible()
    categorical = dialog.locator("table.stats-table[data-kind='categorical']")
    expect(categorical.locator("tbody tr").filter(has_text="occupation")).to_have_count(1)
    expect(dialog.locator("table.vocab-table tbody tr")).to_have_count(len(experiment["results"]["vocabularies"]))
    expect(dialog.locator("table.schema-table tbody tr").first).to_be_visible()
    report = dialog.get_by_role("link", name="Open full statistics report ↗")
    expect(report).to_have_attribute("target", "_blank")
    screenshot(page, "22-view-data-insights")
    with page.context.expect_page() as new_tab:
        report.click()
    report_page = new_tab.value
    report_page.wait_for_load_state()
    expect(report_page.locator("body")).to_contain_text("occupation")
    assert f"Exp #{experiment['number']}" in report_page.title()
    report_page.close()

    dialog.get_by_role("tab", name="Training").click()
    epochs = experiment["parameters"]["epochs"]
    loss = dialog.locator("canvas#loss-chart")
    expect(loss).to_have_attribute("data-points", str(4 * epochs))
    expect(dialog.locator("canvas#recall-chart")).to_have_attribute("data-points", "6")
    expect(dialog.locator("canvas#norms-chart")).to_have_attribute("data-points", str(3 * epochs))
    expect(dialog.locator("canvas#distribution-chart")).to_have_attribute("data-tower", "query")
    dialog.get_by_label("Tower", exact=True).select_option("candidate")
    expect(dialog.locator("canvas#distribution-chart")).to_have_attribute("data-tower", "candidate")
    dialog.get_by_role("checkbox", name="Validation loss").uncheck()
    hidden = page.evaluate("""async () => {
        const { Chart } = await import("chart.js");
        const chart = Chart.getChart(document.querySelector("#loss-chart"));
        return chart.data.datasets.map((d, i) => [d.label, chart.isDatasetVisible(i)]);
    }""")
    assert ["Validation loss", False] in hidden and ["Training loss", True] in hidden
    expect(dialog.locator("table.final-metrics").first).to_contain_text(f"{final['recall_at_100'] * 100:.1f}%")
    expect(dialog.get_by_role("link", name="Open this run in MLflow ↗")).to_be_visible()
    screenshot(page, "23-view-training")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_failed_experiment_shows_classified_error(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    listed = gateway.api("GET", "/api/experiments?status=failed&page_size=1")["items"][0]
    failed = gateway.api("GET", f"/api/experiments/{listed['id']}")  # the list's summary leaves the excerpt out
    page.goto(f"/#/experiments?view={failed['id']}")
    dialog = page.get_by_role("dialog", name=f"Exp #{failed['number']}")
    box = dialog.locator(".error-box")
    expect(box).to_contain_text(failed["error"]["title"])
    expect(box).to_contain_text(failed["error"]["suggestion"])
    raw = box.locator("details pre")
    expect(raw).to_be_hidden()
    box.get_by_text("Raw error details").click()
    expect(raw).to_have_text(failed["error"]["excerpt"])
    dialog.get_by_role("tab", name="Training").click()
    expect(dialog.locator(".placeholder").first).to_contain_text("not available")
    screenshot(page, "24-view-failed")


def test_a_tab_chosen_while_the_experiment_loads_stays_chosen(page: Page, seeded: SeededRuns) -> None:
    """A tab clicked before the experiment has arrived is the user's choice: loading must not reset it to Overview."""
    held: list[Route] = []
    released = False

    def hold(route: Route) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route(f"**/api/experiments/{seeded.best}", hold)
    page.goto(f"/#/experiments?view={seeded.best}")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Loading experiment…")).to_be_visible()
    insights = dialog.get_by_role("tab", name="Data Insights")
    insights.click()
    expect(insights).to_have_attribute("aria-selected", "true")
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:  # the request is on its way: wait until it is held
        page.wait_for_timeout(50)
    assert held, "the page never asked for the experiment"
    released = True
    for route in held:
        route.continue_()
    expect(dialog.locator("table.stats-table[data-kind='numeric'] tbody tr").first).to_be_visible()
    expect(insights).to_have_attribute("aria-selected", "true")
    expect(dialog.get_by_role("tab", name="Overview")).to_have_attribute("aria-selected", "false")
