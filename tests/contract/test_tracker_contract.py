"""Contract of ports.tracker.ExperimentTracker against a real ``mlflow server`` (SQLite backend)."""

from __future__ import annotations

import socket
import time

import pytest
from experiments_platform.adapters.mlflow_tracker import MlflowTracker
from experiments_platform.errors import InvalidInput, NotFound, TransientError
from experiments_platform.ports.tracker import ExperimentTracker
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def logged_run(mlflow_server: str) -> str:
    """A run logged the way the trainer logs it: one log_batch per epoch."""
    client = MlflowClient(tracking_uri=mlflow_server)
    experiment_id = client.create_experiment(f"contract-{time.time_ns()}")
    run = client.create_run(experiment_id, run_name="Exp #1")
    now = int(time.time() * 1000)
    client.log_batch(run.info.run_id, params=[Param("epochs", "3"), Param("learning_rate", "0.1")])
    for epoch in range(3):
        client.log_batch(run.info.run_id, metrics=[
            Metric("loss", 1.0 / (epoch + 1), now + epoch, epoch),
            Metric("val_loss", 1.2 / (epoch + 1), now + epoch, epoch),
            Metric("l2_norm_query", 10.0 + epoch, now + epoch, epoch),
        ])
    client.log_metric(run.info.run_id, "loss", 0.3, timestamp=now + 100, step=2)
    client.log_batch(run.info.run_id, metrics=[Metric("recall_at_100", 0.39, now + 200, 0)])
    client.set_tag(run.info.run_id, "experiment_id", "e1")
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def test_check_reachable_passes_on_a_running_server(mlflow_server: str) -> None:
    tracker: ExperimentTracker = MlflowTracker(mlflow_server)
    tracker.check_reachable()


def test_check_reachable_fails_fast_naming_the_uri() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    tracker = MlflowTracker(uri, reach_attempts=3, reach_initial_wait_s=0.05, reach_max_wait_s=0.1, probe_timeout_s=1)
    t0 = time.monotonic()
    with pytest.raises(TransientError, match=f"{uri} is not reachable after 3 attempts"):
        tracker.check_reachable()
    assert time.monotonic() - t0 < 5


def test_history_has_every_metric_by_step(mlflow_server: str, logged_run: str) -> None:
    history = MlflowTracker(mlflow_server).history(logged_run)
    assert sorted(history) == ["l2_norm_query", "loss", "recall_at_100", "val_loss"]
    assert [(p["step"], p["value"]) for p in history["loss"]] == [(0, 1.0), (1, 0.5), (2, 0.3)]
    assert [p["step"] for p in history["val_loss"]] == [0, 1, 2]
    assert [p["value"] for p in history["l2_norm_query"]] == [10.0, 11.0, 12.0]
    assert [p["value"] for p in history["recall_at_100"]] == [0.39]


def test_run_has_params_final_metrics_and_tags(mlflow_server: str, logged_run: str) -> None:
    run = MlflowTracker(mlflow_server, ui_base_url="https://mlflow.example.com").run(logged_run)
    assert run["run_id"] == logged_run
    assert run["name"] == "Exp #1"
    assert run["status"] == "FINISHED"
    assert run["params"] == {"epochs": "3", "learning_rate": "0.1"}
    assert run["metrics"]["loss"] == 0.3
    assert run["metrics"]["recall_at_100"] == 0.39
    assert run["tags"] == {"experiment_id": "e1"}
    assert run["ui_url"] == (f"https://mlflow.example.com/#/experiments/{run['experiment_id']}/runs/{logged_run}"
                             "/model-metrics?workflowType=machine_learning")


def test_ui_url(mlflow_server: str, logged_run: str) -> None:
    tracker = MlflowTracker(mlflow_server)
    assert tracker.ui_url() == f"{mlflow_server}/#/experiments?workflowType=machine_learning"
    assert tracker.ui_url(logged_run).startswith(f"{mlflow_server}/#/experiments/")
    assert tracker.ui_url(logged_run).endswith(f"/runs/{logged_run}/model-metrics?workflowType=machine_learning")


def test_unknown_and_malformed_run_ids(mlflow_server: str) -> None:
    tracker = MlflowTracker(mlflow_server)
    with pytest.raises(NotFound, match="run 0123456789abcdef0123456789abcdef"):
        tracker.history("0123456789abcdef0123456789abcdef")
    with pytest.raises(InvalidInput, match="run id"):
        tracker.run("../../etc")
