"""One formatting convention on screen, details users should not need behind a toggle, and the
configuration cards' missing facts (issue 15; issue 10 section 3 for ``created_by``).

Each test failed before its change: a year read "1,930" in Data Insights and top-value counts "15k"
beside "2,699"; the Datasets page and compare's Source row printed ``file:///…`` in full; the wizard
showed a misspelt column twice, once as ``query_features[0].column: …``; feature-config cards named
no dataset and no card its author; the schema table printed ``int_domain``.

Screenshots (1280×800): ``conftest.issue_shot`` (``ISSUE15_PHASE=before`` with ``PLATFORM_UI_DIR`` at the
previous UI records the screens before a change).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from experiments_platform.domain.base import new_id
from experiments_platform.identity import current_user
from playwright.sync_api import Page, Route, expect

from .conftest import SAMPLE_DATASET, Gateway, SeededRuns, issue_shot

pytestmark = pytest.mark.browser

GROUPED = re.compile(r"^\d{1,3}(,\d{3})*$")


@pytest.fixture
def narrow(page: Page) -> Page:
    page.set_viewport_size({"width": 1280, "height": 800})
    return page


def feature_row(insights: dict[str, Any], split: str, name: str) -> dict[str, Any]:
    stats = next(s for s in insights["statistics"]["splits"] if s["split"] == split)
    return next(f for f in stats["numeric_features"] + stats["categorical_features"] if f["name"] == name)


def test_data_values_counts_and_domains_read_one_way(narrow: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    page = narrow
    insights = gateway.api("GET", f"/api/experiments/{seeded.best}/data-insights")
    split = insights["statistics"]["splits"][0]["split"]
    year = feature_row(insights, split, "release_year")
    page.goto(f"/#/experiments?view={seeded.best}")
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("tab", name="Data Insights").click()
    numeric = dialog.locator("table.stats-table[data-kind='numeric']")
    row = numeric.locator("tr", has=page.locator("td", has_text=re.compile("^release_year$")))
    expect(row).to_be_visible()
    issue_shot(page, "formatting-insights")
    cells = row.locator("td")
    expect(cells.nth(6)).to_have_text(str(int(year["min"])))  # a year, not "1,930"
    expect(cells.nth(8)).to_have_text(str(int(year["max"])))
    expect(cells.nth(1)).to_have_text(f"{year['count']:,}")  # a count keeps its separators
    counts = dialog.locator("table.stats-table[data-kind='categorical'] .top-values .num")
    expect(counts.first).to_be_visible()
    for text in counts.all_inner_texts():
        assert GROUPED.match(text), f"top-value count {text!r}: one count style (1,234), never 15k"
    schema = dialog.locator("table.schema-table")
    schema.scroll_into_view_if_needed()
    expect(schema.locator("td", has_text="_domain")).to_have_count(0)


def test_the_schema_shows_a_readable_domain_or_nothing(narrow: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    """The served data insights, the text feature ``genres`` given the bare ``int_domain`` a tokenised
    text column gets and ``item_id`` an integer range (values from the data: no separators)."""
    page = narrow
    insights = gateway.api("GET", f"/api/experiments/{seeded.best}/data-insights")
    domains = {"genres": {"kind": "int_domain", "name": None, "values": None, "min": None, "max": None,
                          "is_categorical": True},
               "item_id": {"kind": "int_domain", "name": None, "values": None, "min": 0, "max": 1681,
                           "is_categorical": True}}
    for feature in insights["schema"]["features"]:
        feature["domain"] = domains.get(feature["name"], feature["domain"])

    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(insights))

    page.route(f"**/api/experiments/{seeded.best}/data-insights", serve)
    page.goto(f"/#/experiments?view={seeded.best}")
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("tab", name="Data Insights").click()
    schema = dialog.locator("table.schema-table")
    genres = schema.locator("tr", has=page.locator("td", has_text=re.compile("^genres$"))).locator("td").nth(4)
    genres.scroll_into_view_if_needed()
    expect(genres).not_to_be_empty()
    issue_shot(page, "schema")
    expect(genres).to_have_text("—")
    items = schema.locator("tr", has=page.locator("td", has_text=re.compile("^item_id$"))).locator("td").nth(4)
    expect(items).to_have_text("0 … 1681")
    expect(schema.locator("td", has_text="_domain")).to_have_count(0)


def test_differences_that_round_to_zero_carry_no_sign(narrow: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    """The served noise table, its first row's difference set to 0.04 pp (interval −0.04 … 0.03 pp)."""
    page = narrow
    noise = gateway.api("GET", f"/api/experiments/{seeded.best}/noise")
    assert noise["rows"], "the seeded best run has a previous best of its protocol"
    first = noise["rows"][0]
    first.update(difference_pp=0.04, low_pp=-0.04, high_pp=0.03)

    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(noise))

    page.route(f"**/api/experiments/{seeded.best}/noise", serve)
    page.goto(f"/#/experiments?view={seeded.best}")
    table = page.get_by_role("dialog").locator(".noise-table")
    row = table.locator(f"tr[data-metric='{first['metric']}'] td")
    expect(row.nth(2)).not_to_be_empty()
    table.scroll_into_view_if_needed()
    issue_shot(page, "formatting-noise")
    expect(row.nth(2)).to_have_text("±0.0")
    expect(row.nth(3)).to_have_text("[±0.0, ±0.0]")
    expect(table).to_contain_text("95% interval")


