"""Sweeps, seed groups, paired intervals, the noise table and attribution through the HTTP API (decisions 065-068).

Real embedded adapters (SQLite documents, the embedded bus, DuckDB, local blobs); an experiment's
ending is written as the status watcher writes it (``finish``), its per-buyer hits as the trainer
writes ``test_hits.json`` into the artifact store.
"""

from __future__ import annotations

from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.domain.noise import HITS_FILE, BuyerHits, HitsVariant
from experiments_platform.domain.protocol import protocol_key
from experiments_platform.events.messages import CancelExperiment, SubmitExperiment, Topics
from flask.testing import FlaskClient

from .conftest import Published, finish, results, start_payload
from .test_configs import error_of


def sweep_payload(feature_config: dict[str, Any], model_config: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    payload = {**start_payload(feature_config, model_config), "name": "lr x dims",
               "axes": [{"field": "learning_rate", "values": [0.05, 0.1]},
                        {"field": "embedding_dims", "values": [16, 32]}],
               "repeats": 2}
    payload.update(overrides)
    return payload


def test_a_sweep_is_refused_whole_with_the_field_named_before_anything_is_stored(
        client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]) -> None:
    cases = [
        ({"axes": [{"field": "learnin_rate", "values": [0.1, 0.2]}]}, "axes[0].field", "learning_rate"),
        ({"axes": [{"field": "learning_rate", "values": [0.1, -1.0]}]}, "axes[0].values[1]", "greater than 0"),
        ({"axes": [{"field": "optimizer", "values": ["adam", "lion"]}]}, "axes[0].values[1]", "optimizer"),
        ({"axes": [{"field": "epochs", "values": [1, 1]}]}, "axes[0].values", "listed twice"),
        ({"axes": [], "repeats": 1}, "repeats", "seed group"),
        ({"axes": [{"field": "epochs", "values": list(range(1, 11))},
                   {"field": "batch_size", "values": [64, 128, 256, 512]}], "repeats": 2}, "axes", "at most 64"),
        ({"axes": [{"field": "feature:query.city", "values": [True, "maybe"]}]}, "axes[0].values[1]", "true or false"),
    ]
    for change, field, words in cases:
        response = client.post("/api/sweeps", json=sweep_payload(feature_config, model_config, **change))
        assert response.status_code == 400, (change, response.json)
        error = error_of(response)
        assert error["field"] == field and words in error["message"], (change, error)
    assert platform.documents.query("experiments") == [] and platform.documents.query("sweeps") == []


def test_the_estimate_covers_the_whole_sweep(client: FlaskClient, feature_config: dict[str, Any],
                                            model_config: dict[str, Any]) -> None:
    response = client.post("/api/sweeps/estimate", json=sweep_payload(feature_config, model_config))
    assert response.status_code == 200, response.json
    estimate = response.json
    assert estimate["experiments"] == 8 and len(estimate["cells"]) == 4
    assert estimate["run_s"] == sum(c["duration_s"] for c in estimate["cells"]) * 2
    assert estimate["wall_s"] == estimate["run_s"] / estimate["concurrency"]


