"""Every user-provided text is shown as text: an experiment, configs and a dataset named
``<img src=x onerror=alert(1)>`` render literally everywhere and no script runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from experiments_platform.repositories.experiments import ExperimentRepository
from playwright.sync_api import Page, expect

from .conftest import SAMPLE_DATASET, Gateway, PageProbe, SeededRuns, running_stack, screenshot, seed_runs

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[Gateway]:
    """A stack of this module's own: what other browser tests leave on the shared one (runs ranked above,
    newer protocols) must not decide which page the hostile run appears on."""
    yield from running_stack(tmp_path_factory, mlflow_server)


@pytest.fixture(scope="module")
def seeded(gateway: Gateway, mlflow_server: str) -> SeededRuns:
    return seed_runs(gateway, mlflow_server)

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def hostile(gateway: Gateway, seeded: SeededRuns) -> str:
    """A completed experiment, a feature config, a model config and a dataset all named XSS."""
    documents = gateway.stack.platform.documents
    doc = documents.get("experiments", seeded.best)
    assert doc is not None
    for snapshot in ("dataset_snapshot", "feature_config_snapshot", "model_config_snapshot"):
        doc[snapshot]["name"] = XSS
    doc.update(name=XSS, description=XSS)
    doc["results"]["final"]["recall_at_100"] = 0.999  # the best of any run the shared stack holds by now
    ExperimentRepository(documents).save(doc)  # with its summary, which the experiment list reads
    gateway.api("POST", f"/api/datasets/{SAMPLE_DATASET}/duplicate", json={"name": XSS})
    gateway.api("POST", "/api/model-configs", json={"name": XSS, "description": XSS})
    fc = gateway.api("GET", "/api/feature-configs")["items"]
    if fc:
        gateway.api("POST", f"/api/feature-configs/{fc[0]['id']}/duplicate", json={"name": XSS})
    return seeded.best


def assert_inert(page: Page, probe: PageProbe) -> None:
    assert page.locator("img").count() == 0, "an <img> element was created from user text"
    assert not probe.dialogs, f"a script ran: {probe.dialogs}"


def test_hostile_names_render_as_text_everywhere(page: Page, gateway: Gateway, probe: PageProbe, hostile: str) -> None:
    page.goto("/#/experiments")
    card = page.locator(f"article[data-experiment-id='{hostile}']")
    expect(card.locator(".name")).to_have_text(XSS)
    expect(card.locator("dl").first).to_contain_text(XSS)
    assert_inert(page, probe)
    screenshot(page, "50-xss-cards")

    card.get_by_role("button", name="View").click()
    dialog = page.get_by_role("dialog", name=XSS)
    expect(dialog.locator("header h2")).to_contain_text(XSS)
    expect(dialog).to_contain_text(f"{XSS} · ")
    for tab in ("Pipeline", "Data Insights", "Training", "Overview"):
        dialog.get_by_role("tab", name=tab).click()
        assert_inert(page, probe)
    page.keyboard.press("Escape")

    page.get_by_role("button", name="⇄ Compare").click()
    selection = page.get_by_role("dialog", name="Select experiments to compare")
    expect(selection.locator(f".select-row[data-id='{hostile}']")).to_contain_text(XSS)
    selection.locator(f"input[data-id='{hostile}']").check()
    selection.get_by_role("checkbox").filter(has_not=page.locator(f"[data-id='{hostile}']")).first.check()
    selection.locator("#compare-go").click()
    comparison = page.get_by_role("dialog", name="Compare 2 experiments")
    expect(comparison.locator("thead")).to_contain_text(XSS)
    expect(comparison.locator("tbody")).to_contain_text(XSS)
    assert_inert(page, probe)
    screenshot(page, "51-xss-comparison")
    page.keyboard.press("Escape")

    page.goto("/#/dashboard")
    expect(page.locator("#leaderboard-table")).to_contain_text(XSS)
    expect(page.locator("#summary-cards")).to_contain_text(XSS)
    assert_inert(page, probe)
    screenshot(page, "52-xss-dashboard")

    for route, list_id in (("datasets", "#dataset-list"), ("feature-configs", "#feature-config-list"),
                           ("model-configs", "#model-config-list")):
        page.goto(f"/#/{route}")
        expect(page.locator(list_id).locator(".item-name", has_text=XSS).first).to_have_text(XSS)
        assert_inert(page, probe)
    page.get_by_role("button", name=f"Edit model config {XSS}").click()
    expect(page.get_by_role("dialog").get_by_label("Name").first).to_have_value(XSS)
    assert_inert(page, probe)
