"""End to end through the HTTP API: real quick tests on a MovieLens 100k sample.

Embedded defaults (one process: gateway, embedded bus, local build and pipeline runners, an
``mlflow server``) and once in emulated mode (each service its own process on the Pub/Sub and
Firestore emulators). Cancel in Compile and in Train leaves no build or training process.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from experiments_platform.config import Settings
from experiments_platform.data.movielens import movielens_sample
from experiments_platform.domain.status import STAGE_ORDER
from experiments_platform.local.stack import SERVICE_PORTS, EmulatedStack, LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WHEEL_CACHE = ROOT / "var" / "cache"
TERMINAL = {"completed", "failed", "cancelled"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def register_sample(documents: Any, data_dir: Path) -> str:
    dataset = movielens_sample(data_dir, 50, cache_dir=WHEEL_CACHE)
    documents.set("datasets", dataset.id, dataset.to_document())
    return dataset.id


def configs(base: str, dataset_id: str, epochs: int = 2) -> tuple[str, str]:
    feature = requests.post(f"{base}/api/feature-configs", json={
        "name": "ids", "dataset_id": dataset_id,
        "query_features": [{"column": "user_id", "kind": "id", "embedding_dim": 16}],
        "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 16}],
    }, timeout=30)
    assert feature.status_code == 201, feature.text
    model = requests.post(f"{base}/api/model-configs", json={
        "name": "tiny", "query_tower_layers": [16], "candidate_tower_layers": [16],
        "epochs": epochs, "batch_size": 256, "learning_rate": 0.1,
    }, timeout=30)
    assert model.status_code == 201, model.text
    return feature.json()["id"], model.json()["id"]


def start(base: str, dataset_id: str, feature_id: str, model_id: str, name: str, epochs: int = 2) -> dict[str, Any]:
    answer = requests.post(f"{base}/api/experiments", json={
        "name": name, "dataset_id": dataset_id, "feature_config_id": feature_id, "model_config_id": model_id,
        "parameters": {"sample_percent": 100, "epochs": epochs, "batch_size": 256, "learning_rate": 0.1},
    }, timeout=30)
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def poll(base: str, experiment_id: str, until: Any, timeout_s: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        doc = requests.get(f"{base}/api/experiments/{experiment_id}", timeout=30).json()
        if until(doc):
            return doc
        if doc.get("status") in TERMINAL:
            raise AssertionError(f"experiment ended {doc['status']} before the condition: {doc.get('error')}")
        time.sleep(0.5)
    raise AssertionError(f"timed out; last document: {doc}")


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (the experiment id is in their arguments)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(cmdline)
    return found


def assert_completed_lifecycle(base: str, doc: dict[str, Any], mlflow_url: str) -> None:
    assert doc["status"] == "completed", doc.get("error")
    starts = [doc["stages"][s.value]["started_at"] for s in STAGE_ORDER]
    ends = [doc["stages"][s.value]["finished_at"] for s in STAGE_ORDER]
    assert all(starts) and all(ends), doc["stages"]
    assert starts == sorted(starts), "stages must start in the order Compile → Examples → ... → Train"
    assert all(doc["stages"][s.value]["status"] == "succeeded" for s in STAGE_ORDER)
    final = doc["results"]["final"]
    assert 0 <= final["recall_at_100"] <= 1 and "popularity_recall_at_100" in final
    run = requests.get(f"{mlflow_url}/api/2.0/mlflow/runs/get", params={"run_id": doc["mlflow_run_id"]},
                       timeout=30).json()["run"]
    keys = [m["key"] for m in run["data"].get("metrics", [])]
    epochs = 0
    for key in keys:
        history = requests.get(f"{mlflow_url}/api/2.0/mlflow/metrics/get-history",
                               params={"run_id": doc["mlflow_run_id"], "metric_key": key}, timeout=30).json()
        epochs = max(epochs, len({m.get("step", 0) for m in history.get("metrics", [])}))
    assert epochs >= 2, f"no per-epoch series in the MLflow run (metrics {keys})"


LOCAL_ADAPTERS = ("local_builds", "local_pipelines", "local_blobs", "local_logs", "mlflow_tracker")


@pytest.fixture(scope="module", autouse=True)
def local_adapters_present() -> None:
    import importlib.util

    missing = [m for m in LOCAL_ADAPTERS if importlib.util.find_spec(f"experiments_platform.adapters.{m}") is None]
    if missing:
        pytest.fail(f"the end-to-end lifecycle needs the local adapters {missing} (experiments_platform.adapters)",
                    pytrace=False)


def running_stack(data_dir: Path, **settings: Any) -> Iterator[tuple[LocalStack, str]]:
    """An all-in-one stack on ``data_dir`` with the MovieLens sample registered, stopped afterwards."""
    stack = LocalStack(Settings(data_dir=data_dir, mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}", **settings),
                       port=free_port(), load_data=False, reconcile_every_s=10)
    stack.start()
    try:
        yield stack, register_sample(stack.platform.documents, data_dir)
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, str]]:
    yield from running_stack(tmp_path_factory.mktemp("embedded"))


def test_an_experiment_completes_through_the_api_on_the_embedded_defaults(embedded):
    stack, dataset_id = embedded
    feature_id, model_id = configs(stack.url, dataset_id)
    created = start(stack.url, dataset_id, feature_id, model_id, "e2e embedded")
    assert created["status"] == "pending"
    doc = poll(stack.url, created["id"], lambda d: d["status"] == "completed")
    assert_completed_lifecycle(stack.url, doc, stack.settings.mlflow_tracking_uri)
    assert doc["comparison"]["summary"]


@pytest.fixture(scope="module")
def embedded_without_spare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, str]]:
    """No pre-imported worker: Compile then includes the worker's imports (~10 s), long enough to cancel."""
    yield from running_stack(tmp_path_factory.mktemp("no-spare"), pipeline_idle_workers=0)


