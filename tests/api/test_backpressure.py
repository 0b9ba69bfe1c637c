"""Backpressure of the gateway (issue 10 section 5, decision 058): beyond its capacity of requests in
flight a worker answers 503 with ``Retry-After`` at once, instead of queueing them.

The capacity is held by a request parked on an event (a route added to the test's app), never by a sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.web.app import create_app
from flask import Flask, Response, jsonify


class Held:
    """A route ``/api/held`` whose requests wait until ``release`` is set; ``entered`` counts them in."""

    def __init__(self, app: Flask) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

        def held() -> Response:
            self.entered.release()
            if not self.release.wait(30):
                raise TimeoutError("the test never released the held request")
            return jsonify({"held": True})

        def failing() -> Response:
            raise RuntimeError("a view that fails")

        app.add_url_rule("/api/held", view_func=held)
        app.add_url_rule("/api/failing", view_func=failing)


def gateway(tmp_path: Path, capacity: int) -> Iterator[tuple[Flask, Held]]:
    platform = Platform(Settings(data_dir=tmp_path / "var", gateway_max_in_flight=capacity))
    app = create_app("api_gateway", platform, test_config={"TESTING": True})
    held = Held(app)
    yield app, held
    held.release.set()
    platform.close()


@pytest.fixture
def one_slot(tmp_path: Path) -> Iterator[tuple[Flask, Held]]:
    yield from gateway(tmp_path, capacity=1)


def test_beyond_capacity_the_gateway_answers_503_with_retry_after_at_once(one_slot: tuple[Flask, Held]) -> None:
    app, held = one_slot
    with ThreadPoolExecutor(1) as pool:
        parked = pool.submit(app.test_client().get, "/api/held")
        assert held.entered.acquire(timeout=10), "the held request never reached its view"
        started = time.perf_counter()
        refused = app.test_client().get("/api/experiments")
        elapsed_ms = (time.perf_counter() - started) * 1000
        assert refused.status_code == 503, refused.get_data(as_text=True)[:300]
        assert refused.headers["Retry-After"] == "1"
        assert refused.mimetype == "application/json"
        assert refused.json["error_code"] == "OVERLOADED"
        assert "1 at once per worker" in refused.json["message"] and "retry after 1 s" in refused.json["message"]
        assert elapsed_ms < 1000, "a refusal does not wait for a slot"
        assert app.test_client().get("/healthz").status_code == 200, "a health probe is never refused"
        held.release.set()
        assert parked.result(timeout=10).json == {"held": True}
    assert app.test_client().get("/api/experiments").status_code == 200, "the slot is free again"


def test_a_failing_or_refused_request_gives_its_slot_back(one_slot: tuple[Flask, Held]) -> None:
    app, _ = one_slot
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/failing").status_code == 500
        assert client.get("/api/experiments/nope").status_code == 404
        assert client.post("/api/experiments", json={"name": 3}).status_code == 400
    assert client.get("/api/experiments").status_code == 200


def test_requests_within_capacity_all_run_at_once(tmp_path: Path) -> None:
    for app, held in gateway(tmp_path, capacity=3):
        with ThreadPoolExecutor(3) as pool:
            parked = [pool.submit(app.test_client().get, "/api/held") for _ in range(3)]
            for _ in range(3):
                assert held.entered.acquire(timeout=10), "a request within capacity was not let in"
            assert app.test_client().get("/api/experiments").status_code == 503
            held.release.set()
            assert [p.result(timeout=10).status_code for p in parked] == [200, 200, 200]


def test_no_limit_when_the_setting_is_zero(tmp_path: Path) -> None:
    for app, held in gateway(tmp_path, capacity=0):
        with ThreadPoolExecutor(2) as pool:
            parked = [pool.submit(app.test_client().get, "/api/held") for _ in range(2)]
            for _ in range(2):
                assert held.entered.acquire(timeout=10)
            assert app.test_client().get("/api/experiments").status_code == 200
            held.release.set()
            assert [p.result(timeout=10).status_code for p in parked] == [200, 200]
