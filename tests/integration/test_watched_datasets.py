"""Watched datasets end to end on the emulators (issue 13): a quick test pinned to a dataset runs again,
for real, when the dataset's file changes, and the API shows the new run against the previous one.

Each service is its own process on the Pub/Sub and Firestore emulators (``EmulatedStack``); the test
plays Eventarc: it rewrites the dataset's file and delivers Cloud Storage's object finalized
CloudEvent (structured mode, as Eventarc's transport does) to the submitter's route. The re-run goes
through the launch check and the admission queue like any quick test, and trains a real model.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests
from cloudevents.conversion import to_structured
from cloudevents.http import CloudEvent
from experiments_platform.config import Settings
from experiments_platform.data.movielens import movielens_sample
from experiments_platform.events import data_events
from experiments_platform.local.stack import SERVICE_PORTS, EmulatedStack

from .test_data_events import wait_for
from .test_e2e_lifecycle import WHEEL_CACHE, configs, free_port, poll, register_sample, start

pytestmark = [pytest.mark.e2e, pytest.mark.emulators]


def test_a_pinned_quick_test_runs_again_when_its_datasets_file_changes(emulators: Any, tmp_path: Path) -> None:
    project = f"{emulators.project}-watch"
    settings = Settings(data_dir=tmp_path, gcp_project=project, mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}")
    ports = {service: free_port() for service in SERVICE_PORTS}
    with EmulatedStack(settings, ports=ports, load_data=False, reconcile_every_s=10,
                       environ={**os.environ, "PLATFORM_GCP_PROJECT": project}) as stack:
        from experiments_platform.adapters.firestore_documents import FirestoreDocumentStore

        base = stack.url
        dataset_id = register_sample(FirestoreDocumentStore(project=project), tmp_path)
        dataset = requests.get(f"{base}/api/datasets/{dataset_id}", timeout=30).json()
        feature_id, model_id = configs(base, dataset_id)
        first = poll(base, start(base, dataset_id, feature_id, model_id, "watched")["id"],
                     lambda d: d["status"] == "completed")

        pinned = requests.post(f"{base}/api/datasets/{dataset_id}/watches", json={"experiment_id": first["id"]},
                               timeout=30)
        assert pinned.status_code == 201, pinned.text
        assert [r["experiment_id"] for r in pinned.json()["runs"]] == [first["id"]]

        # the file changes: 80 users' ratings where there were 50 (new buyers, more rows)
        path = Path(dataset["source"]["uri"].removeprefix("file://"))
        shutil.copyfile(Path(movielens_sample(tmp_path / "more", 80, cache_dir=WHEEL_CACHE).source.uri
                             .removeprefix("file://")), path)
        attributes, data = data_events.storage_object(path.as_uri(), path.stat().st_size,
                                                      generation=str(path.stat().st_mtime_ns // 1000))
        headers, body = to_structured(CloudEvent(attributes, data))
        delivered = requests.post(stack.base_url("submitter") + data_events.DATA_EVENTS_PATH, data=body,
                                  headers=dict(headers), timeout=120)
        assert delivered.status_code == 204, delivered.text
        again = requests.post(stack.base_url("submitter") + data_events.DATA_EVENTS_PATH, data=body,
                              headers=dict(headers), timeout=120)
        assert again.status_code == 204, "a redelivery is acknowledged"

        def second_run() -> Any:
            [watch] = requests.get(f"{base}/api/datasets/{dataset_id}/watches", timeout=30).json()["watches"]
            return watch if len(watch["runs"]) == 2 else None

        watch = wait_for(second_run, timeout=120)
        rerun = watch["runs"][1]
        assert rerun["trigger"] == "source_change" and rerun["experiment_id"] and rerun["rows"] > first[
            "dataset_snapshot"]["row_count"]
        poll(base, rerun["experiment_id"], lambda d: d["status"] == "completed")

        [watch] = requests.get(f"{base}/api/datasets/{dataset_id}/watches", timeout=60).json()["watches"]
        assert len(watch["runs"]) == 2, "the redelivered event started nothing more"
    drift = watch["drift"]
    assert drift["previous"]["id"] == first["id"] and drift["current"]["id"] == rerun["experiment_id"]
    head = next(r for r in drift["metrics"] if r["metric"] == "recall_at_100")
    assert head["difference_pp"] == pytest.approx((head["value"] - head["previous"]) * 100)
    assert head["verdict"] in ("better", "within_noise", "worse") and head["low_pp"] <= head["high_pp"]
    data = {r["key"]: r for r in drift["data"]}
    assert data["rows"]["previous"] == first["dataset_snapshot"]["row_count"] < data["rows"]["value"]
    assert data["test_buyers"]["value"] > data["test_buyers"]["previous"]
    assert drift["summary"].startswith(f"Exp #{drift['current']['number']} vs Exp #{first['number']}: ")