def test_cancel_during_compile_leaves_no_build_process(embedded_without_spare):
    stack, dataset_id = embedded_without_spare
    feature_id, model_id = configs(stack.url, dataset_id)
    created = start(stack.url, dataset_id, feature_id, model_id, "cancel in compile")
    poll(stack.url, created["id"], lambda d: d["stages"]["compile"]["status"] == "running", timeout_s=120)
    assert processes_mentioning(created["id"]), "the build process should be running"
    assert requests.post(f"{stack.url}/api/experiments/{created['id']}/cancel", timeout=30).status_code == 202
    doc = poll(stack.url, created["id"], lambda d: d["status"] == "cancelled", timeout_s=120)
    assert doc["stages"]["compile"]["status"] == "cancelled"
    time.sleep(2)
    assert processes_mentioning(created["id"]) == []


def test_cancel_during_train_leaves_no_training_process(embedded):
    stack, dataset_id = embedded
    feature_id, model_id = configs(stack.url, dataset_id, epochs=30)
    created = start(stack.url, dataset_id, feature_id, model_id, "cancel in train", epochs=30)
    poll(stack.url, created["id"], lambda d: d["stages"]["train"]["status"] == "running")
    assert processes_mentioning(created["id"]), "the pipeline process should be running"
    assert requests.post(f"{stack.url}/api/experiments/{created['id']}/cancel", timeout=30).status_code == 202
    doc = poll(stack.url, created["id"], lambda d: d["status"] == "cancelled", timeout_s=120)
    assert doc["stages"]["train"]["status"] == "cancelled" and doc["stages"]["transform"]["status"] == "succeeded"
    time.sleep(2)
    assert processes_mentioning(created["id"]) == []


@pytest.mark.emulators
def test_the_same_lifecycle_in_emulated_mode(emulators: Any, tmp_path: Path):
    project = f"{emulators.project}-e2e"
    settings = Settings(data_dir=tmp_path, gcp_project=project,
                        mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}")
    ports = {service: free_port() for service in SERVICE_PORTS}
    with EmulatedStack(settings, ports=ports, load_data=False, reconcile_every_s=10,
                       environ={**os.environ, "PLATFORM_GCP_PROJECT": project}) as stack:
        from experiments_platform.adapters.firestore_documents import FirestoreDocumentStore

        dataset_id = register_sample(FirestoreDocumentStore(project=project), tmp_path)
        feature_id, model_id = configs(stack.url, dataset_id)
        created = start(stack.url, dataset_id, feature_id, model_id, "e2e emulated")
        doc = poll(stack.url, created["id"], lambda d: d["status"] == "completed")
        assert_completed_lifecycle(stack.url, doc, settings.mlflow_tracking_uri)
        insights = requests.get(f"{stack.url}/api/experiments/{created['id']}/data-insights", timeout=60).json()
        history = requests.get(f"{stack.url}/api/experiments/{created['id']}/training-history", timeout=60).json()
        parser_log = (tmp_path / "logs" / "services" / "tfdv_parser.log").read_text()
    assert insights["missing"] == {} and insights["statistics"]["splits"] and insights["schema"]["features"]
    assert "statistics parsed" in parser_log, "gateway → artifact_reader → tfdv_parser, each its own process"
    assert history["available"] is True and history["series"]