def test_storage_locations_sit_behind_a_details_toggle(narrow: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    page = narrow
    source = gateway.dataset(SAMPLE_DATASET).source.uri
    assert source.startswith("file://")
    page.goto("/#/datasets")
    card = page.get_by_role("article", name="dataset MovieLens 100k, first 50 users")
    expect(card).to_be_visible()
    issue_shot(page, "datasets")
    location = card.locator(".dataset-source details.uri-details")
    expect(location.locator("summary")).to_have_text(source.rsplit("/", 1)[-1])
    expect(location.locator(".uri-full")).to_be_hidden()
    assert "file://" not in card.locator(".dataset-source").inner_text(), "the URI shows only when asked for"
    location.locator("summary").click()
    expect(location.locator(".uri-full")).to_have_text(source)

    first, second = seeded.best, next(i for i in seeded.completed if i != seeded.best)
    page.goto("/#/experiments")
    page.get_by_role("button", name="⇄ Compare").click()
    selection = page.get_by_role("dialog", name="Select experiments to compare")
    selection.locator(f"input[data-id='{first}']").check()
    selection.locator(f"input[data-id='{second}']").check()
    selection.locator("#compare-go").click()
    row = page.get_by_role("dialog", name="Compare 2 experiments").locator("tr[data-row='source']")
    expect(row.locator("details.uri-details")).to_have_count(2)
    expect(row.locator("summary").first).not_to_contain_text("://")
    expect(row.locator(".uri-full").first).to_have_text(source)


def test_a_misspelt_column_is_caught_on_save_and_a_start_error_is_shown_once(
        narrow: Page, gateway: Gateway, seeded: SeededRuns) -> None:
    page = narrow
    page.goto("/#/feature-configs")
    page.get_by_role("button", name="+ New feature config").first.click()
    editor = page.get_by_role("dialog", name="New feature config")
    editor.get_by_label("Name").first.fill("Any dataset, misspelt")
    expect(editor.get_by_label("Dataset")).to_contain_text("any dataset")
    editor.get_by_label("Dataset").select_option("")
    editor.locator("[data-field='query_features.0.column']").fill("user_idd")
    editor.locator("[data-field='candidate_features.0.column']").fill("item_id")
    editor.get_by_role("button", name="Save").click()
    error = editor.locator("[data-field-wrap='query_features.0.column'] .field-error")
    expect(error).to_contain_text("no registered dataset has it")
    expect(error).to_contain_text("did you mean 'user_id'")
    page.keyboard.press("Escape")

    # A config stored before this check (or whose dataset lost the column) still meets Start's check.
    stored = gateway.api("GET", "/api/feature-configs")["items"][0]
    config = {**stored, "id": new_id(), "name": "Stored misspelt", "dataset_id": None,
              "query_features": [{**stored["query_features"][0], "column": "user_idd"}], "cross_features": []}
    gateway.stack.platform.documents.set("feature_configs", config["id"], config)
    page.goto("/#/experiments")
    page.get_by_role("button", name="New experiment").first.click()
    wizard = page.get_by_role("dialog", name="New experiment")
    wizard.get_by_label("Name").first.fill("misspelt")
    wizard.locator("[data-field='dataset_id']").select_option(SAMPLE_DATASET)
    wizard.locator("[data-field='feature_config_id']").select_option(config["id"])
    wizard.get_by_role("button", name="Next →").click()
    wizard.get_by_role("button", name=re.compile("Start")).click()
    told = wizard.locator(".field-error:visible, .form-error:visible").filter(has_text="unknown column 'user_idd'")
    expect(told.first).to_be_visible()
    issue_shot(page, "wizard-error")
    expect(told).to_have_count(1)
    expect(told).to_contain_text("Query feature 1 column: unknown column 'user_idd'")
    text = wizard.inner_text()
    assert "query_features[0]" not in text and "feature_config_id:" not in text, "fields named as people name them"
    gateway.stack.platform.documents.delete("feature_configs", config["id"])


def test_config_cards_show_their_dataset_and_author(narrow: Page, gateway: Gateway) -> None:
    page = narrow
    reset = current_user.set("ada@example.com")
    try:
        from experiments_platform.handlers import configs

        body = {"name": "Authored ids", "dataset_id": SAMPLE_DATASET,
                "query_features": [{"column": "user_id", "kind": "id"}],
                "candidate_features": [{"column": "item_id", "kind": "id"}]}
        created = configs.create_feature_config(gateway.stack.platform.documents, body)
        model = configs.create_model_config(gateway.stack.platform.documents, {"name": "Authored towers"})
    finally:
        current_user.reset(reset)
    page.goto("/#/feature-configs")
    card = page.get_by_role("article", name="feature config Authored ids")
    card.scroll_into_view_if_needed()
    issue_shot(page, "feature-configs")
    expect(card.locator(".config-dataset")).to_have_text(gateway.dataset(SAMPLE_DATASET).name)
    expect(card.locator(".created-by")).to_have_text(" · created by ada@example.com")
    page.goto("/#/model-configs")
    expect(page.get_by_role("article", name="model config Authored towers").locator(".created-by")).to_contain_text(
        "ada@example.com")
    gateway.api("DELETE", f"/api/feature-configs/{created['id']}")
    gateway.api("DELETE", f"/api/model-configs/{model['id']}")