def test_a_sweep_starts_every_cell_as_a_seed_group_on_one_split_and_its_grid_fills(
        client: FlaskClient, platform: Platform, published: Published, feature_config: dict[str, Any],
        model_config: dict[str, Any]) -> None:
    response = client.post("/api/sweeps", json=sweep_payload(feature_config, model_config))
    assert response.status_code == 202, response.json
    sweep = response.json
    assert sweep["status"] == "running" and len(sweep["children"]) == 8 and len(sweep["cells"]) == 4
    assert sweep["estimate"]["experiments"] == 8
    ids = [c["experiment_id"] for c in sweep["children"]]
    assert published.on(Topics.SUBMIT) == [SubmitExperiment(experiment_id=i) for i in ids]
    docs = [client.get(f"/api/experiments/{i}").json for i in ids]
    assert len({protocol_key(d) for d in docs}) == 1, "one split for every cell and repeat"
    seeds = sorted((d["sweep"]["cell_key"], d["parameters"]["training_seed"]) for d in docs)
    assert seeds[:2] == [("learning_rate=0.05,embedding_dims=16", 42), ("learning_rate=0.05,embedding_dims=16", 43)]
    for d in docs:
        dims = {f["embedding_dim"] for f in d["feature_config_snapshot"]["query_features"] if f["kind"] == "id"}
        assert dims == {int(d["sweep"]["cell"]["embedding_dims"])}
        assert d["parameters"]["learning_rate"] == float(d["sweep"]["cell"]["learning_rate"])

    for n, d in enumerate(docs):
        lr, dims = float(d["sweep"]["cell"]["learning_rate"]), int(d["sweep"]["cell"]["embedding_dims"])
        finish(platform, d["id"], results=results(0.2 + lr + dims / 1000 + (n % 2) / 100, 0.5))
    view = client.get(f"/api/sweeps/{sweep['id']}").json
    assert view["status"] == "completed" and view["ended"] == 8
    cell = next(c for c in view["cells"] if c["key"] == "learning_rate=0.1,embedding_dims=32")
    assert cell["spread"]["n"] == 2 and abs(cell["spread"]["mean"] - (0.2 + 0.1 + 0.032 + 0.005)) < 1e-9
    assert abs(cell["spread"]["std"] - 0.01 / 2 ** 0.5) < 1e-9
    assert view["best_cell"]["key"] == "learning_rate=0.1,embedding_dims=32"
    assert [a["field"] for a in view["grid_axes"]] == ["learning_rate", "embedding_dims"]

    compared = client.post("/api/experiments/compare", json={"experiment_ids": [ids[0], ids[-1]]}).json
    results_rows = {r["key"]: r for r in compared["sections"][0]["rows"]}
    assert results_rows["seed_group"]["display"][1].startswith("33.7% ± 0.7 pp (n=2)")
    training_rows = {r["key"]: r for r in compared["sections"][1]["rows"]}
    assert training_rows["training_seed"]["values"] == [42, 43]

    heat = client.get("/api/dashboard/heatmap?x_axis=learning_rate&y_axis=embedding_dims").json
    spot = next(c for c in heat["cells"] if (c["x"], c["y"]) == ("0.1", "32/32"))
    assert spot["count"] == 2 and abs(spot["std"] - 0.01 / 2 ** 0.5) < 1e-9

    groups = client.get("/api/seed-groups").json
    assert groups["total"] == 4 and all(g["completed"] == 2 for g in groups["items"])

    panel = client.get("/api/dashboard/attribution").json
    assert panel["runs"] == 8
    top = panel["parameters"][0]
    assert top["parameter"] == "learning_rate" and top["best_value"] == "0.1"
    assert abs(top["effect_pp"] - 5.0) < 1e-6 and top["beyond_noise"] is True
    dims_row = next(p for p in panel["parameters"] if p["parameter"] == "embedding_dims")
    assert dims_row["share_of_variance"] < top["share_of_variance"]


def test_cancelling_a_sweep_cancels_every_child_not_yet_ended(
        client: FlaskClient, platform: Platform, published: Published, feature_config: dict[str, Any],
        model_config: dict[str, Any]) -> None:
    sweep = client.post("/api/sweeps", json=sweep_payload(
        feature_config, model_config, axes=[{"field": "epochs", "values": [1, 2]}], repeats=1)).json
    first, second = (c["experiment_id"] for c in sweep["children"])
    finish(platform, first, results=results(0.3, 0.5))
    response = client.post(f"/api/sweeps/{sweep['id']}/cancel")
    assert response.status_code == 202 and response.json["cancel_requested"] is True
    assert published.on(Topics.CANCEL) == [CancelExperiment(experiment_id=second)]
    assert client.get(f"/api/experiments/{second}").json["cancel_requested"] is True
    finish(platform, second, status="cancelled")
    assert client.get(f"/api/sweeps/{sweep['id']}").json["status"] == "cancelled"
    assert client.get("/api/sweeps/nope").status_code == 404


def _hits(platform: Platform, experiment_id: str, hits_at_100: list[int]) -> None:
    n = len(hits_at_100)
    hits = BuyerHits(buyers=[f"u{i}" for i in range(n)], variants={"all_items": HitsVariant(
        interactions=[1] * n, hits={"10": [0] * n, "50": hits_at_100, "100": hits_at_100})})
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment_id, HITS_FILE),
                               hits.model_dump_json().encode())


