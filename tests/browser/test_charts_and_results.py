"""Issue 15, screens: the heatmap's default axes, the parallel coordinates' feature-config axes and brushing,
the wizard's "What Quick Test validates" and the results' Warnings, "Modify & Re-test" and estimate vs actual.

The module has a stack of its own, seeded with finished runs of ONE protocol (same dataset, sample, split
and seed) that vary the way a user varies them: id embedding size, towers, epochs and learning rate, never
the crosses nor the hardware. Screenshots (1280×800): ``conftest.issue_shot``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from experiments_platform.domain.experiment import Estimate, Experiment, QuickTestParameters
from experiments_platform.domain.launch import LaunchWarning
from experiments_platform.domain.status import Status
from experiments_platform.repositories.experiments import ExperimentRepository
from playwright.sync_api import Browser, Page, ViewportSize, expect

from .conftest import Gateway, PageProbe, issue_shot, running_stack
from .seeding import _stages, feature_config, model_config, results

pytestmark = pytest.mark.browser

SCREEN: ViewportSize = {"width": 1280, "height": 800}
DIMS = (16, 32, 64)
EPOCHS = (1, 2, 3)
TOWERS = ((64, 32), (128, 64))
RATES = (0.05, 0.1)
WARNING = LaunchWarning(code="SMALL_TEST_SET", title="Small test set",
                        message="The test split holds 120 interactions; recall moves by several points between runs.",
                        field="parameters.sample_percent")


@dataclass(frozen=True)
class Runs:
    gateway: Gateway
    docs: list[dict[str, Any]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[Runs]:
    for gateway in running_stack(tmp_path_factory, mlflow_server):
        yield Runs(gateway, seed_one_protocol(gateway))


def seed_one_protocol(gateway: Gateway, count: int = 18) -> list[dict[str, Any]]:
    """``count`` completed runs of one protocol; the last one carries a launch warning and an estimate."""
    documents = gateway.stack.platform.documents
    dataset = gateway.dataset()
    rng = random.Random(15)
    fcs = {dim: feature_config(dataset.id, dim, ()) for dim in DIMS}
    mcs = {layers: model_config(layers) for layers in TOWERS}
    for config in fcs.values():
        documents.set("feature_configs", config.id, config.to_document())
    for config in mcs.values():
        documents.set("model_configs", config.id, config.to_document())
    now = datetime.now(timezone.utc)
    docs = []
    for i in range(count):
        dim, layers = DIMS[i % len(DIMS)], TOWERS[(i // 3) % len(TOWERS)]
        epochs, rate = EPOCHS[(i // 2) % len(EPOCHS)], RATES[(i // 6) % len(RATES)]
        started = now - timedelta(minutes=5 * (count - i))
        stages = _stages(Status.COMPLETED, started, 0, rng)
        finished = max(s.finished_at for s in stages.values() if s.finished_at)
        last = i == count - 1
        experiment = Experiment(
            number=i + 1, name=f"Grid {i + 1}: {dim}d ids, {'→'.join(map(str, layers))}, {epochs} epochs",
            description="seeded for issue 15",
            dataset_id=dataset.id, feature_config_id=fcs[dim].id, model_config_id=mcs[layers].id,
            dataset_snapshot=dataset, feature_config_snapshot=fcs[dim], model_config_snapshot=mcs[layers],
            parameters=QuickTestParameters(sample_percent=25, epochs=epochs, learning_rate=rate, batch_size=512),
            status=Status.COMPLETED, stages=stages,
            results=_with_loss_per_example(results(rng, dim, False, layers, epochs, rate, None)),
            warnings=[WARNING] if last else [],
            estimate=Estimate(duration_s=150.0, cost_usd=0.0, hardware_tier="small", recommended_tier="small",
                              target="local") if last else None,
            created_at=started - timedelta(seconds=2), updated_at=finished, started_at=started, finished_at=finished,
        )
        docs.append(experiment.to_document())
    documents.set("counters", "experiments", {"last_number": count})
    ExperimentRepository(documents).save(*docs)
    return docs


def _with_loss_per_example(report: dict[str, Any]) -> dict[str, Any]:
    report["final"].setdefault("test_loss_per_example", report["final"]["test_loss"] / 1024)
    return report


@pytest.fixture
def screen(browser: Browser, runs: Runs, probe: PageProbe) -> Iterator[Page]:
    context = browser.new_context(viewport=SCREEN, base_url=runs.gateway.url)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.on("pageerror", lambda error: probe.errors.append(str(error)))
    yield tab
    context.close()
    assert not probe.errors, f"uncaught errors in the page: {probe.errors}"


def test_heatmap_defaults_to_axes_that_vary_and_fills_the_panel(screen: Page, runs: Runs) -> None:
    screen.goto("/#/dashboard")
    table = screen.locator("#heatmap-table")
    expect(table.locator("td.cell").first).to_be_visible()
    table.scroll_into_view_if_needed()
    issue_shot(screen, "heatmap")

    x_axis, y_axis = screen.locator("#heatmap-x").input_value(), screen.locator("#heatmap-y").input_value()
    assert "cross_features" not in (x_axis, y_axis), "the crosses never vary among these runs"
    heat = runs.gateway.api("GET", "/api/dashboard/heatmap")
    assert (heat["x_axis"]["name"], heat["y_axis"]["name"]) == (x_axis, y_axis), "the UI shows the API's default"
    assert len(heat["x_axis"]["values"]) >= 3 and len(heat["y_axis"]["values"]) >= 2
    expect(table.locator("tbody tr")).to_have_count(len(heat["y_axis"]["values"]))
    expect(table.locator("thead th")).to_have_count(len(heat["x_axis"]["values"]) + 1)
    panel = screen.locator("#heatmap").bounding_box()
    box = table.bounding_box()
    assert panel and box and box["width"] >= 0.95 * panel["width"], f"cells fill the panel: {box} in {panel}"

    dims = runs.gateway.api("GET", "/api/dashboard/dimensions")
    counts = dims["distinct"]
    assert counts["cross_features"] == 1 and counts["embedding_dims"] == len(DIMS)
    assert counts[x_axis] >= counts[y_axis] >= 2


def _pc_axes(screen: Page) -> str:
    return screen.locator("#parallel-coordinates").get_attribute("aria-label") or ""


def test_parallel_coordinates_show_feature_axes_and_filter_by_brushing(screen: Page, runs: Runs) -> None:
    screen.goto("/#/dashboard")
    canvas = screen.locator("#parallel-coordinates")
    expect(canvas).to_have_attribute("data-lines", str(len(runs.docs)))
    canvas.scroll_into_view_if_needed()
    issue_shot(screen, "parallel")
    label = _pc_axes(screen)
    for wanted in ("Id embedding dims", "Tower layers", "Epochs", "Learning rate"):
        assert wanted in label, f"{wanted} is an axis: {label}"
    for single in ("Cross features", "Hardware", "Sample %", "Batch size"):
        assert single not in label, f"{single} has one value among these runs: {label}"
    expect(screen.locator("#pc-cross_features")).to_be_disabled()

    epochs_axis = screen.locator("#parallel .pc-axis[data-axis='epochs']")
    box = epochs_axis.bounding_box()
    assert box, "each axis has a brush handle"
    x = box["x"] + box["width"] / 2
    screen.mouse.move(x, box["y"] + 2)
    screen.mouse.down()
    screen.mouse.move(x, box["y"] + box["height"] * 0.3, steps=5)
    screen.mouse.up()
    top_epochs = sum(1 for d in runs.docs if d["parameters"]["epochs"] == max(EPOCHS))
    expect(canvas).to_have_attribute("data-selected", str(top_epochs))
    chip = screen.locator("#pc-brushes [data-brush='epochs']")
    expect(chip).to_contain_text("Epochs")
    expect(screen.locator("#pc-brushes")).to_contain_text(f"{top_epochs} of {len(runs.docs)} runs")
    issue_shot(screen, "parallel-brushed")

    clear = screen.get_by_role("button", name="Clear the Epochs filter")
    clear.focus()
    screen.keyboard.press("Enter")
    expect(canvas).to_have_attribute("data-selected", str(len(runs.docs)))
    expect(chip).to_have_count(0)

    rate_axis = screen.get_by_role("button", name="Filter by Learning rate", exact=False)
    rate_axis.focus()
    screen.keyboard.press("ArrowUp")
    top_rate = sum(1 for d in runs.docs if d["parameters"]["learning_rate"] == max(RATES))
    expect(canvas).to_have_attribute("data-selected", str(top_rate))
    expect(screen.locator("#pc-brushes [data-brush='learning_rate']")).to_contain_text(f"Learning rate {max(RATES)}")
    screen.keyboard.press("Shift+ArrowDown")
    expect(canvas).to_have_attribute("data-selected", str(len(runs.docs)))
    expect(screen.locator("#pc-brushes [data-brush='learning_rate']")).to_contain_text(f"{min(RATES)} – {max(RATES)}")
    screen.keyboard.press("Delete")
    expect(screen.locator("#pc-brushes [data-brush]")).to_have_count(0)


def test_wizard_says_what_a_quick_test_validates(screen: Page, runs: Runs) -> None:
    screen.goto("/#/experiments?new=1")
    wizard = screen.get_by_role("dialog", name="New experiment")
    # the wizard opens once the page has loaded its datasets and configs: 15 s was not always enough while
    # three suites shared the two cores
    expect(wizard.get_by_label("Name")).to_be_visible(timeout=45_000)
    wizard.get_by_label("Name").fill("Checklist")
    wizard.get_by_role("button", name="Next →").click()
    wizard.get_by_label("Data sample").select_option("100")
    expect(wizard.locator("#estimate-summary")).to_contain_text("Estimated")
    wizard.locator("#estimate-summary").scroll_into_view_if_needed()
    issue_shot(screen, "wizard")
    checklist = wizard.get_by_role("list", name="What Quick Test validates")
    expect(checklist.locator("li")).to_have_count(4)
    expect(checklist).to_contain_text("Transform compiles")
    expect(checklist).to_contain_text("valid vocabularies")
    expect(checklist).to_contain_text("Model trains without errors")
    expect(checklist).to_contain_text("Recall@10/50/100")
    expect(wizard.locator("#indicative-note")).to_contain_text("indicative")
    expect(wizard.locator("#indicative-note")).to_contain_text("Full Training")


def test_results_show_warnings_vs_best_actuals_and_modify_and_retest(screen: Page, runs: Runs) -> None:
    doc = runs.docs[-1]
    screen.goto(f"/#/experiments?view={doc['id']}")
    dialog = screen.get_by_role("dialog", name=f"Exp #{doc['number']}")
    expect(dialog.locator(".tile[data-metric='recall_at_100']")).to_be_visible()
    expect(dialog.locator("#noise-table tr").first).to_be_visible()
    issue_shot(screen, "results")
    warnings = dialog.get_by_role("region", name="Warnings")
    expect(warnings.locator("li[data-code='SMALL_TEST_SET']")).to_contain_text("Small test set")
    high_oov = [v for v in doc["results"]["vocabularies"].values() if v["oov_rate"] > 0.05]
    expect(warnings.locator("li[data-code='HIGH_OOV']")).to_have_count(len(high_oov))
    expect(dialog.locator("#noise-table tr[data-metric='recall_at_100']")).to_be_visible()
    loss = dialog.locator("#noise-table tr[data-metric='test_loss_per_example']")
    expect(loss).to_contain_text("Test loss per example")
    actual = dialog.locator("#duration-vs-estimate")
    expect(actual).to_contain_text("estimated ~")
    expect(actual).to_contain_text("cost $0.00 (local run; estimated ~$0.00)")
    expect(dialog.locator("#indicative-results")).to_contain_text("indicative")
    expect(dialog.get_by_role("region", name="Launch check")).to_have_count(0)  # nothing but the warnings to show
    warnings.scroll_into_view_if_needed()
    issue_shot(screen, "results-warnings")

    dialog.get_by_role("button", name="Modify & Re-test").click()
    wizard = screen.get_by_role("dialog", name="New experiment")
    expect(wizard).to_be_visible()
    expect(wizard.get_by_label("Name")).to_have_value(f"{doc['name']} (re-test)")
    expect(wizard.get_by_label("Feature config")).to_have_value(doc["feature_config_id"])
    expect(wizard.get_by_label("Model config")).to_have_value(doc["model_config_id"])
    wizard.get_by_role("button", name="Next →").click()
    parameters = doc["parameters"]
    expect(wizard.get_by_label("Data sample")).to_have_value(str(parameters["sample_percent"]))
    expect(wizard.get_by_label("Epochs")).to_have_value(str(parameters["epochs"]))
    expect(wizard.get_by_label("Learning rate")).to_have_value(str(parameters["learning_rate"]))
    expect(wizard.get_by_label("Batch size")).to_have_value(str(parameters["batch_size"]))
    issue_shot(screen, "results-modify-retest")
