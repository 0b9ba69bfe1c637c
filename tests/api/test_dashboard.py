"""Dashboard: stats, leaderboard, heatmap with its best cell, CSV export, MLflow link; speed at 1,000."""

from __future__ import annotations

import copy
import csv
import gzip
import io
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.ports.documents import Doc, Filter, Order
from experiments_platform.repositories.experiments import SUMMARIES, ExperimentRepository
from flask.testing import FlaskClient

from .conftest import feature_payload, finish, gateway_app, results, start_payload
from .test_configs import XSS, error_of


def _grid(client: FlaskClient, platform: Platform, dataset: dict[str, Any],
          feature_config: dict[str, Any], model_config: dict[str, Any]) -> list[dict[str, Any]]:
    """Six experiments over user-id dims 32/64/128 × (no cross, user_id×city), learning rates varying."""
    started = []
    plan = [  # (user_id dim, cross, learning_rate, recall, loss, status)
        (32, False, 0.1, 0.38, 0.50, "completed"),
        (64, False, 0.05, 0.41, 0.45, "completed"),
        (128, False, 1.0, 0.44, 0.40, "completed"),
        (64, True, 0.1, 0.47, 0.35, "completed"),
        (64, True, 0.05, 0.43, 0.30, "completed"),
        (128, True, 0.1, 0.99, 0.01, "failed"),
    ]
    for dim, cross, rate, recall, loss, status in plan:
        payload = feature_payload(dataset["id"], name=f"user {dim}{' + cross' if cross else ''}")
        payload["query_features"][0]["embedding_dim"] = dim
        if not cross:
            payload["cross_features"] = []
        config = client.post("/api/feature-configs", json=payload).json
        doc = client.post("/api/experiments", json=start_payload(
            config, model_config, name=f"{dim}/{cross}/{rate}",
            parameters={"sample_percent": 25, "learning_rate": rate})).json
        started.append(finish(platform, doc["id"], status=status,
                              results=results(recall, loss * 1024, test_loss_per_example=loss)))
    client.post("/api/experiments", json=start_payload(feature_config, model_config, name="still running"))
    return started


def test_stats_count_and_summarize_recall(
    client: FlaskClient, platform: Platform, dataset: dict[str, Any],
    feature_config: dict[str, Any], model_config: dict[str, Any],
) -> None:
    assert client.get("/api/dashboard/stats").json["best_recall_at_100"] is None
    _grid(client, platform, dataset, feature_config, model_config)
    body = client.get("/api/dashboard/stats").json
    assert (body["total"], body["completed"], body["failed"], body["active"]) == (7, 5, 1, 1)
    assert body["best_recall_at_100"]["value"] == 0.47
    assert body["best_recall_at_100"]["experiment"]["label"] == "Exp #4"
    assert abs(body["average_recall_at_100"] - (0.38 + 0.41 + 0.44 + 0.47 + 0.43) / 5) < 1e-12
    assert body["mlflow_url"] == "http://127.0.0.1:5999/#/experiments?workflowType=machine_learning"
    assert client.get("/api/dashboard/stats?dataset_id=other").json["total"] == 0


