"""The comparison of 2 to 5 experiments: sections, ≡/≠ rows, best values, formatted lists."""

from __future__ import annotations

from typing import Any

from experiments_platform.bootstrap import Platform
from flask.testing import FlaskClient

from .conftest import ROW_COUNT, feature_payload, finish, model_payload, results, start_payload
from .test_configs import error_of


def _experiments(client: FlaskClient, platform: Platform, dataset: dict[str, Any],
                 feature_config: dict[str, Any], model_config: dict[str, Any]) -> list[str]:
    narrow = client.post("/api/feature-configs", json=feature_payload(
        dataset["id"], name="ids only", cross_features=[],
        query_features=[{"column": "user_id", "kind": "id", "embedding_dim": 32},
                        {"column": "price", "kind": "numeric"}])).json
    small = client.post("/api/model-configs", json=model_payload(
        name="Small", query_tower_layers=[128, 64], candidate_tower_layers=[128, 64])).json
    first = client.post("/api/experiments", json=start_payload(feature_config, model_config, name="wide")).json
    second = client.post("/api/experiments", json=start_payload(
        narrow, small, name="narrow", parameters={"sample_percent": 25, "hardware_tier": "medium"})).json
    third = client.post("/api/experiments", json=start_payload(feature_config, model_config, name="broken")).json
    finish(platform, first["id"], results=results(0.473, 0.034, test_loss_per_example=3.4e-5))
    finish(platform, second["id"], results=results(0.451, 0.030, test_loss_per_example=3.0e-5))
    finish(platform, third["id"], status="failed", error={
        "code": "OOM", "title": "Out of memory", "suggestion": "use a larger tier", "stage": "train", "excerpt": "x"})
    return [first["id"], second["id"], third["id"]]


