"""The launch check in the browser (decision 061): the wizard says a doomed run would be refused and why,
and shows the warnings of one it would start; the card and the view modal show a run's warnings and
counts, and that it does not beat its best baseline beyond noise (decision 064).

Screenshots: 60-wizard-refusal, 61-wizard-warnings, 62-card-warnings, 63-view-launch-check.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from experiments_platform.domain.experiment import Experiment, QuickTestParameters
from experiments_platform.domain.preflight import Minimums
from experiments_platform.domain.status import Status
from experiments_platform.handlers.preflight import check_launch
from experiments_platform.handlers.results import compare_with_previous_best
from experiments_platform.repositories.experiments import ExperimentRepository
from playwright.sync_api import Page, expect

from .conftest import SAMPLE_DATASET, Gateway, screenshot
from .seeding import feature_config, model_config, results

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def configs(gateway: Gateway) -> dict[str, Any]:
    feature = gateway.api("POST", "/api/feature-configs", json={
        "name": "Launch check: ids", "dataset_id": SAMPLE_DATASET,
        "query_features": [{"column": "user_id", "kind": "id", "embedding_dim": 16}],
        "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 16}],
    })
    model = gateway.api("POST", "/api/model-configs", json={
        "name": "Launch check towers", "query_tower_layers": [16], "candidate_tower_layers": [16]})
    return {"feature": feature, "model": model}


def test_the_wizard_shows_a_refusal_and_the_warnings_before_launch(
    page: Page, gateway: Gateway, configs: dict[str, Any]
) -> None:
    page.goto("/#/experiments")
    page.locator("#new-experiment").click()
    wizard = page.get_by_role("dialog", name="New experiment")
    wizard.get_by_label("Name").fill("Launch check")
    wizard.get_by_label("Dataset").select_option(SAMPLE_DATASET)
    wizard.get_by_label("Feature config").select_option(configs["feature"]["id"])
    wizard.get_by_label("Model config").select_option(configs["model"]["id"])
    wizard.get_by_role("button", name="Next →").click()
    wizard.get_by_label("Data sample").select_option("10")
    summary = wizard.locator("#estimate-summary")
    expect(summary).to_contain_text("This run would be refused: Sample percent: the eval split would hold",
                                    timeout=15_000)
    expect(summary).to_contain_text("raise parameters.sample_percent (now 10)")
    screenshot(page, "60-wizard-refusal")

    wizard.get_by_label("Data sample").select_option("100")
    expect(summary).to_contain_text("Estimated for", timeout=15_000)
    warning = wizard.locator("#launch-warnings li[data-code='SMALL_TEST_SET']")
    expect(warning).to_contain_text("Small test set: The test split holds")
    screenshot(page, "61-wizard-warnings")


def test_the_card_and_the_view_modal_show_the_launch_check(page: Page, gateway: Gateway) -> None:
    dataset = gateway.dataset()
    features, model = feature_config(dataset.id, 32, ()), model_config((64, 32))
    parameters = QuickTestParameters(sample_percent=25, seed=42)
    check = check_launch(gateway.stack.platform.warehouse, dataset, features, model, parameters, Minimums())
    assert [w.code for w in check.warnings] == ["SMALL_TEST_SET", "HIGH_TEST_OOV"]
    documents = gateway.stack.platform.documents
    for config in (features, model):
        documents.set("feature_configs" if config is features else "model_configs", config.id, config.to_document())
    number = documents.run_transaction(_reserve_number)
    close_to_popularity = results(random.Random(3), 32, False, (64, 32), 3, 0.1, None)
    close_to_popularity["final"]["recall_at_100"] = 0.31  # popularity 29.5 %, 540 test interactions
    now = datetime.now(timezone.utc)
    experiment = Experiment(
        number=number, name="Run with launch warnings", dataset_id=dataset.id, feature_config_id=features.id,
        model_config_id=model.id, dataset_snapshot=dataset, feature_config_snapshot=features,
        model_config_snapshot=model, parameters=parameters, status=Status.COMPLETED,
        results=close_to_popularity, protocol=check.protocol,
        data_check=check.data, warnings=check.warnings, created_at=now - timedelta(minutes=3),
        started_at=now - timedelta(minutes=3), finished_at=now - timedelta(minutes=1))
    ExperimentRepository(documents).save(experiment.to_document())
    comparison = compare_with_previous_best(documents, experiment.id, dataset.id, close_to_popularity)
    assert comparison is not None and comparison["baseline"]["outcome"] == "within_noise"

    def with_comparison(e: Experiment) -> bool:
        e.comparison = comparison
        return True

    ExperimentRepository(documents).update(experiment.id, with_comparison)

    page.goto("/#/experiments")
    card = page.locator(f"article[data-experiment-id='{experiment.id}']")
    line = card.locator(".launch-warnings[data-warnings]")
    expect(line).to_have_text("⚠ " + " · ".join(w.title for w in check.warnings))
    assert "The test split holds" in str(line.locator("span").first.get_attribute("title"))
    expect(card.locator(".baseline-verdict")).to_have_text(
        "⚠ does not beat the best baseline beyond noise: Popularity Recall@100 29.5%, +1.5 pp within ±5.5 pp")
    screenshot(page, "62-card-warnings")

    card.get_by_role("button", name=f"View Exp #{number}").click()
    expect(page.locator("p.baseline-verdict")).to_contain_text("This run does not beat the best baseline beyond noise")
    section = page.get_by_role("region", name="Launch check")
    expect(section).to_contain_text(f"Protocol: {dataset.name} · 25% sample · random 80/10/10 · seed 42")
    warnings = page.get_by_role("region", name="Warnings")  # the overview lists every warning once (issue 15)
    expect(warnings.locator("li[data-code='HIGH_TEST_OOV']")).to_contain_text("never occurs in the training split")
    expect(section.locator("li")).to_have_count(0)
    test_row = section.locator("tr[data-split='test']")
    expect(test_row.locator("td").nth(1)).to_have_text(f"{check.data.split('test').interactions:,}")
    expect(section).to_contain_text(f"Candidate corpus: {check.data.corpus_size:,} distinct products")
    section.scroll_into_view_if_needed()
    screenshot(page, "63-view-launch-check")


def _reserve_number(tx: Any) -> int:
    counter = tx.get("counters", "experiments") or {}
    number = int(counter.get("last_number", 0)) + 1
    tx.set("counters", "experiments", {**counter, "last_number": number})
    return number
