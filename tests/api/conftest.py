"""The gateway app on the real embedded adapters: SQLite documents, the embedded bus, DuckDB over tiny CSVs.

The warehouse is built from the settings, as the platform builds it: confined to ``{data_dir}/warehouse``
(where ``data_files`` writes) and the uploads folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.adapters.embedded_bus import EmbeddedBus
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.events.messages import Topics, decode
from experiments_platform.ports.bus import Delivery
from experiments_platform.repositories.experiments import ExperimentRepository
from experiments_platform.web.app import create_app
from flask import Flask
from flask.testing import FlaskClient

HEAD = """user_id,item_id,rating,city,price,title,ts
u1,i1,5,Paris,9.5,red shoes,2024-01-01 10:00:00
u1,i2,3,Paris,20.0,blue hat,2024-01-03 11:00:00
u2,i1,4,Lyon,9.5,red shoes,2024-01-05 12:00:00
u3,i3,2,Nice,5.25,green scarf,2024-01-09 09:30:00
"""
CITIES, TITLES = ("Paris", "Lyon", "Nice"), ("red shoes", "blue hat", "green scarf", "grey coat")


def _more_rows() -> str:
    """120 more buyers with 10 interactions each over 150 items and 60 days: enough rows that a 25 %
    sample still fills every split and the corpus exceeds the largest k (the launch check)."""
    lines = []
    for user in range(4, 124):
        for n in range(10):
            item = (user * 7 + n * 13) % 150 + 1
            day = date(2024, 1, 1) + timedelta(days=(user * 3 + n * 5) % 60)
            lines.append(f"u{user},i{item},{1 + (user + n) % 5},{CITIES[user % 3]},{5 + item % 20}.5,"
                         f"{TITLES[item % 4]},{day.isoformat()} 1{n}:00:00")
    return "\n".join(lines) + "\n"


INTERACTIONS = HEAD + _more_rows()
ROW_COUNT = INTERACTIONS.count("\n") - 1
LAUNCH_MINIMUMS = {"preflight_min_interactions": 3, "preflight_min_buyers": 3}
"""Tiny data: the launch check's minimums lowered to what a 5 % sample of it holds."""

USERS = """user_id,age,segment
u1,34,retail
u2,51,wholesale
u3,27,retail
"""


class Published:
    """Messages the embedded bus delivered on the submit and cancel topics, decoded."""

    def __init__(self, bus: EmbeddedBus) -> None:
        self.bus = bus
        self.messages: list[tuple[str, Any]] = []

    def handler(self, topic: str) -> Any:
        def receive(delivery: Delivery) -> None:
            self.messages.append((topic, decode(delivery.data, delivery.attributes)))

        return receive

    def on(self, topic: str) -> list[Any]:
        assert self.bus.wait_idle(10), "the embedded bus did not deliver within 10 s"
        return [m for t, m in self.messages if t == topic]


@pytest.fixture
def data_files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "var" / "warehouse"
    folder.mkdir(parents=True)
    interactions = folder / "interactions.csv"
    interactions.write_text(INTERACTIONS)
    users = folder / "users.csv"
    users.write_text(USERS)
    return {"interactions": interactions, "users": users}


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    settings = Settings(data_dir=tmp_path / "var", mlflow_tracking_uri="http://127.0.0.1:5999", **LAUNCH_MINIMUMS)
    documents = SqliteDocumentStore(tmp_path / "documents.sqlite")
    bus = EmbeddedBus.from_settings(settings)
    built = Platform(settings, documents=documents, bus=bus, warehouse=DuckDBWarehouse.from_settings(settings))
    yield built
    built.close()


@pytest.fixture
def published(platform: Platform) -> Published:
    bus: Any = platform.bus
    record = Published(bus)
    for topic in (Topics.SUBMIT, Topics.CANCEL):
        bus.subscribe(topic, f"test-{topic}", record.handler(topic))
    return record


def gateway_app(platform: Platform) -> Flask:
    """The api_gateway app on ``platform``, as ``services/api_gateway/main.py`` builds it."""
    return create_app("api_gateway", platform, test_config={"TESTING": True})


@pytest.fixture
def app(platform: Platform) -> Flask:
    return gateway_app(platform)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def dataset_payload(files: dict[str, Path], **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "Shop interactions",
        "description": "tiny test data",
        "source": {"kind": "file", "uri": files["interactions"].as_uri()},
        "query_id_column": "user_id",
        "candidate_id_column": "item_id",
        "date_column": "ts",
        "buyer_features": {"source": {"kind": "file", "uri": files["users"].as_uri()}, "join_key": "user_id"},
    }
    payload.update(overrides)
    return payload


def feature_payload(dataset_id: str | None, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "ids + city",
        "dataset_id": dataset_id,
        "query_features": [
            {"column": "user_id", "kind": "id", "embedding_dim": 64},
            {"column": "city", "kind": "categorical", "embedding_dim": 16},
        ],
        "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 32}],
        "cross_features": [{"tower": "query", "columns": ["user_id", "city"], "embedding_dim": 16}],
    }
    payload.update(overrides)
    return payload


def model_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "Standard",
        "query_tower_layers": [256, 128, 64],
        "candidate_tower_layers": [256, 128, 64],
        "optimizer": "adagrad",
        "learning_rate": 0.05,
        "epochs": 4,
        "batch_size": 2048,
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def dataset(client: FlaskClient, data_files: dict[str, Path]) -> dict[str, Any]:
    response = client.post("/api/datasets", json=dataset_payload(data_files))
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[return-value]


@pytest.fixture
def feature_config(client: FlaskClient, dataset: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/feature-configs", json=feature_payload(dataset["id"]))
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[return-value]


@pytest.fixture
def model_config(client: FlaskClient) -> dict[str, Any]:
    response = client.post("/api/model-configs", json=model_payload())
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[return-value]


def start_payload(feature_config: dict[str, Any], model_config: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "first try",
        "description": "ids and city",
        "feature_config_id": feature_config["id"],
        "model_config_id": model_config["id"],
        "parameters": {"sample_percent": 25, "hardware_tier": "medium"},
    }
    payload.update(overrides)
    return payload


def finish(platform: Platform, experiment_id: str, status: str = "completed", **changes: Any) -> dict[str, Any]:
    """Move a stored experiment to a terminal state, as the status watcher would (test setup)."""
    doc = platform.documents.get("experiments", experiment_id)
    assert doc is not None
    doc.update({"status": status, "started_at": "2026-01-01T10:00:00Z", "finished_at": "2026-01-01T10:02:05Z",
                **changes})
    ExperimentRepository(platform.documents).save(doc)
    return doc


def results(recall_at_100: float, test_loss: float, **extra: float) -> dict[str, Any]:
    """A results document in the shape of the pipeline's metrics.json (final metrics under ``final``)."""
    final = {
        "test_loss": test_loss,
        "recall_at_10": round(recall_at_100 / 3, 4),
        "recall_at_50": round(recall_at_100 * 0.8, 4),
        "recall_at_100": recall_at_100,
        "popularity_recall_at_100": 0.295,
        **extra,
    }
    return {
        "mlflow_run_id": "run-1",
        "final": final,
        "history": [{"epoch": 0, "loss": 1.0}],
        "vocabularies": {"query.user_id": {"vocab_size": 3, "oov_rate": 0.0}},
        "protocol": {"split_strategy": "random", "corpus_size": 3},
    }
