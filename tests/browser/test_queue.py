"""Queued experiments on their cards (decision 052): the position in the queue, and who started them
(decision 053), as the experiments page shows them."""

from __future__ import annotations

import pytest
from experiments_platform.repositories.experiments import ExperimentRepository
from playwright.sync_api import Page, expect

from .conftest import Gateway, screenshot

pytestmark = pytest.mark.browser


def test_a_queued_experiment_shows_its_place_in_the_queue_and_its_creator(page: Page, gateway: Gateway) -> None:
    from .seeding import seed_experiments

    documents = gateway.stack.platform.documents
    seeded = seed_experiments(documents, gateway.dataset(), 3, seed=52, name_prefix="Queue")
    holder, first, second = (documents.get("experiments", i) for i in seeded.completed[:3])
    assert holder and first and second
    repository = ExperimentRepository(documents)
    try:
        _show_the_queue(page, gateway, repository, holder, first, second)
    finally:  # the stack is shared by the module's other tests: give the slot back (reconcile admits what waits)
        repository.save(holder, first, second)


def _show_the_queue(page: Page, gateway: Gateway, repository: ExperimentRepository, holder: dict, first: dict,
                    second: dict) -> None:
    # Every run slot taken (this machine's limit is 1), two experiments waiting behind it.
    repository.save({**holder, "status": "running", "finished_at": None, "results": None, "comparison": None,
                     "pipeline_job_name": None, "cloud_build_id": None})
    limit = gateway.stack.settings.resolved_max_concurrent_runs
    assert limit == 1, "this test fills one slot"
    for doc in (first, second):
        repository.save({**doc, "status": "queued", "finished_at": None, "started_at": None, "results": None,
                         "comparison": None, "pipeline_job_name": None, "cloud_build_id": None,
                         "created_by": "ada@example.com", "stages": {}})

    page.goto("/#/experiments")
    first_card = page.locator(f".exp-card[data-experiment-id='{first['id']}']")
    second_card = page.locator(f".exp-card[data-experiment-id='{second['id']}']")
    expect(first_card).to_contain_text("Queued: 1 of 2 waiting for a run slot")
    expect(second_card).to_contain_text("Queued: 2 of 2 waiting for a run slot")
    expect(first_card).to_contain_text("by ada@example.com")
    screenshot(page, "52-queued-cards")
