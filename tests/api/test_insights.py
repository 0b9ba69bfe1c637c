"""Artifacts, data insights and the statistics report, read from real TFDV artifacts in the local blob store."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.web.app import create_app
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from .conftest import finish, gateway_app, results, start_payload
from .test_configs import XSS, error_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tfdv" / "movielens"
LOG_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "logs"


def _with_data_artifacts(platform: Platform, experiment_id: str) -> None:
    """Place real StatisticsGen/SchemaGen outputs where a local pipeline run writes them."""
    root = platform.settings.data_dir / "pipelines" / experiment_id
    shutil.copytree(FIXTURES / "statistics", root / "StatisticsGen" / "statistics" / "7")
    shutil.copytree(FIXTURES / "schema", root / "SchemaGen" / "schema" / "8")
    index = {
        "StatisticsGen": {"statistics": [(root / "StatisticsGen" / "statistics" / "7").resolve().as_uri()]},
        "SchemaGen": {"schema": [(root / "SchemaGen" / "schema" / "8").resolve().as_uri()]},
    }
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment_id, "artifacts.json"),
                               json.dumps(index).encode())


def test_data_insights_and_the_report_page(
    client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    doc = client.post("/api/experiments", json=start_payload(feature_config, model_config, name=XSS)).json
    early = client.get(f"/api/experiments/{doc['id']}/data-insights").json
    assert early["statistics"] is None and "StatisticsGen has produced no artifact" in early["missing"]["statistics"]
    assert client.get(f"/api/experiments/{doc['id']}/statistics-report").status_code == 404

    _with_data_artifacts(platform, doc["id"])
    finish(platform, doc["id"], results=results(0.4, 0.2))
    insights = client.get(f"/api/experiments/{doc['id']}/data-insights").json
    assert [s["split"] for s in insights["statistics"]["splits"]] == ["train", "eval"]
    assert insights["schema"]["features"], "schema features parsed from schema.pbtxt"
    assert insights["vocabularies"] == {"query.user_id": {"vocab_size": 3, "oov_rate": 0.0}}
    assert insights["missing"] == {}
    assert insights["report_url"] == f"/api/experiments/{doc['id']}/statistics-report"

    artifacts = client.get(f"/api/experiments/{doc['id']}/artifacts").json
    by_component = {c["component"]: c for c in artifacts["components"]}
    assert by_component["StatisticsGen"]["stage"] == "stats"
    assert by_component["StatisticsGen"]["outputs"]["statistics"][0].endswith("/StatisticsGen/statistics/7")

    page = client.get(f"/api/experiments/{doc['id']}/statistics-report")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "Exp #1 · &lt;img src=x onerror=alert(1)&gt;" in html and XSS not in html
    assert "user_id" in html


def test_training_history_before_a_run_and_unknown_experiments(
    client: FlaskClient, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    doc = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    history = client.get(f"/api/experiments/{doc['id']}/training-history").json
    assert history["available"] is False and "has no MLflow run yet" in history["reason"]
    for path in ("training-history", "artifacts", "data-insights", "statistics-report", "logs/Trainer"):
        response = client.get(f"/api/experiments/missing/{path}")
        assert response.status_code == 404, path
        assert error_of(response)["error_code"] == "NOT_FOUND"
    body = error_of(client.get(f"/api/experiments/{doc['id']}/logs/Trainer?lines=0"))
    assert body["field"] == "lines"


def test_the_same_views_over_http_from_the_artifact_reader_service(
    tmp_path: Path, client: FlaskClient, platform: Platform,
    feature_config: dict[str, Any], model_config: dict[str, Any],
) -> None:
    doc = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    _with_data_artifacts(platform, doc["id"])
    server = make_server("127.0.0.1", 0, create_app("artifact_reader", platform), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = platform.settings.model_copy(update={"artifact_reader_url": f"http://127.0.0.1:{server.port}"})
        remote = Platform(settings, documents=platform.documents, bus=platform.bus, blobs=platform.blobs)
        over_http = gateway_app(remote).test_client()
        for view in ("artifacts", "data-insights", "training-history"):
            path = f"/api/experiments/{doc['id']}/{view}"
            assert over_http.get(path).json == client.get(path).json, view
        assert over_http.get(f"/api/experiments/{doc['id']}/statistics-report").data == \
            client.get(f"/api/experiments/{doc['id']}/statistics-report").data
        missing = over_http.get("/api/experiments/missing/artifacts")
        assert missing.status_code == 404 and error_of(missing)["message"] == "experiment 'missing' doesn't exist"
        wrong = over_http.get(f"/api/experiments/{doc['id']}/logs/Trainr")
        assert wrong.status_code == 400 and error_of(wrong)["field"] == "component"
        logs = platform.settings.data_dir / "logs" / doc["id"]
        logs.mkdir(parents=True, exist_ok=True)
        shutil.copy(LOG_FIXTURES / "quick_test" / "Trainer.log", logs / "Trainer.log")
        trainer = over_http.get(f"/api/experiments/{doc['id']}/logs/Trainer?lines=50").json
        assert trainer == client.get(f"/api/experiments/{doc['id']}/logs/Trainer?lines=50").json
        assert len(trainer["lines"]) == 50 and trainer["summary"]["scanned_lines"] == 817
        assert [e["text"][:7] for e in trainer["summary"]["entries"] if e["kind"] == "epoch"] == ["Epoch 1", "Epoch 2",
                                                                                               "Epoch 3"]
    finally:
        server.shutdown()
        thread.join(5)

    unreachable = platform.settings.model_copy(update={"artifact_reader_url": f"http://127.0.0.1:{server.port}"})
    down = gateway_app(Platform(unreachable, documents=platform.documents, bus=platform.bus)).test_client()
    response = down.get(f"/api/experiments/{doc['id']}/artifacts")
    assert response.status_code == 503 and "cannot be reached" in error_of(response)["message"]


def test_component_logs_tail_the_local_log_files(
    client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    doc = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    folder = platform.settings.data_dir / "logs" / doc["id"]
    folder.mkdir(parents=True)
    (folder / "Trainer.log").write_text("".join(f"epoch {i} <b>loss</b>\n" for i in range(300)))
    assert client.get(f"/api/experiments/{doc['id']}/logs/Compile").json["lines"] == []
    tail = client.get(f"/api/experiments/{doc['id']}/logs/Trainer?lines=3").json
    summary = tail.pop("summary")
    assert tail == {"experiment_id": doc["id"], "component": "Trainer",
                    "lines": ["epoch 297 <b>loss</b>", "epoch 298 <b>loss</b>", "epoch 299 <b>loss</b>"]}
    assert summary["scanned_lines"] == 300 and summary["entries"] == []  # read beyond the 3 lines shown
    assert len(client.get(f"/api/experiments/{doc['id']}/logs/Trainer").json["lines"]) == 200
    assert client.get(f"/api/experiments/{doc['id']}/logs/..%2F..%2Fsecrets").status_code == 404
    assert error_of(client.get(f"/api/experiments/{doc['id']}/logs/..secrets"))["field"] == "component"


def test_training_history_and_mlflow_link_from_a_real_mlflow_run(
    mlflow_server: str, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any],
    client: FlaskClient,
) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    mlflow = MlflowClient(mlflow_server)
    run = mlflow.create_run(mlflow.create_experiment(f"api-test-{time.time_ns()}"))
    run_id = run.info.run_id
    stamp = int(time.time() * 1000)
    mlflow.log_batch(run_id, metrics=[Metric(name, value, stamp, step) for step in range(3) for name, value in
                                      (("loss", 1.0 - step / 10), ("val_loss", 1.2 - step / 10))])
    doc = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    finish(platform, doc["id"], mlflow_run_id=run_id, results=results(0.4, 0.2))

    settings = platform.settings.model_copy(update={"mlflow_tracking_uri": mlflow_server})
    tracked = gateway_app(Platform(settings, documents=platform.documents, bus=platform.bus)).test_client()
    history = tracked.get(f"/api/experiments/{doc['id']}/training-history").json
    assert history["available"] is True and history["run_id"] == run_id
    assert [p["value"] for p in history["series"]["loss"]] == [1.0, 0.9, 0.8]
    assert [p["step"] for p in history["series"]["val_loss"]] == [0, 1, 2]
    link = tracked.get(f"/api/dashboard/mlflow?experiment_id={doc['id']}").json["url"]
    assert link == (f"{mlflow_server}/#/experiments/{run.info.experiment_id}/runs/{run_id}"
                    "/model-metrics?workflowType=machine_learning")
    home = tracked.get("/api/dashboard/mlflow").json["url"]
    assert home == f"{mlflow_server}/#/experiments?workflowType=machine_learning"