def test_runs_of_other_protocols_are_separate_groups_never_ranked_together(
    client: FlaskClient, platform: Platform, dataset: dict[str, Any],
    feature_config: dict[str, Any], model_config: dict[str, Any],
) -> None:
    """A 100 % sample with a high recall must not top the leaderboard of 25 % runs, nor the reverse."""
    def run(name: str, parameters: dict[str, Any], recall: float, status: str = "completed") -> dict[str, Any]:
        doc = client.post("/api/experiments", json=start_payload(
            feature_config, model_config, name=name, parameters=parameters)).json
        assert "id" in doc, doc
        return finish(platform, doc["id"], status=status, results=results(recall, 0.3))

    quarter = {"sample_percent": 25}
    run("quarter a", quarter, 0.40)
    run("quarter b", quarter, 0.45)
    run("whole", {"sample_percent": 100}, 0.90)
    newest = client.post("/api/experiments", json=start_payload(
        feature_config, model_config, name="whole, time split", parameters={"sample_percent": 100, "split": {
            "strategy": "time_holdout", "date_column": "ts", "holdout_days": 20}})).json

    stats = client.get("/api/dashboard/stats").json
    groups = stats["protocols"]
    assert [g["experiments"] for g in groups] == [1, 1, 2], "every protocol a group, newest first"
    assert groups[0]["completed"] == 0 and newest["protocol"]["key"] == groups[0]["key"]
    whole = groups[1]
    assert stats["protocol"] == whole, "opens on the newest protocol with results"
    assert whole["label"] == "Shop interactions · 100% sample · random 80/10/10 · seed 42"
    assert (stats["total"], stats["best_recall_at_100"]["value"]) == (1, 0.9)

    quarter_key = groups[2]["key"]
    board = client.get("/api/dashboard/leaderboard", query_string={"protocol": quarter_key}).json
    assert [i["name"] for i in board["items"]] == ["quarter b", "quarter a"] and board["protocol"]["key"] == quarter_key
    cells = client.get("/api/dashboard/heatmap", query_string={"protocol": quarter_key}).json["cells"]
    assert sum(c["count"] for c in cells) == 2
    listed = client.get("/api/dashboard/protocols", query_string={"dataset_id": dataset["id"]}).json["items"]
    assert listed == groups

    unknown = client.get("/api/dashboard/leaderboard", query_string={"protocol": quarter_key[:-1]})
    assert unknown.status_code == 400 and error_of(unknown)["field"] == "protocol"
    assert quarter_key in error_of(unknown)["suggestions"]


def test_leaderboard_ranks_by_any_metric(
    client: FlaskClient, platform: Platform, dataset: dict[str, Any],
    feature_config: dict[str, Any], model_config: dict[str, Any],
) -> None:
    _grid(client, platform, dataset, feature_config, model_config)
    board = client.get("/api/dashboard/leaderboard").json
    assert (board["metric"], board["label"], board["direction"], board["total"]) == (
        "recall_at_100", "Recall@100", "higher", 5)
    assert [(r["rank"], r["value"]) for r in board["items"]] == [(1, .47), (2, .44), (3, .43), (4, .41), (5, .38)]
    top = board["items"][0]
    assert top["metrics"]["test_loss_per_example"] == 0.35 and top["parameters"]["epochs"] == 4

    by_loss = client.get("/api/dashboard/leaderboard?metric=test_loss_per_example").json
    assert by_loss["direction"] == "lower" and [r["value"] for r in by_loss["items"]][:2] == [0.30, 0.35]
    worst_first = client.get("/api/dashboard/leaderboard?metric=recall_at_100&order=asc&page=2&page_size=2").json
    assert [(r["rank"], r["value"]) for r in worst_first["items"]] == [(3, .43), (4, .44)]

    body = error_of(client.get("/api/dashboard/leaderboard?metric=recall_at_1000"))
    assert body["field"] == "metric" and "recall_at_100" in body["suggestions"]
    for not_ranking in ("popularity_recall_at_100", "ndcg_at_10", "test_loss"):
        body = error_of(client.get(f"/api/dashboard/heatmap?metric={not_ranking}"))
        assert body["field"] == "metric" and "not a metric that ranks" in body["message"], "catalogue decides"
    assert error_of(client.get("/api/dashboard/leaderboard?order=up"))["field"] == "order"
    dims = client.get("/api/dashboard/dimensions").json
    assert {"name": "test_loss_per_example", "label": "Test loss per example", "direction": "lower"} in dims["metrics"]
    assert "test_loss" not in {m["name"] for m in dims["metrics"]}, "the batch-summed loss ranks nothing (decision 079)"
    assert "popularity_recall_at_100" not in {m["name"] for m in dims["metrics"]}, "baselines are not ranked"
    assert {"name": "embedding_dims", "label": "Id embedding dims (buyer/product)"} in dims["axes"]


