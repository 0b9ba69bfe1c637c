"""The list and the dashboard under load (issue 10 section 5, decision 059): pages over the experiment index,
answers kept per snapshot of the experiments and never staler than it, one kept answer per encoding."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from experiments_platform.bootstrap import Platform
from experiments_platform.repositories.experiments import ExperimentRepository
from flask import Flask
from flask.testing import FlaskClient

from .conftest import finish, results, start_payload

COUNT = 23


@pytest.fixture
def many(client: FlaskClient, platform: Platform, feature_config: dict[str, Any],
         model_config: dict[str, Any]) -> list[dict[str, Any]]:
    """``COUNT`` experiments: the first started through the API, the others finished copies of it."""
    template = client.post("/api/experiments", json=start_payload(feature_config, model_config)).json
    assert "id" in template, template
    repository = ExperimentRepository(platform.documents)
    docs = [template]
    for i in range(1, COUNT):
        doc = copy.deepcopy(template)
        doc.update(id=f"copy{i:03d}", number=i + 1, name=f"copy {i}", status="completed",
                   created_at=f"2026-01-01T10:{i:02d}:00Z", results=results(0.2 + i / 100, 1.0 - i / 100))
        repository.save(doc)
        docs.append(doc)
    return docs


def walk(client: FlaskClient, url: str, page_size: int) -> tuple[list[dict[str, Any]], set[int]]:
    items, totals, page = [], set(), 1
    while True:
        body = client.get(f"{url}{'&' if '?' in url else '?'}page={page}&page_size={page_size}").json
        assert (body["page"], body["page_size"]) == (page, page_size)
        totals.add(body["total"])
        if not body["items"]:
            return items, totals
        assert len(body["items"]) <= page_size
        items.extend(body["items"])
        page += 1


def test_the_list_pages_through_every_experiment_once_in_order(client: FlaskClient,
                                                               many: list[dict[str, Any]]) -> None:
    items, totals = walk(client, "/api/experiments?sort=number", 5)
    assert totals == {COUNT}
    assert [d["number"] for d in items] == list(range(1, COUNT + 1))
    newest_first, _ = walk(client, "/api/experiments", 7)
    assert [d["id"] for d in newest_first] == [d["id"] for d in sorted(items, key=lambda d: d["created_at"],
                                                                       reverse=True)]
    beyond = client.get(f"/api/experiments?page={COUNT}&page_size=5").json
    assert (beyond["items"], beyond["total"]) == ([], COUNT)
    assert client.get("/api/experiments?page=0").status_code == 400
    assert client.get("/api/experiments?page_size=0").json["field"] == "page_size"


def test_the_leaderboard_pages_through_the_ranked_experiments(client: FlaskClient,
                                                              many: list[dict[str, Any]]) -> None:
    ranked, totals = walk(client, "/api/dashboard/leaderboard?metric=recall_at_100", 4)
    assert totals == {COUNT - 1}, "the completed ones rank"
    values = [row["value"] for row in ranked]
    assert values == sorted(values, reverse=True) and [row["rank"] for row in ranked] == list(range(1, COUNT))


def count_calls(app: Flask, endpoint: str) -> list[int]:
    calls = [0]
    view: Callable[..., Any] = app.view_functions[endpoint]

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return view(*args, **kwargs)

    app.view_functions[endpoint] = counted
    return calls


def test_a_read_is_answered_again_without_its_view_until_an_experiment_changes(
    app: Flask, client: FlaskClient, platform: Platform, many: list[dict[str, Any]]
) -> None:
    listed = count_calls(app, "experiments.list_experiments")
    board = count_calls(app, "dashboard.leaderboard")
    first = client.get("/api/experiments?sort=number&page=1&page_size=3").json
    for _ in range(3):
        assert client.get("/api/experiments?sort=number&page=1&page_size=3").json == first
        client.get("/api/dashboard/leaderboard")
    assert (listed[0], board[0]) == (1, 1), "the kept answers were sent"
    assert client.get("/api/experiments?sort=number&page=2&page_size=3").json["items"][0]["number"] == 4
    assert listed[0] == 2, "another page is another answer"

    finish(platform, many[0]["id"], status="failed")
    changed = client.get("/api/experiments?sort=number&page=1&page_size=3").json
    assert changed["items"][0]["status"] == "failed", "a change of an experiment is seen at once"
    assert listed[0] == 3
    assert client.get("/api/dashboard/stats").json["failed"] == 1


def test_each_encoding_gets_its_own_answer(client: FlaskClient, many: list[dict[str, Any]]) -> None:
    url = "/api/experiments?page_size=20"
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers
    assert plain.json == json.loads(gzip.decompress(zipped.data))
    again = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert (again.headers["Content-Encoding"], again.data) == ("gzip", zipped.data)


def test_refusals_are_not_kept(client: FlaskClient, many: list[dict[str, Any]]) -> None:
    for _ in range(2):
        refused = client.get("/api/dashboard/heatmap?x_axis=nope")
        assert refused.status_code == 400 and refused.json["field"] == "x_axis"
    assert client.get("/api/dashboard/heatmap").status_code == 200
