"""Watched datasets (issue 13): ``/api/datasets/{id}/watches`` pins quick tests to a dataset; a change of
the dataset's file (the submitter's Eventarc route) runs them again, and the watch shows the new run
against the previous one: metrics in pp with a noise verdict, and the data's statistics.

Real gateway and submitter apps on SQLite, the embedded bus and DuckDB; the runs' completion is
written as the status watcher would (``finish``), their per-buyer test hits as the trainer does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent
from experiments_platform.bootstrap import Platform
from experiments_platform.domain.noise import HITS_FILE, summarize_hits
from experiments_platform.events import data_events
from experiments_platform.events.messages import SubmitExperiment, Topics
from experiments_platform.web.app import create_app
from flask.testing import FlaskClient

from .conftest import INTERACTIONS, Published, finish, results, start_payload


def completed(client: FlaskClient, platform: Platform, feature_config: dict[str, Any], model_config: dict[str, Any],
              recall: float, hit_rate: float) -> dict[str, Any]:
    started = client.post("/api/experiments", json=start_payload(feature_config, model_config, name="pinned"))
    assert started.status_code == 202, started.json
    write_hits(platform, started.json["id"], hit_rate)
    return finish(platform, started.json["id"], results=results(recall, 0.03))


def write_hits(platform: Platform, experiment_id: str, hit_rate: float, buyers: int = 60) -> None:
    """``test_hits.json`` as the trainer writes it: each buyer 4 test interactions, hits at 100 by rate."""
    hits = [round(4 * hit_rate + (0.5 if i % 2 else -0.5)) for i in range(buyers)]
    document = summarize_hits([f"u{i}" for i in range(buyers)], {"all_items": [4] * buyers},
                              {"all_items": {100: [max(0, min(4, h)) for h in hits]}})
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment_id, HITS_FILE),
                               document.model_dump_json().encode())


def test_pin_a_completed_quick_test_list_and_unpin(client: FlaskClient, platform: Platform, dataset: dict[str, Any],
                                                   feature_config: dict[str, Any],
                                                   model_config: dict[str, Any]) -> None:
    first = completed(client, platform, feature_config, model_config, 0.40, 0.4)

    pinned = client.post(f"/api/datasets/{dataset['id']}/watches", json={"experiment_id": first["id"]})

    assert pinned.status_code == 201, pinned.json
    watch = pinned.json
    assert (watch["name"], watch["pinned_from"], watch["feature_config_id"]) == (
        "pinned", first["id"], feature_config["id"])
    assert [(r["trigger"], r["experiment_id"], r["number"]) for r in watch["runs"]] == [
        ("pinned", first["id"], first["number"])]
    [listed] = client.get(f"/api/datasets/{dataset['id']}/watches").json["watches"]
    assert listed["statuses"] == {first["id"]: "completed"} and listed["drift"] is None
    assert client.delete(f"/api/datasets/{dataset['id']}/watches/{watch['id']}").status_code == 204
    assert client.get(f"/api/datasets/{dataset['id']}/watches").json == {"watches": []}
    assert client.delete(f"/api/datasets/{dataset['id']}/watches/{watch['id']}").status_code == 404


def test_a_source_change_runs_the_pinned_quick_test_again_and_shows_the_drift(
        client: FlaskClient, platform: Platform, dataset: dict[str, Any], feature_config: dict[str, Any],
        model_config: dict[str, Any], data_files: dict[str, Path], published: Published) -> None:
    first = completed(client, platform, feature_config, model_config, 0.40, 0.4)
    watch = client.post(f"/api/datasets/{dataset['id']}/watches", json={"experiment_id": first["id"]}).json
    before = len(published.on(Topics.SUBMIT))

    path = data_files["interactions"]
    extra = "".join(f"u{200 + i},i{500 + i % 40},3,Lyon,9.5,red shoes,2024-02-0{1 + i % 9} 10:00:00\n"
                    for i in range(400))
    path.write_text(INTERACTIONS + extra)
    attributes, data = data_events.storage_object(path.as_uri(), path.stat().st_size)
    headers, body = to_binary(CloudEvent(attributes, data))
    submitter = create_app("submitter", platform).test_client()
    assert submitter.post(data_events.DATA_EVENTS_PATH, data=body, headers=dict(headers)).status_code == 204
    assert submitter.post(data_events.DATA_EVENTS_PATH, data=body, headers=dict(headers)).status_code == 204

    [listed] = client.get(f"/api/datasets/{dataset['id']}/watches").json["watches"]
    assert len(listed["runs"]) == 2, "one run per source change, whatever the redeliveries"
    rerun = listed["runs"][1]
    assert rerun["trigger"] == "source_change" and rerun["rows"] == dataset["row_count"] + 400
    submitted = published.on(Topics.SUBMIT)[before:]
    assert submitted == [SubmitExperiment(experiment_id=rerun["experiment_id"])], "through the admission queue"
    assert listed["statuses"][rerun["experiment_id"]] == "pending" and listed["drift"] is None

    write_hits(platform, rerun["experiment_id"], 0.31)
    finish(platform, rerun["experiment_id"], results=results(0.31, 0.05))
    [listed] = client.get(f"/api/datasets/{dataset['id']}/watches").json["watches"]

    drift = listed["drift"]
    assert (drift["previous"]["id"], drift["current"]["id"]) == (first["id"], rerun["experiment_id"])
    rows = {r["metric"]: r for r in drift["metrics"]}
    head = rows["recall_at_100"]
    assert round(head["difference_pp"], 6) == -9.0 and head["previous"] == 0.40 and head["value"] == 0.31
    assert head["low_pp"] < head["high_pp"] and head["verdict"] in ("better", "worse", "within_noise")
    assert rows["recall_at_10"]["verdict"] == "unknown", "no per-buyer hits at 10: no interval"
    data = {r["key"]: r for r in drift["data"]}
    assert (data["rows"]["previous"], data["rows"]["value"]) == (dataset["row_count"], dataset["row_count"] + 400)
    assert data["rows"]["change"] == 400
    assert data["products"]["value"] > data["products"]["previous"], "40 new products in the corpus"
    assert data["test_cold_product_share"]["kind"] == "share"
    assert drift["summary"].startswith(f"Exp #{drift['current']['number']} vs Exp #{first['number']}: ")
    assert watch["id"] == listed["id"]


def test_pinning_configs_starts_a_first_run(client: FlaskClient, dataset: dict[str, Any],
                                            feature_config: dict[str, Any], model_config: dict[str, Any],
                                            published: Published) -> None:
    answer = client.post(f"/api/datasets/{dataset['id']}/watches", json={
        "name": "nightly drift", "feature_config_id": feature_config["id"], "model_config_id": model_config["id"],
        "parameters": {"sample_percent": 25}})
    assert answer.status_code == 201, answer.json
    [run] = answer.json["runs"]
    assert run["trigger"] == "pinned" and run["experiment_id"]
    assert SubmitExperiment(experiment_id=run["experiment_id"]) in published.on(Topics.SUBMIT)


def test_pinning_refuses_what_cannot_be_watched_naming_the_field(
        client: FlaskClient, platform: Platform, dataset: dict[str, Any], feature_config: dict[str, Any],
        model_config: dict[str, Any]) -> None:
    url = f"/api/datasets/{dataset['id']}/watches"
    running = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    cases = {
        "not completed": ({"experiment_id": running["id"]}, "experiment_id", "pending"),
        "both": ({"experiment_id": running["id"], "model_config_id": model_config["id"]}, "experiment_id",
                 "not both"),
        "no model config": ({"feature_config_id": feature_config["id"]}, "model_config_id", "required"),
        "unknown field": ({"experiment": running["id"]}, "experiment", ""),
    }
    for why, (payload, field, words) in cases.items():
        answer = client.post(url, json=payload)
        assert answer.status_code == 400, (why, answer.json)
        assert answer.json["field"] == field and words in answer.json["message"], (why, answer.json)
    assert client.post("/api/datasets/nope/watches", json={"experiment_id": running["id"]}).status_code == 404
    assert client.get("/api/datasets/nope/watches").status_code == 404
    malformed = client.delete(f"{url}/%C2%84")  # schemathesis' finding: a 400 the document did not list
    assert malformed.status_code == 404 and malformed.json["field"] == "watch_id"


def test_re_registering_a_changed_file_runs_the_watches_again(
        client: FlaskClient, platform: Platform, dataset: dict[str, Any], feature_config: dict[str, Any],
        model_config: dict[str, Any], data_files: dict[str, Path], published: Published) -> None:
    """Locally a file may change under a dataset without the blob store (a copy into the warehouse folder):
    registering it again (PUT) reads it again; a change of rows or columns re-runs the watches as an event
    would, and is kept in the dataset's source changes (which a PUT used to drop)."""
    first = completed(client, platform, feature_config, model_config, 0.40, 0.4)
    client.post(f"/api/datasets/{dataset['id']}/watches", json={"experiment_id": first["id"]})
    fields = {k: dataset[k] for k in ("name", "description", "source", "query_id_column", "candidate_id_column",
                                      "date_column", "buyer_features")}
    fields["buyer_features"] = {"source": dataset["buyer_features"]["source"], "join_key": "user_id"}
    same = client.put(f"/api/datasets/{dataset['id']}", json=fields)
    assert same.status_code == 200, same.json
    [listed] = client.get(f"/api/datasets/{dataset['id']}/watches").json["watches"]
    assert len(listed["runs"]) == 1, "the same file read again is no change"

    path = data_files["interactions"]
    path.write_text(INTERACTIONS + "".join(f"u{300 + i},i{9},3,Nice,9.5,red shoes,2024-03-01 10:00:00\n"
                                           for i in range(50)))
    changed = client.put(f"/api/datasets/{dataset['id']}", json=fields)

    assert changed.status_code == 200 and changed.json["row_count"] == dataset["row_count"] + 50
    [record] = changed.json["source_changes"]
    assert (record["row_count_before"], record["row_count_after"]) == (dataset["row_count"], dataset["row_count"] + 50)
    [listed] = client.get(f"/api/datasets/{dataset['id']}/watches").json["watches"]
    assert [r["trigger"] for r in listed["runs"]] == ["pinned", "source_change"]
    assert listed["runs"][1]["event_id"] == record["event_id"]
    assert SubmitExperiment(experiment_id=listed["runs"][1]["experiment_id"]) in published.on(Topics.SUBMIT)