def test_paired_interval_and_the_noise_table_say_better_within_noise_or_worse(
        client: FlaskClient, platform: Platform, feature_config: dict[str, Any],
        model_config: dict[str, Any]) -> None:
    a, b, c = (client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
               for _ in range(3))
    base = [1] * 300 + [0] * 700
    _hits(platform, a["id"], base)
    _hits(platform, b["id"], [1] * 400 + [0] * 600)  # +10 pp on the same buyers: beyond noise
    _hits(platform, c["id"], [0] + [1] * 300 + [0] * 699)  # one hit moved: within noise
    finish(platform, a["id"], results=results(0.30, 0.5, recall_at_50=0.30))
    finish(platform, b["id"], results=results(0.40, 0.5, recall_at_50=0.40))
    finish(platform, c["id"], results=results(0.30, 0.5, recall_at_50=0.30))

    paired = client.get(f"/api/paired?a={a['id']}&b={b['id']}")
    assert paired.status_code == 200, paired.json
    row = next(r for r in paired.json["rows"] if r["metric"] == "recall_at_100")
    assert abs(row["difference_pp"] - 10.0) < 1e-9 and 7.5 < row["low_pp"] < 10.0 < row["high_pp"] < 12.5
    assert row["verdict"] == "better" and row["buyers"] == 1000
    within = client.get(f"/api/paired?a={a['id']}&b={c['id']}").json
    row = next(r for r in within["rows"] if r["metric"] == "recall_at_100")
    assert row["difference_pp"] == 0 and row["low_pp"] < 0 < row["high_pp"] and row["verdict"] == "within_noise"

    table = client.get(f"/api/experiments/{c['id']}/noise").json
    assert table["previous"]["id"] == b["id"]
    head = next(r for r in table["rows"] if r["metric"] == "recall_at_100")
    assert head["verdict"] == "worse" and abs(head["difference_pp"] + 10.0) < 1e-9
    assert head["interval_source"] == "paired bootstrap over test buyers"

    platform.blobs.delete(platform.experiment_artifacts_uri(b["id"], HITS_FILE))
    table = client.get(f"/api/experiments/{c['id']}/noise").json
    head = next(r for r in table["rows"] if r["metric"] == "recall_at_100")
    assert head["verdict"] == "unknown" and head["verdict_text"] == "no noise estimate"
    missing = client.get(f"/api/paired?a={a['id']}&b={b['id']}")
    assert missing.status_code == 404 and "test_hits.json" in error_of(missing)["message"]
    assert error_of(client.get(f"/api/paired?a={a['id']}"))["field"] == "b"


def test_the_noise_table_has_the_loss_per_example_row(
        client: FlaskClient, platform: Platform, feature_config: dict[str, Any],
        model_config: dict[str, Any]) -> None:
    """"vs previous best" per metric as the spec's results table: the recalls and the loss (issue 15), the loss's
    difference in its own units (lower is better; no per-buyer interval for a loss)."""
    a, b = (client.post("/api/experiments", json=start_payload(feature_config, model_config)).json for _ in range(2))
    finish(platform, a["id"], results=results(0.40, 400, test_loss_per_example=0.42))
    finish(platform, b["id"], results=results(0.35, 380, test_loss_per_example=0.38))
    table = client.get(f"/api/experiments/{b['id']}/noise").json
    assert table["previous"]["id"] == a["id"]
    loss = next(r for r in table["rows"] if r["metric"] == "test_loss_per_example")
    assert (loss["value"], loss["previous"]) == (0.38, 0.42) and abs(loss["difference_pp"] + 0.04) < 1e-9
    assert loss["verdict"] == "unknown" and loss["interval_source"] == "none"
    assert [r["metric"] for r in table["rows"]][-1] == "test_loss_per_example", "after the recalls"


def test_a_paired_interval_needs_one_split(client: FlaskClient, platform: Platform, feature_config: dict[str, Any],
                                          model_config: dict[str, Any]) -> None:
    a = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    b = client.post("/api/experiments", json=start_payload(
        feature_config, model_config, parameters={"sample_percent": 25, "seed": 7})).json
    response = client.get(f"/api/paired?a={a['id']}&b={b['id']}")
    assert response.status_code == 400
    assert error_of(response)["field"] == "experiment_ids" and "same split" in error_of(response)["message"]
