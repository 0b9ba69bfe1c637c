"""Datasets page: a web user uploads a file instead of typing a server path (issue 10 section 1)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Gateway, screenshot

pytestmark = pytest.mark.browser

EVENTS = b"buyer,sku,day\nb1,s1,2024-03-01\nb1,s2,2024-03-02\nb2,s1,2024-03-02\nb3,s3,2024-03-05\n"


def open_register(page: Page) -> object:
    page.goto("/#/datasets")
    page.get_by_role("button", name="+ New dataset").first.click()
    return page.get_by_role("dialog", name="Register a dataset")


def test_a_user_uploads_a_csv_and_sees_the_dataset(page: Page, gateway: Gateway) -> None:
    dialog = open_register(page)
    expect(dialog.locator("[data-field='source.kind']")).to_have_value("upload")
    expect(dialog.locator("[data-field='source.uri']")).to_be_hidden()
    dialog.get_by_label("Name").fill("Uploaded purchases")
    dialog.get_by_label("File to upload").set_input_files(
        files=[{"name": "purchases.csv", "mimeType": "text/csv", "buffer": EVENTS}])
    dialog.get_by_label("Buyer / query id column").fill("buyer")
    dialog.get_by_label("Product / candidate id column").fill("sku")
    dialog.get_by_label("Date column").fill("day")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    card = page.get_by_role("article", name="dataset Uploaded purchases")
    expect(card.locator(".row-count")).to_have_text("4")
    expect(card).to_contain_text("purchases.csv")
    card.get_by_text("3 columns").click()
    expect(card.locator(".columns-table tbody tr")).to_have_count(3)
    screenshot(page, "datasets-uploaded")
    [stored] = [d for d in gateway.api("GET", "/api/datasets")["items"] if d["name"] == "Uploaded purchases"]
    assert stored["date_column"] == "day" and stored["row_count"] == 4
    gateway.api("DELETE", f"/api/datasets/{stored['id']}")


def test_a_refused_upload_shows_why_beside_the_file(page: Page, gateway: Gateway) -> None:
    dialog = open_register(page)
    dialog.get_by_label("Name").fill("Empty upload")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("[data-field-wrap='file'] .field-error")).to_contain_text("Choose a CSV or Parquet file")
    dialog.get_by_label("File to upload").set_input_files(
        files=[{"name": "empty.csv", "mimeType": "text/csv", "buffer": b"buyer,sku\n"}])
    dialog.get_by_label("Buyer / query id column").fill("buyer")
    dialog.get_by_label("Product / candidate id column").fill("sku")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("[data-field-wrap='file'] .field-error")).to_contain_text("the file has no rows")
    screenshot(page, "datasets-upload-refused")
