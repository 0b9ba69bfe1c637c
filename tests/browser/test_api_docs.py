"""The API documentation page: linked from the UI's header, Swagger UI (from npm, served by the gateway)
renders the gateway's own OpenAPI document, and nothing is fetched from anywhere but the gateway."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from .conftest import Gateway, screenshot

pytestmark = pytest.mark.browser


def test_the_header_links_the_api_docs_page_which_renders_the_openapi_document(page: Page, gateway: Gateway) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/#/experiments")
    link = page.locator("header.topbar").get_by_role("link", name="API docs")
    expect(link).to_have_attribute("href", "/api/docs")
    with page.context.expect_page() as opened:
        link.click()
    docs = opened.value
    docs.on("request", lambda request: requested.append(request.url))
    expect(docs.locator("#swagger-ui")).to_have_attribute("data-state", "ready")
    document = gateway.api("GET", "/api/openapi.json")
    expect(docs.locator(".info .title")).to_contain_text(document["info"]["title"])
    operation = docs.locator(".opblock-summary-path[data-path='/api/experiments']").first
    expect(operation).to_be_visible()
    methods = ("get", "post", "put", "patch", "delete")
    operations = sum(1 for item in document["paths"].values() for method in item if method in methods)
    expect(docs.locator(".opblock")).to_have_count(operations)
    screenshot(docs, "i2-api-docs")
    gateway_host = urlsplit(gateway.url).netloc
    elsewhere = [url for url in requested
                 if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != gateway_host]
    assert not elsewhere, f"the docs page fetched from outside the gateway: {elsewhere}"
    docs.close()