def test_a_watched_dataset_or_config_cannot_be_deleted_and_the_refusal_names_the_watch(
        client: FlaskClient, dataset: dict[str, Any], feature_config: dict[str, Any],
        model_config: dict[str, Any]) -> None:
    """As for its experiments and feature configs, a dataset (or a config) is not deleted while a watch pins
    it: the 409 names the watch, so the user knows to unpin it first; once unpinned, nothing of it is left."""
    watch = client.post(f"/api/datasets/{dataset['id']}/watches", json={
        "name": "nightly drift", "feature_config_id": feature_config["id"], "model_config_id": model_config["id"],
        "parameters": {"sample_percent": 25}}).json
    for url in (f"/api/datasets/{dataset['id']}", f"/api/feature-configs/{feature_config['id']}",
                f"/api/model-configs/{model_config['id']}"):
        refused = client.delete(url)
        assert refused.status_code == 409, (url, refused.json)
        assert "watch 'nightly drift'" in refused.json["message"], (url, refused.json)
        assert "watch 'nightly drift'" in refused.json["details"]["used_by"], (url, refused.json)
    assert client.get(f"/api/datasets/{dataset['id']}/watches").json["watches"][0]["id"] == watch["id"]
    assert client.delete(f"/api/datasets/{dataset['id']}/watches/{watch['id']}").status_code == 204
    still = client.delete(f"/api/datasets/{dataset['id']}").json
    assert "watch" not in still["message"], still


