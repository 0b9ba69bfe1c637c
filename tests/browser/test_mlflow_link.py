"""The UI's "Open this run in MLflow" link, followed into the real MLflow UI: it lands on the run's model metrics
(the charts of the metrics the platform logged), not on MLflow's GenAI view of the experiment."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import Gateway, SeededRuns, screenshot

pytestmark = pytest.mark.browser


def test_the_run_link_lands_on_the_runs_metrics_in_mlflow(page: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    experiment = gateway.api("GET", f"/api/experiments/{seeded.best}")
    page.goto(f"/#/experiments?view={seeded.best}")
    dialog = page.get_by_role("dialog", name=f"Exp #{experiment['number']}")
    dialog.get_by_role("tab", name="Training").click()
    link = dialog.get_by_role("link", name="Open this run in MLflow")
    expect(link).to_be_visible(timeout=30_000)
    href = str(link.get_attribute("href"))
    mlflow = page.context.new_page()
    mlflow.goto(href)
    assert f"/runs/{experiment['mlflow_run_id']}" in href
    # The run's page, its "Model metrics" tab selected, showing the charts of the logged metrics.
    expect(mlflow.get_by_role("tab", name="Model metrics")).to_have_attribute("aria-selected", "true", timeout=60_000)
    screenshot(mlflow, "i2-mlflow-run-metrics")
    expect(mlflow.get_by_text("loss", exact=True).first).to_be_visible(timeout=30_000)
    mlflow.close()


def test_the_header_link_opens_mlflow_in_its_machine_learning_view(page: Page, gateway: Gateway) -> None:
    page.goto("/#/experiments")
    link = page.locator("#mlflow-link")
    expect(link).to_be_visible()
    mlflow = page.context.new_page()
    mlflow.goto(str(link.get_attribute("href")))
    expect(mlflow.get_by_role("heading", name="Experiments")).to_be_visible(timeout=60_000)
    # MLflow's sidebar links the documentation of the view it is in: /ml/ for machine learning, /genai/ otherwise.
    expect(mlflow.get_by_role("link", name="Docs")).to_have_attribute("href", re.compile(r"/docs/latest/ml/"))
    screenshot(mlflow, "i2-mlflow-home")
    mlflow.close()
