"""A read the gateway refuses as overloaded (503 ``OVERLOADED`` with ``Retry-After``, decision 058) is sent again
by the UI after the delay it names, instead of showing an error (issue 10 section 5)."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import Page, Route, expect

from .conftest import Gateway

pytestmark = pytest.mark.browser


def test_a_read_refused_as_overloaded_is_sent_again_after_retry_after(page: Page, gateway: Gateway) -> None:
    stats = gateway.api("GET", "/api/dashboard/stats")
    answered: list[tuple[int, float]] = []

    def overloaded_once(route: Route) -> None:
        if not answered:
            answered.append((503, time.monotonic()))
            route.fulfill(status=503, headers={"Retry-After": "1"}, content_type="application/json",
                          body=json.dumps({"error_code": "OVERLOADED", "message": "retry after 1 s"}))
        else:
            answered.append((200, time.monotonic()))
            route.continue_()

    page.route("**/api/dashboard/stats*", overloaded_once)
    page.goto("/#/dashboard")
    expect(page.locator("#summary-cards [data-stat='total'] .value")).to_have_text(f"{stats['total']:,}")
    assert [status for status, _ in answered] == [503, 200]
    assert answered[1][1] - answered[0][1] >= 0.9, "the retry waited for Retry-After"
