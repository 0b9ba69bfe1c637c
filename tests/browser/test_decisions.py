"""Noise bands, sweeps and attribution in the browser (decisions 065-068): the seed-group card, the
sweep view (a seeded finished 2 × 2 sweep with 3 repeats per cell, and a real sweep started from the
form, its grid filling, then cancelled whole), and the dashboard's attribution panel.

Screenshots: 70-seed-group-card, 71-sweep-form-estimate, 72-sweep-view-live, 73-sweep-view-cancelled,
74-sweep-view-complete, 75-attribution-panel, 76-view-modal-noise-table.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone

import pytest
from experiments_platform.domain.experiment import Experiment, QuickTestParameters, SweepMembership
from experiments_platform.domain.protocol import protocol_key
from experiments_platform.domain.status import Status
from experiments_platform.domain.sweep import Sweep, SweepAxis, SweepChild, cell_key
from experiments_platform.repositories.experiments import ExperimentRepository
from experiments_platform.repositories.sweeps import SweepRepository
from playwright.sync_api import Page, expect

from .conftest import Gateway, screenshot
from .seeding import feature_config, model_config, results

pytestmark = pytest.mark.browser

SPLIT_SEED = 4242  # a protocol of its own: the attribution panel sees these runs only


def seed_finished_sweep(gateway: Gateway) -> tuple[Sweep, str]:
    """A 2 × 2 sweep (learning rate × id embedding dims), three repeats per cell, every run completed."""
    documents = gateway.stack.platform.documents
    dataset = gateway.dataset()
    rng = random.Random(11)
    layers = (64, 32)
    model = model_config(layers)
    documents.set("model_configs", model.id, model.to_document())
    sweep = Sweep(name="Seeded lr × dims", dataset_id=dataset.id, feature_config_id="-", model_config_id=model.id,
                  parameters={"sample_percent": 25, "seed": SPLIT_SEED},
                  axes=[SweepAxis(field="learning_rate", values=[0.02, 0.1]),
                        SweepAxis(field="embedding_dims", values=[16, 64])], repeats=3, expected_children=12)

    def reserve(tx: object) -> int:
        counter = tx.get("counters", "experiments") or {}  # type: ignore[attr-defined]
        first = int(counter.get("last_number", 0)) + 1
        tx.set("counters", "experiments", {**counter, "last_number": first + 11})  # type: ignore[attr-defined]
        return first

    number = documents.run_transaction(reserve)
    now = datetime.now(timezone.utc)
    docs = []
    for lr in (0.02, 0.1):
        for dim in (16, 64):
            features = feature_config(dataset.id, dim, ())
            documents.set("feature_configs", features.id, features.to_document())
            cell = {"learning_rate": lr, "embedding_dims": dim}
            texts = {"learning_rate": f"{lr:g}", "embedding_dims": str(dim)}
            for repeat in range(3):
                created = now - timedelta(seconds=60 - len(docs))
                experiment = Experiment(
                    number=number, name=f"Seeded lr × dims · lr {lr:g}, {dim}d · seed {repeat + 1}/3",
                    dataset_id=dataset.id, feature_config_id=features.id, model_config_id=model.id,
                    dataset_snapshot=dataset, feature_config_snapshot=features, model_config_snapshot=model,
                    parameters=QuickTestParameters(sample_percent=25, seed=SPLIT_SEED, epochs=3, batch_size=512,
                                                   training_seed=SPLIT_SEED + repeat, learning_rate=lr),
                    status=Status.COMPLETED, results=results(rng, dim, False, layers, 3, lr, None),
                    sweep=SweepMembership(sweep_id=sweep.id, cell_key=cell_key(cell), cell=texts, repeat=repeat,
                                          repeats=3),
                    created_at=created, updated_at=created + timedelta(minutes=2), started_at=created,
                    finished_at=created + timedelta(minutes=2))
                for stage in experiment.stages.values():
                    stage.status = "succeeded"  # type: ignore[assignment]
                docs.append(experiment.to_document())
                sweep.children.append(SweepChild(experiment_id=experiment.id, number=number, cell_key=cell_key(cell),
                                                 cell=texts, repeat=repeat))
                number += 1
    ExperimentRepository(documents).save(*docs)
    SweepRepository(documents).create(sweep)
    key = protocol_key(docs[0])
    assert key is not None
    return sweep, key


def test_seed_groups_sweeps_and_attribution(page: Page, gateway: Gateway) -> None:
    sweep, key = seed_finished_sweep(gateway)
    groups = {g["id"]: g for g in gateway.api("GET", "/api/seed-groups")["items"]}
    first = sweep.children[0]
    group = groups[f"{sweep.id}/{first.cell_key}"]
    spread = group["metrics"]["recall_at_100"]
    assert spread["n"] == 3 and spread["std"] > 0

    # The seed-group card: mean ± std of the group's completed repeats on every member's card
    page.goto("/#/experiments")
    card = page.locator(f"[data-experiment-id='{first.experiment_id}']")
    expect(card.locator(".seed-badge")).to_have_text("seed 1/3")
    mean, std = spread["mean"] * 100, spread["std"] * 100
    expect(card.locator(".seed-stats")).to_contain_text(f"{mean:.1f}% ± {std:.1f} pp over 3 of 3 repeats")
    card.scroll_into_view_if_needed()
    screenshot(page, "70-seed-group-card")

    # "vs previous best" in the view modal: per metric, pp, interval, better / within noise / worse
    table = gateway.api("GET", f"/api/experiments/{first.experiment_id}/noise")
    head = next(r for r in table["rows"] if r["metric"] == "recall_at_100")
    assert head["interval_source"] == "seed group means (Welch)" and head["verdict"] == "worse"
    card.get_by_role("button", name=f"View Exp #{first.number}").click()
    row = page.locator("#noise-table tr[data-metric='recall_at_100']")
    expect(row).to_have_attribute("data-verdict", "worse")
    expect(row).to_contain_text(f"−{abs(head['difference_pp']):.1f}")
    page.locator("#noise-table").scroll_into_view_if_needed()
    screenshot(page, "76-view-modal-noise-table")
    page.keyboard.press("Escape")

    # The finished sweep's grid: four cells, each mean ± std over three repeats, the best starred
    view = gateway.api("GET", f"/api/sweeps/{sweep.id}")
    assert view["status"] == "completed"
    page.goto(f"/#/sweeps?id={sweep.id}")
    expect(page.locator("#sweep-status")).to_have_text("completed")
    cells = page.locator("#sweep-view td.cell")
    expect(cells).to_have_count(4)
    expect(page.locator("#sweep-view td.cell[data-n='3']")).to_have_count(4)
    expect(page.locator("#sweep-view td.cell.best")).to_have_attribute("data-key", view["best_cell"]["key"])
    screenshot(page, "74-sweep-view-complete")

    # The attribution panel on the dashboard, on the sweep's protocol
    panel = gateway.api("GET", f"/api/dashboard/attribution?protocol={key}")
    assert panel["runs"] == 12, "the seeded sweep's protocol holds its twelve runs only"
    top = panel["parameters"][0]
    page.goto("/#/dashboard")
    band = page.locator(f"#leaderboard-table [data-id='{first.experiment_id}'] .seed-band")
    expect(band).to_have_text(f" ± {std:.1f} pp")
    protocol = page.locator("#attribution-protocol")
    expect(protocol.locator(f"option[value='{key}']")).to_have_count(1)
    if protocol.input_value() != key:
        protocol.select_option(key)
    table = page.locator("#attribution-table")
    expect(table.locator("tbody tr")).to_have_count(len(panel["parameters"]))
    row = table.locator(f"tr[data-parameter='{top['parameter']}']")
    expect(row).to_contain_text(f"{top['share_of_variance'] * 100:.0f}%")
    expect(row).to_contain_text("yes" if top["beyond_noise"] else "within noise")
    page.locator("#attribution-panel").scroll_into_view_if_needed()
    screenshot(page, "75-attribution-panel")

    # A seed group from the new-experiment wizard: Repeats 2 makes two experiments on one split
    page.goto("/#/experiments")
    page.locator("#new-experiment").click()
    wizard = page.get_by_role("dialog", name="New experiment")
    wizard.get_by_label("Name").fill("Wizard seed group")
    wizard.get_by_label("Dataset").select_option(gateway.dataset().id)
    wizard.get_by_label("Feature config").select_option(index=0)
    wizard.get_by_role("button", name="Next →").click()
    wizard.get_by_label("Data sample").select_option("100")
    wizard.get_by_label("Repeats").fill("2")
    wizard.get_by_role("button", name="▶ Start quick test").click()
    expect(wizard).to_be_hidden(timeout=60_000)
    slots = page.locator("[data-seed-group]").filter(has=page.locator(".seed-badge", has_text="/2"))
    expect(slots).to_have_count(2)
    group_id = slots.first.get_attribute("data-seed-group") or ""
    members = [gateway.api("GET", f"/api/experiments/{c['experiment_id']}")
               for c in gateway.api("GET", f"/api/sweeps/{group_id.split('/')[0]}")["children"]]
    assert sorted(m["parameters"]["training_seed"] for m in members) == [42, 43]
    assert len({m["protocol"]["key"] for m in members}) == 1
    gateway.api("POST", f"/api/sweeps/{group_id.split('/')[0]}/cancel")

    # A real sweep from the form: estimate, start, the grid filling live, then cancel the whole sweep
    page.goto("/#/sweeps")
    page.locator("#sweep-name").fill("Form sweep")
    page.locator("#sweep-feature-config").select_option(index=0)
    page.locator("#sweep-sample").select_option("100")
    page.locator("#sweep-axis-0-field").select_option("epochs")
    page.locator("#sweep-axis-0-values").fill("1 2")
    page.locator("#sweep-axis-1-field").select_option("learning_rate")
    page.locator("#sweep-axis-1-values").fill("0.05 0.1")
    page.locator("#sweep-repeats").fill("1")
    page.locator("#sweep-estimate-button").click()
    expect(page.locator("#sweep-estimate")).to_contain_text("4 experiments")
    screenshot(page, "71-sweep-form-estimate")
    page.locator("#sweep-start").click()
    expect(page).to_have_url(re.compile(r"#/sweeps\?id="), timeout=60_000)
    sweep_id = page.url.split("id=", 1)[1]
    expect(page.locator("#sweep-status")).to_have_text("running")
    expect(page.locator("#sweep-view td.cell")).to_have_count(4)
    screenshot(page, "72-sweep-view-live")
    page.locator("#sweep-cancel").click()
    expect(page.locator("#sweep-status")).to_have_text("cancelled", timeout=120_000)
    live = gateway.api("GET", f"/api/sweeps/{sweep_id}")
    assert live["cancel_requested"] and all(
        gateway.api("GET", f"/api/experiments/{c['experiment_id']}")["status"] in ("completed", "cancelled", "failed")
        for c in live["children"])
    screenshot(page, "73-sweep-view-cancelled")
