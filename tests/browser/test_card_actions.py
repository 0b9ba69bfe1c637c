"""Experiment cards: a click anywhere on the card (not only on its View button) opens the run's view, and a
running card's "elapsed" ticks every second between updates of the experiment instead of freezing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from experiments_platform.repositories.experiments import ExperimentRepository
from playwright.sync_api import Page, expect

from .conftest import Gateway, screenshot

pytestmark = pytest.mark.browser


def test_the_whole_card_opens_the_view_and_elapsed_ticks(page: Page, gateway: Gateway) -> None:
    from .seeding import seed_experiments

    documents = gateway.stack.platform.documents
    seeded = seed_experiments(documents, gateway.dataset(), 2, seed=15, name_prefix="Card")
    done, live = (documents.get("experiments", i) for i in seeded.completed[:2])
    assert done and live
    repository = ExperimentRepository(documents)
    started = (datetime.now(timezone.utc) - timedelta(minutes=3)).isoformat()
    repository.save({**live, "status": "running", "started_at": started, "finished_at": None, "results": None,
                     "comparison": None, "pipeline_job_name": None, "cloud_build_id": None})
    try:
        page.goto("/#/experiments")
        card = page.locator(f".exp-card[data-experiment-id='{live['id']}']")
        elapsed = card.locator(".elapsed")
        expect(elapsed).to_have_text(re.compile(r"elapsed 3 min"))
        first = elapsed.inner_text()
        # No update of the experiment meanwhile: the clock alone moves the text.
        expect(elapsed).not_to_have_text(first, timeout=4_000)
        screenshot(page, "i2-card-elapsed-ticking")

        done_card = page.locator(f".exp-card[data-experiment-id='{done['id']}']")
        done_card.locator(".name").click()
        dialog = page.get_by_role("dialog", name=f"Exp #{done['number']}")
        expect(dialog).to_be_visible()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        # The card's own buttons keep their actions: Cancel asks to cancel, it does not open the view.
        card.get_by_role("button", name=f"Cancel Exp #{live['number']}").click()
        confirm = page.get_by_role("dialog", name="Cancel Exp")
        expect(confirm).to_be_visible()
        expect(page.get_by_role("dialog")).to_have_count(1)
        page.keyboard.press("Escape")
    finally:
        repository.save({**documents.get("experiments", live["id"]), "status": "cancelled",
                         "finished_at": datetime.now(timezone.utc).isoformat()})
