"""The Pipeline tab and the card's current activity (issue 15, "Screens").

Logs: a component's log is mostly TFX and ML Metadata dumps; the tab opens on a summary (stage start and end,
progress, epochs, warnings, errors) classified by the server from the real log, with the raw log one click away
and errors highlighted. The logs are real: ``tests/fixtures/logs/`` holds the component logs of a real quick
test on the local stack and of a real full training whose Trainer failed. DAG: each node its own duration (the
Evaluator's from its own log), artifacts drawn as the pipeline really produces them, a legend with every state,
the Evaluator on a cancelled run's graph, the running node pulsing. Card: "Current: Transform (building
vocabularies)". Screenshots: ``conftest.issue_shot``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.repositories.experiments import ExperimentRepository
from playwright.sync_api import Locator, Page, expect

from .conftest import ROOT, Gateway, issue_shot, running_stack

pytestmark = pytest.mark.browser

LOGS = ROOT / "tests" / "fixtures" / "logs"
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[Gateway]:
    yield from running_stack(tmp_path_factory, mlflow_server)


@dataclass(frozen=True)
class Runs:
    completed: dict[str, Any]
    failed: dict[str, Any]
    cancelled: dict[str, Any]
    running: dict[str, Any]


def _index(outputs: Path, components: list[str]) -> dict[str, dict[str, list[str]]]:
    """``artifacts.json`` as the local runner writes it for a quick test (Transform materializes nothing)."""
    keys = {"ExampleGen": ["examples"], "StatisticsGen": ["statistics"], "SchemaGen": ["schema"],
            "Transform": ["transform_graph"], "Trainer": ["model", "model_run"], "Evaluator": ["evaluation"]}
    return {c: {k: [(outputs / c / k / "1").as_uri()] for k in keys[c]} for c in components}


def _attach(gateway: Gateway, doc: dict[str, Any], logs: Path, components: list[str],
            only: list[str] | None = None) -> None:
    platform = gateway.stack.platform
    outputs = gateway.stack.settings.data_dir / "pipelines" / "seeded" / doc["id"]
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(doc["id"], "artifacts.json"),
                               json.dumps(_index(outputs, components)).encode())
    folder = gateway.stack.settings.data_dir / "logs" / doc["id"]
    folder.mkdir(parents=True, exist_ok=True)
    for log in sorted(logs.glob("*.log")):
        if only is None or log.stem in only:
            shutil.copy(log, folder / log.name)


def _stages(doc: dict[str, Any], last: str, status: str, *, cached: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every stage before ``last`` succeeded, ``last`` in ``status``, the rest pending."""
    order = ["compile", "examples", "stats", "schema", "transform", "train"]
    start = datetime.fromisoformat(doc["started_at"])
    stages: dict[str, Any] = {}
    for i, key in enumerate(order):
        began = start + timedelta(seconds=20 * i)
        if i < order.index(last):
            stages[key] = {"status": "succeeded", "started_at": began.isoformat(),
                           "finished_at": (began + timedelta(seconds=17 + i)).isoformat(), "cached": key in cached}
        elif key == last:
            stages[key] = {"status": status, "started_at": began.isoformat(),
                           "finished_at": None if status == "running" else (began + timedelta(seconds=9)).isoformat()}
        else:
            stages[key] = {"status": "pending"}
    return stages