def _rows(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{s['key']}.{r['key']}": r for s in body["sections"] for r in s["rows"]}


def test_compare_groups_rows_and_marks_identical_and_best(
    client: FlaskClient, platform: Platform, dataset: dict[str, Any],
    feature_config: dict[str, Any], model_config: dict[str, Any],
) -> None:
    ids = _experiments(client, platform, dataset, feature_config, model_config)
    response = client.post("/api/experiments/compare", json={"experiment_ids": ids})
    assert response.status_code == 200, response.json
    body = response.json
    assert [s["title"] for s in body["sections"]] == [
        "Results", "Training parameters", "Sampling", "Dataset", "Feature config", "Model config"]
    assert [e["label"] for e in body["experiments"]] == ["Exp #1", "Exp #2", "Exp #3"]
    rows = _rows(body)

    recall = rows["results.recall_at_100"]
    assert recall["label"] == "Recall@100" and recall["values"] == [0.473, 0.451, None]
    assert recall["display"] == ["47.3%", "45.1%", "—"]
    assert (recall["identical"], recall["direction"], recall["best"]) == (False, "higher", [0])
    loss = rows["results.test_loss"]
    assert (loss["direction"], loss["best"], loss["display"][:2]) == ("none", [], ["0.034", "0.03"]), "summed per batch"
    per_example = rows["results.test_loss_per_example"]
    assert (per_example["direction"], per_example["best"]) == ("lower", [1]), "the per-example loss ranks (079)"
    baseline = rows["results.popularity_recall_at_100"]
    assert baseline["identical"] is False and baseline["best"] == [], "baselines are shown, never starred"
    assert rows["results.status"]["values"] == ["completed", "completed", "failed"]
    assert rows["results.error"]["display"] == ["—", "—", "Out of memory"]
    assert rows["results.duration_s"]["display"] == ["2 min 5 s"] * 3 and rows["results.duration_s"]["identical"]

    buyer = rows["feature_config.buyer_features"]
    assert buyer["display"] == ["user_id(64d), city(16d)", "user_id(32d), price(norm)", "user_id(64d), city(16d)"]
    assert buyer["identical"] is False and buyer["best"] == []
    assert rows["feature_config.buyer_crosses"]["display"] == ["user_id×city(16d)", "none", "user_id×city(16d)"]
    assert rows["feature_config.product_features"]["display"] == ["item_id(32d)"] * 3
    assert rows["feature_config.product_features"]["identical"] is True
    assert rows["model_config.query_tower_layers"]["display"] == ["256→128→64", "128→64", "256→128→64"]
    assert rows["dataset.dataset_name"]["identical"] is True
    assert rows["dataset.row_count"]["display"] == [f"{ROW_COUNT:,}"] * 3
    assert rows["sampling.sample_percent"]["display"] == ["25%"] * 3
    assert rows["sampling.split"]["display"][0] == "random 80/10/10"
    assert rows["training.epochs"]["values"] == [4, 4, 4]


def test_ties_star_every_best_value_and_equal_rows_star_none(
    client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    ids = [client.post("/api/experiments", json=start_payload(feature_config, model_config)).json["id"]
           for _ in range(3)]
    finish(platform, ids[0], results=results(0.40, 0.1))
    finish(platform, ids[1], results=results(0.40, 0.1))
    finish(platform, ids[2], results=results(0.30, 0.1))
    rows = _rows(client.post("/api/experiments/compare", json={"experiment_ids": ids}).json)
    assert rows["results.recall_at_100"]["best"] == [0, 1]
    assert rows["results.test_loss"]["identical"] is True and rows["results.test_loss"]["best"] == []


def test_compare_validates_the_selection(
    client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    ids = [client.post("/api/experiments", json=start_payload(feature_config, model_config)).json["id"]
           for _ in range(6)]
    for chosen, message in ((ids[:1], "choose 2 to 5 experiments (got 1)"),
                            (ids, "choose 2 to 5 experiments (got 6)"),
                            ([ids[0], ids[0]], "each experiment can be chosen once"),
                            ("abc", "expected a list of experiment ids")):
        body = error_of(client.post("/api/experiments/compare", json={"experiment_ids": chosen}))
        assert body["field"] == "experiment_ids" and message in body["message"]
    assert error_of(client.post("/api/experiments/compare", json={}))["field"] == "experiment_ids"
    response = client.post("/api/experiments/compare", json={"experiment_ids": [ids[0], "missing"]})
    assert response.status_code == 404 and error_of(response)["field"] == "experiment_ids[1]"
    assert client.post("/api/experiments/compare", json={"experiment_ids": ids[:5]}).status_code == 200


def test_both_protocol_variants_and_baselines_read_as_percentages(
    client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any]
) -> None:
    ids = [client.post("/api/experiments", json=start_payload(feature_config, model_config)).json["id"]
           for _ in range(2)]
    variants = {"recall_at_100_excluding_train_items": 0.671, "popularity_recall_at_10": 0.0885,
                "popularity_recall_at_100_excluding_train_items": 0.4425}
    finish(platform, ids[0], results=results(0.446, 0.2, **variants))
    finish(platform, ids[1], results=results(0.39, 0.3, **{**variants, "recall_at_100_excluding_train_items": 0.584,
                                                           "popularity_recall_at_10": 0.0251}))
    body = client.post("/api/experiments/compare", json={"experiment_ids": ids}).json
    rows = _rows(body)

    excluding = rows["results.recall_at_100_excluding_train_items"]
    assert excluding["label"] == "Recall@100 (excl. training items)"
    assert (excluding["display"], excluding["best"]) == (["67.1%", "58.4%"], [0])
    popular = rows["results.popularity_recall_at_10"]
    assert (popular["label"], popular["display"]) == ("Popularity Recall@10", ["8.8%", "2.5%"])
    assert popular["identical"] is False and popular["best"] == [] and popular["direction"] == "none"
    popular_excluding = rows["results.popularity_recall_at_100_excluding_train_items"]
    assert popular_excluding["label"] == "Popularity Recall@100 (excl. training items)"
    assert popular_excluding["display"] == ["44.3%", "44.3%"], "half away from zero, as the UI rounds"
    assert popular_excluding["best"] == []

    order = [r["key"] for r in body["sections"][0]["rows"]]
    assert order[:8] == ["status", "recall_at_10", "recall_at_50", "recall_at_100", "test_loss",
                         "recall_at_100_excluding_train_items", "popularity_recall_at_10", "popularity_recall_at_100"]
    assert order[8] == "popularity_recall_at_100_excluding_train_items", "the model's rows first, then the baselines'"
