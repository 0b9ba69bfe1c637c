"""The Training tab draws recall as the candidate corpus grows (issue 11 §3, decision 079) from the report the
evaluator writes (``tests/fixtures/metrics/metrics.json``, kept in the evaluator's shape by tests/pipeline);
a run evaluated before the curve existed says it has none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from experiments_platform.repositories.experiments import ExperimentRepository
from playwright.sync_api import Page, expect

from .conftest import Gateway, screenshot
from .seeding import seed_experiments

pytestmark = pytest.mark.browser

REPORT = Path(__file__).resolve().parents[1] / "fixtures" / "metrics" / "metrics.json"


def test_the_training_tab_draws_recall_as_the_corpus_grows(page: Page, gateway: Gateway) -> None:
    documents = gateway.stack.platform.documents
    seeded = seed_experiments(documents, gateway.dataset(), 2, seed=79, name_prefix="Corpus curve")
    with_curve, without = seeded.completed[:2]
    report = json.loads(REPORT.read_text())
    doc = documents.get("experiments", with_curve)
    assert doc is not None
    doc["results"] = {**report, "mlflow_run_id": None}  # the fixture's run lived on another MLflow server
    doc["mlflow_run_id"] = None
    ExperimentRepository(documents).save(doc)
    points = report["recall"]["corpus_curve"]

    experiment = gateway.api("GET", f"/api/experiments/{with_curve}")
    assert experiment["results"]["recall"]["corpus_curve"] == points, "the API serves the curve as stored"
    page.goto(f"/#/experiments?view={with_curve}")
    dialog = page.get_by_role("dialog", name=f"Exp #{experiment['number']}")
    dialog.get_by_role("tab", name="Training").click()
    canvas = dialog.locator("canvas#corpus-curve-chart")
    expect(canvas).to_have_attribute("data-state", "drawn", timeout=30_000)
    expect(canvas).to_have_attribute("data-points", str(4 * len(points)))  # recall@10/50/100 and popularity@100
    first, last = points[0], points[-1]
    expect(canvas).to_have_attribute("aria-label", (
        f"Recall as the corpus grows: Recall@100 {first['model']['100'] * 100:.1f}% at 10% "
        f"({first['corpus_size']} candidates), ") + ", ".join([
            f"{p['model']['100'] * 100:.1f}% at {p['percent']}% ({p['corpus_size']} candidates)" for p in points[1:]]))
    drawn = page.evaluate("""async () => {
        const { Chart } = await import("chart.js");
        const chart = Chart.getChart(document.querySelector("#corpus-curve-chart"));
        return chart.data.datasets.map((d) => [d.label, d.data.map((p) => [p.x, p.y])]);
    }""")
    assert [label for label, _ in drawn] == ["Recall@10", "Recall@50", "Recall@100", "Popularity Recall@100"]
    assert drawn[2][1] == [[p["corpus_size"], pytest.approx(p["model"]["100"] * 100)] for p in points]
    assert drawn[2][1][-1][0] == last["corpus_size"] == report["protocol"]["corpus_size"]
    final = dialog.locator("table.final-metrics tr[data-metric='recall_at_100_corpus_10pct']")
    expect(final).to_contain_text(f"{report['final']['recall_at_100_corpus_10pct'] * 100:.1f}%")
    dialog.locator("section.corpus-curve").scroll_into_view_if_needed()
    screenshot(page, "79-corpus-curve")

    page.keyboard.press("Escape")
    number = gateway.api("GET", f"/api/experiments/{without}")["number"]
    page.goto(f"/#/experiments?view={without}")
    dialog = page.get_by_role("dialog", name=f"Exp #{number}")
    dialog.get_by_role("tab", name="Training").click()
    expect(dialog.locator("section.corpus-curve .placeholder")).to_contain_text("not available for this run")
    expect(dialog.locator("canvas#corpus-curve-chart")).to_have_count(0)
