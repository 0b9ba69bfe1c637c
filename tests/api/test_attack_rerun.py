"""Holes the re-run of issue 10's attacks against the finished code found (scripts/attack_rerun.py,
docs/security/attack-rerun-2026-12-04.md), each reproduced here."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.adapters.embedded_bus import EmbeddedBus
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from flask.testing import FlaskClient

from .conftest import (
    LAUNCH_MINIMUMS,
    dataset_payload,
    feature_payload,
    finish,
    gateway_app,
    model_payload,
    start_payload,
)


@pytest.mark.parametrize("path", ["/api/model-configs", "/api/feature-configs", "/api/datasets", "/api/experiments"])
@pytest.mark.parametrize("body", [42, "x", [], True])
def test_a_body_that_is_no_object_is_refused_naming_the_body_and_the_fix(client: FlaskClient, path: str,
                                                                           body: Any) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.json["error_code"] == "INVALID_INPUT"
    assert response.json["field"] == "body", response.json
    assert "JSON object" in response.json["message"] and "{" in response.json["message"], response.json


@pytest.mark.parametrize("body", [42, []])
def test_an_update_that_is_no_object_is_refused_naming_the_body(client: FlaskClient, model_config: dict[str, Any],
                                                                body: Any) -> None:
    response = client.put(f"/api/model-configs/{model_config['id']}", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.json["field"] == "body", response.json


QUEUE_BOUND = 3


@pytest.fixture
def bounded(tmp_path: Path) -> Iterator[Platform]:
    """A platform whose queue holds 3 waiting experiments (nothing submits them here: they stay waiting)."""
    settings = Settings(data_dir=tmp_path / "var", mlflow_tracking_uri="http://127.0.0.1:5999",
                        max_concurrent_runs=1, max_queued_runs=QUEUE_BOUND, **LAUNCH_MINIMUMS)
    built = Platform(settings, documents=SqliteDocumentStore(tmp_path / "documents.sqlite"),
                     bus=EmbeddedBus.from_settings(settings), warehouse=DuckDBWarehouse.from_settings(settings))
    yield built
    built.close()


def test_concurrent_starts_never_queue_past_the_bound(bounded: Platform, data_files: dict[str, Path]) -> None:
    """The re-run's 42 concurrent starts queued 27 behind a bound of 20: each request checked the bound
    before any of them had created its experiment."""
    client = gateway_app(bounded).test_client()
    dataset = client.post("/api/datasets", json=dataset_payload(data_files)).json
    features = client.post("/api/feature-configs", json=feature_payload(dataset["id"])).json
    model = client.post("/api/model-configs", json=model_payload()).json
    barrier = threading.Barrier(12)

    def start(i: int) -> int:
        own = gateway_app(bounded).test_client()
        barrier.wait()
        return own.post("/api/experiments", json=start_payload(features, model, name=f"burst {i}")).status_code

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        codes = sorted(pool.map(start, range(12)))
    assert codes == [202] * QUEUE_BOUND + [429] * (12 - QUEUE_BOUND), codes
    assert client.get("/api/experiments").json["total"] == QUEUE_BOUND


def test_a_sweep_never_queues_past_the_bound(bounded: Platform, data_files: dict[str, Path]) -> None:
    """The re-run's two sweeps of 32 experiments each queued 63 behind a bound of 20: a sweep's children
    went through the run slots' queue but not through its bound."""
    client = gateway_app(bounded).test_client()
    dataset = client.post("/api/datasets", json=dataset_payload(data_files)).json
    features = client.post("/api/feature-configs", json=feature_payload(dataset["id"])).json
    model = client.post("/api/model-configs", json=model_payload()).json

    def sweep(values: list[float]) -> Any:
        return client.post("/api/sweeps", json={**start_payload(features, model), "name": "flood", "axes": [
            {"field": "learning_rate", "values": values}]})

    too_many = sweep([0.01, 0.02, 0.03, 0.04])
    assert too_many.status_code == 429 and too_many.headers["Retry-After"], too_many.json
    assert too_many.json["error_code"] == "QUEUE_FULL"
    assert "4 experiments at once are more than the queue holds" in too_many.json["message"], too_many.json
    assert client.get("/api/experiments").json["total"] == 0 and client.get("/api/sweeps").json["total"] == 0
    assert sweep([0.01, 0.02]).status_code == 202
    past = sweep([0.03, 0.04])
    assert past.status_code == 429 and "2 experiments are already waiting" in past.json["message"], past.json
    assert client.get("/api/experiments").json["total"] == 2


def test_pinning_a_watch_never_queues_past_the_bound(bounded: Platform, data_files: dict[str, Path]) -> None:
    """Pinning configs to a dataset starts a quick test: it went past the queue's bound (one per request)."""
    client = gateway_app(bounded).test_client()
    dataset = client.post("/api/datasets", json=dataset_payload(data_files)).json
    features = client.post("/api/feature-configs", json=feature_payload(dataset["id"])).json
    model = client.post("/api/model-configs", json=model_payload()).json
    started = [client.post("/api/experiments", json=start_payload(features, model)).json for _ in range(QUEUE_BOUND)]
    pins = f"/api/datasets/{dataset['id']}/watches"

    refused = client.post(pins, json={"feature_config_id": features["id"], "model_config_id": model["id"],
                                      "parameters": start_payload(features, model)["parameters"]})
    assert refused.status_code == 429 and refused.json["error_code"] == "QUEUE_FULL", refused.json
    assert client.get(pins).json["watches"] == [] and client.get("/api/experiments").json["total"] == QUEUE_BOUND
    finish(bounded, started[0]["id"])
    assert client.post(pins, json={"experiment_id": started[0]["id"]}).status_code == 201, "starts nothing"


def test_a_source_change_never_queues_past_the_bound(bounded: Platform, data_files: dict[str, Path]) -> None:
    """Pinning completed quick tests costs nothing; a source change then started every watch's quick test
    past the queue's bound. Past it, a watch keeps the refusal as its run. (Each watch pins another
    completed quick test: the same one pinned again answers its existing watch.)"""
    from experiments_platform.handlers.watches import on_source_changed

    client = gateway_app(bounded).test_client()
    dataset = client.post("/api/datasets", json=dataset_payload(data_files)).json
    features = client.post("/api/feature-configs", json=feature_payload(dataset["id"])).json
    model = client.post("/api/model-configs", json=model_payload()).json
    pins = f"/api/datasets/{dataset['id']}/watches"
    for n in range(QUEUE_BOUND + 2):
        payload = start_payload(features, model)
        payload["parameters"] = {**payload["parameters"], "learning_rate": 0.05 + n / 100}
        first = client.post("/api/experiments", json=payload).json
        finish(bounded, first["id"])
        assert client.post(pins, json={"experiment_id": first["id"]}).status_code == 201

    started = on_source_changed(bounded, dataset["id"], "source-change-1")
    assert len(started) == QUEUE_BOUND, started
    runs = [w["runs"][-1] for w in client.get(pins).json["watches"]]
    refused = [r["refused"] for r in runs if r.get("refused")]
    assert len(refused) == 2 and all("already waiting" in r for r in refused), runs