def test_pinning_the_same_quick_test_twice_answers_the_existing_watch(
    client: FlaskClient, platform: Platform, dataset: dict[str, Any], feature_config: dict[str, Any],
    model_config: dict[str, Any], published: Published,
) -> None:
    """Issue 10's re-run: one completed quick test could be pinned any number of times (and each watch
    ran again on every source change). The same experiment, or the same configs and parameters, pinned
    again answer the watch that exists (200), storing and starting nothing."""
    pins = f"/api/datasets/{dataset['id']}/watches"
    first = completed(client, platform, feature_config, model_config, 0.40, 0.4)
    pinned = client.post(pins, json={"experiment_id": first["id"]})
    assert pinned.status_code == 201, pinned.json
    again = client.post(pins, json={"experiment_id": first["id"], "name": "another name"})
    assert again.status_code == 200 and again.json == pinned.json, again.json

    configs = {"feature_config_id": feature_config["id"], "model_config_id": model_config["id"],
               "parameters": {"sample_percent": 25, "learning_rate": 0.05}}
    by_configs = client.post(pins, json=configs)
    assert by_configs.status_code == 201 and by_configs.json["id"] != pinned.json["id"], by_configs.json
    submitted = len(published.on(Topics.SUBMIT))
    repeated = client.post(pins, json={**configs, "parameters": {"learning_rate": 0.05, "sample_percent": 25}})
    assert repeated.status_code == 200 and repeated.json["id"] == by_configs.json["id"], repeated.json
    assert len(published.on(Topics.SUBMIT)) == submitted, "a repeated pin starts nothing"
    assert len(client.get(pins).json["watches"]) == 2