@pytest.fixture(scope="module")
def runs(gateway: Gateway) -> Runs:
    from .seeding import seed_experiments

    documents = gateway.stack.platform.documents
    seeded = seed_experiments(documents, gateway.dataset(), 12, seed=15, name_prefix="Pipeline tab")
    docs = [documents.get("experiments", i) for i in seeded.ids]
    repository = ExperimentRepository(documents)
    completed = next(d for d in docs if d and d["status"] == "completed")
    failed = next(d for d in docs if d and d["status"] == "failed")
    cancelled = next(d for d in docs if d and d["status"] == "cancelled")
    running = next(d for d in docs if d and d["status"] == "completed" and d["id"] != completed["id"])
    all_components = ["ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator"]

    _attach(gateway, completed, LOGS / "quick_test", all_components)
    failed.update(stages=_stages(failed, "train", "failed"), error={
        "code": "UNKNOWN", "title": "The experiment failed", "stage": "train",
        "suggestion": "Read the raw details and the component logs.",
        "excerpt": "ImportError: cannot import name 'RECENT_POPULARITY_DAYS' from 'experiments_platform.domain.metrics'"
                   "\n  raised in <module> (recent_popularity.py:20)"})
    _attach(gateway, failed, LOGS / "failed_trainer", all_components[:4], only=["Trainer"])
    cancelled.update(stages=_stages(cancelled, "train", "cancelled", cached=("examples", "stats", "schema")))
    _attach(gateway, cancelled, LOGS / "quick_test", all_components[:5], only=["ExampleGen", "Transform"])
    started = datetime.now(timezone.utc) - timedelta(seconds=95)
    running.update(status="running", started_at=started.isoformat(), finished_at=None, results=None,
                   comparison=None, pipeline_job_name=None, cloud_build_id=None)
    running.update(stages=_stages(running, "transform", "running"))
    _attach(gateway, running, LOGS / "quick_test", all_components[:3], only=["ExampleGen"])
    # Transform part-way: its real log up to the analysis of the training split (where it builds vocabularies).
    transform = (LOGS / "quick_test" / "Transform.log").read_text().splitlines(keepends=True)
    analysing = next(i for i, line in enumerate(transform) if "Not using the in-place Transform" in line)
    log_dir = gateway.stack.settings.data_dir / "logs" / running["id"]
    (log_dir / "Transform.log").write_text("".join(transform[:analysing + 1]))
    repository.save(completed, failed, cancelled, running)
    return Runs(*(documents.get("experiments", d["id"]) for d in (completed, failed, cancelled, running)))


@pytest.fixture
def laptop(page: Page) -> Page:
    page.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
    return page


def open_pipeline(page: Page, doc: dict[str, Any]) -> Locator:
    page.goto(f"/#/experiments?view={doc['id']}")
    dialog = page.get_by_role("dialog", name=f"Exp #{doc['number']}")
    dialog.get_by_role("tab", name="Pipeline").click()
    expect(dialog.locator("svg.dag .node").first).to_be_visible()
    return dialog