def test_heatmap_cells_and_best_cell(
    client: FlaskClient, platform: Platform, dataset: dict[str, Any],
    feature_config: dict[str, Any], model_config: dict[str, Any],
) -> None:
    started = _grid(client, platform, dataset, feature_config, model_config)
    body = client.get("/api/dashboard/heatmap").json
    assert body["x_axis"]["values"] == ["32/32", "64/32", "128/32"], "numeric parts sort as numbers"
    assert body["y_axis"]["values"] == ["none", "user_id×city(16d)"]
    cells = {(c["x"], c["y"]): c for c in body["cells"]}
    assert set(cells) == {("32/32", "none"), ("64/32", "none"), ("128/32", "none"), ("64/32", "user_id×city(16d)")}
    shared = cells[("64/32", "user_id×city(16d)")]
    assert (shared["value"], shared["count"], shared["experiment_id"]) == (0.47, 2, started[3]["id"])
    assert abs(shared["mean"] - 0.45) < 1e-12
    assert body["best"] == shared
    assert started[5]["id"] not in {i for c in body["cells"] for i in c["experiment_ids"]}, "failed runs are left out"

    by_loss = client.get("/api/dashboard/heatmap?metric=test_loss_per_example&x_axis=learning_rate&y_axis=epochs").json
    assert by_loss["x_axis"]["values"] == ["0.05", "0.1", "1"]
    assert (by_loss["best"]["x"], by_loss["best"]["value"]) == ("0.05", 0.30), "lower loss is better"
    by_path = client.get("/api/dashboard/heatmap?x_axis=parameters.seed&y_axis=model_config").json
    assert [(c["x"], c["y"], c["count"]) for c in by_path["cells"]] == [("42", "Standard", 5)]

    body = error_of(client.get("/api/dashboard/heatmap?x_axis=embeding_dims"))
    assert body["field"] == "x_axis" and body["suggestions"][0] == "embedding_dims"
    assert error_of(client.get("/api/dashboard/heatmap?y_axis=__class__.mro"))["field"] == "y_axis"


def test_heatmap_defaults_to_the_axes_that_vary(
    client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any],
) -> None:
    """One feature config (the crosses never change), epochs and learning rate varied: those are the default axes."""
    for epochs, rate, recall in ((1, 0.1, 0.3), (2, 0.1, 0.35), (3, 0.1, 0.4), (1, 0.05, 0.32), (2, 0.05, 0.37)):
        doc = client.post("/api/experiments", json=start_payload(
            feature_config, model_config, name=f"{epochs}/{rate}",
            parameters={"epochs": epochs, "learning_rate": rate})).json
        finish(platform, doc["id"], results=results(recall, 300))
    body = client.get("/api/dashboard/heatmap").json
    assert (body["x_axis"]["name"], body["y_axis"]["name"]) == ("epochs", "learning_rate")
    assert len(body["cells"]) == 5
    dims = client.get("/api/dashboard/dimensions").json
    assert dims["default_axes"] == {"x_axis": "epochs", "y_axis": "learning_rate"}
    assert dims["distinct"]["cross_features"] == 1 and dims["distinct"]["epochs"] == 3
    assert client.get("/api/dashboard/heatmap?x_axis=embedding_dims").json["y_axis"]["name"] == "epochs"
    assert client.get("/api/dashboard/heatmap?y_axis=epochs").json["x_axis"]["name"] == "learning_rate"


