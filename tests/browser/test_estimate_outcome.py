"""Estimated against actual on a finished run (decision 093): the card, the view modal and the API agree."""

from __future__ import annotations

from datetime import datetime

import pytest
from experiments_platform.repositories.experiments import ExperimentRepository
from playwright.sync_api import Page, expect

from .conftest import Gateway, screenshot

pytestmark = pytest.mark.browser


def test_a_finished_run_shows_its_estimate_against_what_it_took(page: Page, gateway: Gateway) -> None:
    from .seeding import seed_experiments

    documents = gateway.stack.platform.documents
    seeded = seed_experiments(documents, gateway.dataset(), 1, seed=93, name_prefix="Estimate outcome")
    doc = documents.get("experiments", seeded.completed[0])
    assert doc is not None
    took = (datetime.fromisoformat(doc["finished_at"].replace("Z", "+00:00"))
            - datetime.fromisoformat(doc["started_at"].replace("Z", "+00:00"))).total_seconds()
    doc["estimate"] = {"duration_s": round(took * 0.8, 1), "cost_usd": 0.0, "hardware_tier": "small",
                       "recommended_tier": "small", "target": "local",
                       "stage_durations_s": {"compile": 2.0, "examples": 3.0, "stats": 4.0, "schema": 0.5,
                                             "transform": 5.0, "train": round(took * 0.8 - 14.5, 1)}}
    ExperimentRepository(documents).save(doc)

    answer = gateway.api("GET", f"/api/experiments/{doc['id']}/estimate")
    assert answer["outcome"]["error"] == pytest.approx(-0.2, abs=0.01)
    assert answer["outcome"]["stages"]["stats"]["estimated_s"] == 4.0
    calibration = gateway.api("GET", "/api/estimates/calibration")
    assert doc["id"] in [o["experiment_id"] for o in calibration["outcomes"]]
    assert calibration["learning"] and calibration["tiers"]["small"]["runs"] >= 1

    page.goto("/#/experiments")
    card = page.locator(f".exp-card[data-experiment-id='{doc['id']}']")
    expect(card.locator(".estimate-outcome")).to_contain_text("20% under")
    page.goto(f"/#/experiments?view={doc['id']}")
    dialog = page.get_by_role("dialog", name=f"Exp #{doc['number']}")
    expect(dialog.locator("#duration-vs-estimate")).to_contain_text("20% under on small")
    expect(dialog.locator("#stage-times")).to_contain_text("(est. 4 s)")
    screenshot(page, "93-estimate-outcome")
