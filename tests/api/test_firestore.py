"""The API's query shapes on the Firestore emulator: the same flows with the real Firestore client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.adapters.embedded_bus import EmbeddedBus
from experiments_platform.adapters.firestore_documents import FirestoreDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.events.messages import SubmitExperiment, Topics
from flask.testing import FlaskClient

from .conftest import LAUNCH_MINIMUMS, Published, finish, results, start_payload

pytestmark = pytest.mark.emulators


@pytest.fixture
def platform(tmp_path: Path, firestore_emulator: Any) -> Iterator[Platform]:
    settings = Settings(data_dir=tmp_path / "var", document_store="firestore", gcp_project=firestore_emulator.project,
                        **LAUNCH_MINIMUMS)
    documents = FirestoreDocumentStore(project=firestore_emulator.project)
    bus = EmbeddedBus.from_settings(settings)
    built = Platform(settings, documents=documents, bus=bus, warehouse=DuckDBWarehouse())
    yield built
    built.close()


def test_lifecycle_of_the_api_on_firestore(
    client: FlaskClient, platform: Platform, published: Published, dataset: dict[str, Any],
    feature_config: dict[str, Any], model_config: dict[str, Any],
) -> None:
    other = client.post(f"/api/model-configs/{model_config['id']}/duplicate").json
    ids = [client.post("/api/experiments", json=start_payload(feature_config, other if i == 3 else model_config,
                                                              name=f"e{i}")).json["id"] for i in range(4)]
    assert [m.experiment_id for m in published.on(Topics.SUBMIT)] == ids
    assert published.on(Topics.SUBMIT)[0] == SubmitExperiment(experiment_id=ids[0])
    finish(platform, ids[0], results=results(0.41, 0.2))
    finish(platform, ids[1], results=results(0.45, 0.1))
    finish(platform, ids[2], status="failed")

    numbers = [d["number"] for d in client.get("/api/experiments?sort=number").json["items"]]
    assert numbers == [1, 2, 3, 4]
    page = client.get(f"/api/experiments?status=completed,failed&model_config_id={model_config['id']}"
                      f"&dataset_id={dataset['id']}&sort=-number&page_size=2").json
    assert (page["total"], [d["name"] for d in page["items"]]) == (3, ["e2", "e1"])
    assert [i["name"] for i in client.get("/api/experiments/selectable").json["items"]] == ["e2", "e1", "e0"]

    assert client.post(f"/api/experiments/{ids[3]}/cancel").json["cancel_requested"] is True
    assert client.post(f"/api/experiments/{ids[0]}/cancel").status_code == 409
    compared = client.post("/api/experiments/compare", json={"experiment_ids": ids[:2]}).json
    assert compared["sections"][0]["rows"][3]["best"] == [1]
    assert client.get("/api/dashboard/heatmap").json["best"]["value"] == 0.45
    assert client.get(f"/api/dashboard/stats?dataset_id={dataset['id']}").json["completed"] == 2
    assert client.delete(f"/api/model-configs/{other['id']}").status_code == 409
    assert client.delete(f"/api/feature-configs/{feature_config['id']}").status_code == 409


def test_config_lists_filter_by_dataset_on_firestore(
    client: FlaskClient, dataset: dict[str, Any], feature_config: dict[str, Any]
) -> None:
    client.post(f"/api/feature-configs/{feature_config['id']}/duplicate", json={"name": "second"})
    listed = client.get(f"/api/feature-configs?dataset_id={dataset['id']}").json
    assert [c["name"] for c in listed["items"]] == ["second", "ids + city"]