def test_csv_export_has_parameters_and_metrics(
    client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    first = client.post("/api/experiments", json=start_payload(feature_config, model_config, name=XSS)).json
    formula = "=HYPERLINK(\"http://evil\",\"x\")"
    second = client.post("/api/experiments", json=start_payload(feature_config, model_config, name=formula,
                                                                description="-2+3")).json
    finish(platform, first["id"], results=results(0.42, 0.3))
    response = client.get("/api/dashboard/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="experiments.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["number"] for r in rows] == ["1", "2"]
    one, two = rows
    assert one["name"] == XSS and one["status"] == "completed" and one["recall_at_100"] == "0.42"
    assert one["query_features"] == "user_id(64d), city(16d)" and one["cross_features"] == "user_id×city(16d)"
    assert one["query_tower_layers"] == "256→128→64" and one["sample_percent"] == "25"
    assert (one["epochs"], one["learning_rate"], one["split_strategy"]) == ("4", "0.05", "random")
    assert one["duration_s"] == "125.0" and one["popularity_recall_at_100"] == "0.295"
    assert two["name"] == "'" + formula and two["description"] == "'-2+3", "formulas are defused"
    assert two["recall_at_100"] == "" and two["id"] == second["id"]
    only_done = client.get("/api/dashboard/export.csv?status=completed").get_data(as_text=True)
    assert len(only_done.strip().splitlines()) == 2


HOME = "http://127.0.0.1:5999/#/experiments?workflowType=machine_learning"  # MLflow's list, machine-learning view


def test_mlflow_link(client: FlaskClient, platform: Platform, feature_config: dict[str, Any],
                     model_config: dict[str, Any]) -> None:
    assert client.get("/api/dashboard/mlflow").json == {"url": HOME}
    doc = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    assert client.get(f"/api/dashboard/mlflow?experiment_id={doc['id']}").json == {"url": HOME}
    assert client.get("/api/dashboard/mlflow?experiment_id=nope").status_code == 404


def test_dashboard_at_1000_experiments(
    client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    template = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    dims, rates = (16, 32, 64, 128), (0.01, 0.05, 0.1, 0.5)

    docs = []
    for i in range(1000):
        doc = copy.deepcopy(template)
        doc.update(id=f"bulk{i:04d}", number=i + 2, name=f"bulk {i}", status="completed",
                   results=results(0.2 + (i % 97) / 1000, 1.0 - (i % 89) / 1000))
        doc["feature_config_snapshot"]["query_features"][0]["embedding_dim"] = dims[i % 4]
        doc["parameters"]["learning_rate"] = rates[(i // 4) % 4]
        docs.append(doc)
    ExperimentRepository(platform.documents).save(*docs)
    for url in ("/api/dashboard/stats", "/api/dashboard/leaderboard?page_size=1000",
                "/api/dashboard/heatmap?x_axis=embedding_dims&y_axis=learning_rate",
                "/api/experiments?page_size=50", "/api/dashboard/export.csv"):
        assert client.get(url).status_code == 200, url
    assert len(client.get("/api/dashboard/leaderboard?page_size=1000").json["items"]) == 1000
    assert client.get("/api/dashboard/stats").json["completed"] == 1000
    heat = client.get("/api/dashboard/heatmap?x_axis=embedding_dims&y_axis=learning_rate").json
    assert len(heat["cells"]) == 16 and sum(c["count"] for c in heat["cells"]) == 1000


def test_leaderboard_rows_carry_only_what_the_dashboard_draws(
    client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    doc = client.post("/api/experiments", json=start_payload(feature_config, model_config, name="slim")).json
    finish(platform, doc["id"], results=results(0.42, 300, recall_at_10_excluding_train_items=0.2,
                                                test_loss_per_example=0.3))
    board = client.get("/api/dashboard/leaderboard").json
    [item] = board["items"]
    assert board["columns"] == ["recall_at_100", "recall_at_10", "recall_at_50", "test_loss_per_example"]
    assert set(item) == {"id", "number", "label", "name", "status", "feature_config_name", "model_config_name",
                         "rank", "value", "metrics", "parameters", "axes"}
    assert set(item["axes"]) == {"embedding_dims", "cross_features", "feature_count", "query_features",
                                 "candidate_features", "tower_layers"}
    assert isinstance(item["axes"]["feature_count"], int) and item["axes"]["embedding_dims"] == "64/32"
    assert (item["label"], item["feature_config_name"], item["model_config_name"]) == ("Exp #1", "ids + city",
                                                                                      "Standard")
    assert item["metrics"] == {"recall_at_10": 0.14, "recall_at_50": 0.336, "recall_at_100": 0.42,
                               "test_loss_per_example": 0.3}
    assert set(item["parameters"]) == {"sample_percent", "split", "epochs", "batch_size", "learning_rate",
                                       "hardware_tier"}
    assert item["parameters"]["split"]["strategy"] == "random"
    excluding = client.get("/api/dashboard/leaderboard?metric=recall_at_10_excluding_train_items").json
    [by_excluding] = excluding["items"]
    assert excluding["columns"][0] == "recall_at_10_excluding_train_items"
    assert by_excluding["value"] == 0.2 and by_excluding["metrics"]["recall_at_10_excluding_train_items"] == 0.2, (
        "the ranking metric is included")


def test_json_responses_are_compressed_when_the_client_accepts_it(
    client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    for i in range(12):
        doc = client.post("/api/experiments", json=start_payload(feature_config, model_config, name=f"run {i}")).json
        finish(platform, doc["id"], results=results(0.3 + i / 100, 0.3))
    plain = client.get("/api/dashboard/leaderboard")
    assert "Content-Encoding" not in plain.headers
    packed = client.get("/api/dashboard/leaderboard", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    body = gzip.decompress(packed.get_data())
    assert json.loads(body) == plain.json and len(packed.get_data()) < len(body) / 3
    small = client.get("/api/dashboard/mlflow", headers={"Accept-Encoding": "gzip"})
    assert len(small.get_data()) < 1024 and "Content-Encoding" not in small.headers, "under 1 KB stays as it is"
    exported = client.get("/api/dashboard/export.csv", headers={"Accept-Encoding": "br"})
    assert exported.headers["Content-Encoding"] == "br"


class GatedStore:
    """A real SQLite store whose summary queries are counted and held until ``release()``."""

    def __init__(self, inner: SqliteDocumentStore) -> None:
        self.inner = inner
        self.queries = 0
        self.started = threading.Event()
        self.gate = threading.Event()
        self.fail = False

    def release(self) -> None:
        self.gate.set()

    def query(self, collection: str, filters: Sequence[Filter] = (), order_by: Sequence[Order] = (),
              limit: int | None = None, offset: int = 0) -> list[Doc]:
        if collection == SUMMARIES:
            self.queries += 1
            self.started.set()
            assert self.gate.wait(10), "the test never released the query"
            if self.fail:
                raise RuntimeError("store unavailable")
        return self.inner.query(collection, filters, order_by, limit, offset)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _waiting_to_refresh(threads: list[threading.Thread]) -> None:
    """Until every thread of ``threads`` waits in ``ExperimentIndex._refresh`` (read from their stacks)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        frames = sys._current_frames()
        names = [_stack(frames.get(t.ident or 0)) for t in threads]
        if all("_refresh" in n for n in names):
            return
        time.sleep(0.005)
    raise AssertionError("the callers never waited on the running refresh")


def _stack(frame: FrameType | None) -> list[str]:
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names


def _in_threads(calls: list[Callable[[], Any]], store: GatedStore) -> list[Any]:
    """Run ``calls`` in threads: the first starts the read; the rest once it is held in the store,
    which releases it when they all wait on it."""
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            out[i] = calls[i]()
        except Exception as exc:  # handed back to the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    threads[0].start()
    assert store.started.wait(10)
    for thread in threads[1:]:
        thread.start()
    _waiting_to_refresh(threads[1:])
    store.release()
    for thread in threads:
        thread.join(10)
    return out


def test_the_dashboards_concurrent_requests_read_the_experiments_once(tmp_path: Any, platform: Platform) -> None:
    store = GatedStore(SqliteDocumentStore(tmp_path / "gated.sqlite"))
    app = gateway_app(Platform(platform.settings, documents=store, bus=platform.bus))
    urls = ["/api/dashboard/stats", "/api/dashboard/leaderboard", "/api/dashboard/heatmap",
            "/api/dashboard/dimensions"]
    responses = _in_threads([lambda url=url: app.test_client().get(url) for url in urls], store)
    assert [r.status_code for r in responses] == [200] * 4
    assert store.queries == 1, "one read of the summaries, whatever the number of requests"


def test_a_failed_read_fails_its_request_and_the_next_request_reads_again(tmp_path: Any, platform: Platform) -> None:
    store = GatedStore(SqliteDocumentStore(tmp_path / "gated.sqlite"))
    store.fail = True
    store.release()
    app = gateway_app(Platform(platform.settings, documents=store, bus=platform.bus))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answered as in production, not raised into the test
    failed = app.test_client().get("/api/dashboard/stats")
    assert failed.status_code == 500 and failed.json["error_code"] == "INTERNAL_ERROR"
    assert store.queries == 2, "the snapshot middleware's read, then the view's inside Flask's error mapping"
    store.fail = False
    body = app.test_client().get("/api/dashboard/stats").json
    assert body["total"] == 0 and store.queries == 3