def test_logs_open_on_a_summary_of_the_real_log_with_the_raw_log_one_click_away(
        laptop: Page, gateway: Gateway, runs: Runs) -> None:
    page = laptop
    dialog = open_pipeline(page, runs.completed)
    dialog.locator("svg.dag .node[data-component='Trainer']").click()
    expect(dialog.locator("pre.logs")).to_have_attribute("data-lines", "200")
    dialog.locator(".logs-panel").scroll_into_view_if_needed()
    dialog.locator(".logs-panel").evaluate("e => e.scrollIntoView({block: 'start'})")
    issue_shot(page, "pipeline-logs")

    summary = dialog.locator("ol.log-summary")
    expect(summary).to_be_visible()
    expect(dialog.locator("pre.logs")).to_be_hidden()
    entries = summary.locator("li.log-entry")
    expect(entries.first).to_contain_text("Started")
    expect(summary.locator("li[data-kind='epoch']")).to_have_count(3)
    expect(summary.locator("li[data-kind='epoch']").last).to_contain_text("Epoch 3: loss")
    expect(entries.last).to_contain_text("Finished")
    expect(summary).not_to_contain_text("node_info")
    expect(summary).not_to_contain_text("spec_version")
    expect(dialog.locator(".logs-panel")).to_contain_text("summary of the last")

    dialog.get_by_role("button", name="Raw").click()
    raw = dialog.locator("pre.logs")
    expect(raw).to_be_visible()
    expect(summary).to_be_hidden()
    expect(raw).to_contain_text("Training complete. Model written to")
    expect(dialog.get_by_role("button", name="Raw")).to_have_attribute("aria-pressed", "true")
    # The choice holds for the next component.
    dialog.locator("svg.dag .node[data-component='Transform']").click()
    expect(raw).to_contain_text("INFO absl: Execution 4 succeeded.")
    dialog.get_by_role("button", name="Summary").click()
    expect(summary.locator("li.log-entry").first).to_contain_text("Started")

    page.keyboard.press("Escape")
    dialog = open_pipeline(page, runs.failed)
    dialog.locator("svg.dag .node[data-component='Trainer']").click()
    error = dialog.locator("ol.log-summary li.log-entry.level-error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("Failed")
    # Why, from the experiment's classified error (the failure text of the task): the log says only "Failed".
    expect(dialog.locator(".log-failure")).to_contain_text("ImportError: cannot import name 'RECENT_POPULARITY_DAYS'")
    dialog.locator("svg.dag .node[data-component='Transform']").click()
    expect(dialog.locator(".log-failure")).to_have_count(0)
    dialog.locator("svg.dag .node[data-component='Trainer']").click()
    expect(dialog.locator(".log-failure")).to_have_count(1)
    assert error.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    dialog.locator(".logs-panel").evaluate("e => e.scrollIntoView({block: 'start'})")
    issue_shot(page, "pipeline-logs-error")
    dialog.get_by_role("button", name="Raw").click()
    expect(dialog.locator("pre.logs .log-line.level-error")).to_contain_text("ERROR absl: Execution 5 failed.")
    issue_shot(page, "pipeline-logs-raw")


def test_dag_each_node_its_own_duration_artifacts_as_produced_and_a_full_legend(
        laptop: Page, gateway: Gateway, runs: Runs) -> None:
    page = laptop
    dialog = open_pipeline(page, runs.completed)
    expect(dialog.locator("svg.dag .node")).to_have_count(7)
    dialog.locator("svg.dag .node[data-component='Evaluator']").scroll_into_view_if_needed()
    issue_shot(page, "dag-completed")

    evaluator = gateway.api("GET", f"/api/experiments/{runs.completed['id']}/logs/Evaluator?lines=1")["summary"]
    node = dialog.locator("svg.dag .node[data-component='Evaluator']")
    expect(node).to_have_attribute("data-seconds", str(round(evaluator["seconds"])))
    trainer = dialog.locator("svg.dag .node[data-component='Trainer']")
    assert trainer.get_attribute("data-seconds") != node.get_attribute("data-seconds")
    # Transform materializes no examples (the Trainer transforms them): nothing is drawn as "not written".
    expect(dialog.locator("svg.dag .artifact")).to_have_count(7)
    expect(dialog.locator("svg.dag .artifact:not(.present)")).to_have_count(0)
    legend = dialog.locator(".dag-legend")
    for state in ("pending", "running", "done", "failed", "cancelled", "cached"):
        expect(legend).to_contain_text(state)


def test_dag_of_a_cancelled_run_has_its_evaluator_and_cached_stages(laptop: Page, runs: Runs) -> None:
    page = laptop
    dialog = open_pipeline(page, runs.cancelled)
    expect(dialog.locator("svg.dag .node[data-component='Trainer']")).to_have_attribute("data-status", "cancelled")
    dialog.locator("svg.dag .node[data-component='Trainer']").scroll_into_view_if_needed()
    issue_shot(page, "dag-cancelled")
    expect(dialog.locator("svg.dag .node[data-component='Evaluator']")).to_have_attribute("data-status", "cancelled")
    expect(dialog.locator("svg.dag .node.cached")).to_have_count(3)


def test_dag_running_node_pulses(laptop: Page, runs: Runs) -> None:
    page = laptop
    dialog = open_pipeline(page, runs.running)
    running = dialog.locator("svg.dag .node[data-component='Transform']")
    expect(running).to_have_attribute("data-status", "running")
    expect(dialog.locator("ol.log-summary li.log-entry").last).to_contain_text("building vocabularies")
    issue_shot(page, "dag-running")
    assert running.locator("rect").evaluate("e => getComputedStyle(e).animationName") == "pulse"
    expect(dialog.locator("svg.dag .node[data-component='Evaluator']")).to_have_attribute("data-status", "pending")


def test_card_says_what_the_current_stage_is_doing(laptop: Page, gateway: Gateway, runs: Runs) -> None:
    page = laptop
    page.goto("/#/experiments")
    card = page.locator(f".exp-card[data-experiment-id='{runs.running['id']}']")
    expect(card.locator(".progress .caption")).to_contain_text("Current:")
    card.scroll_into_view_if_needed()
    issue_shot(page, "card-current")
    expect(card.locator(".progress .caption")).to_contain_text("Current: Transform (building vocabularies)")
