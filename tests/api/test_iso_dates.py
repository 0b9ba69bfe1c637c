"""Every date the API answers is ISO 8601 (issue 15 formatting, issue 10 section 6): no HTTP date
(``Fri, 04 Dec 2026 10:00:00 GMT``, Flask's default for a datetime) and no epoch number under a
date's name. The test walks every GET operation of the served OpenAPI document whose parameters it
can fill (ids of a dataset, configs, a completed experiment and a sweep it makes) and reads each answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any

from experiments_platform.bootstrap import Platform
from flask import Flask
from flask.testing import FlaskClient

from .conftest import finish, results, start_payload

HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2}")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")
DATE_KEY = re.compile(r"(_at|_time|_date|^date|^day|^since|^until)$")
TEXT_ANSWERS = ("/api/docs", "/api/openapi.json", "/api/dashboard/export.csv",
                "/api/experiments/{experiment_id}/statistics-report",
                "/api/experiments/{experiment_id}/logs/{component}")
"""Not JSON data: a page, the API document itself (its schema names are no dates), CSV, HTML, log text."""


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def date_problems(answer: Any) -> list[str]:
    problems = []
    for path, value in leaves(answer):
        key = re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]
        if isinstance(value, str) and HTTP_DATE.match(value):
            problems.append(f"{path}: HTTP date {value!r}")
        elif DATE_KEY.search(key) and value is not None and not (isinstance(value, str) and ISO.match(value)):
            problems.append(f"{path}: {value!r} is no ISO 8601 date")
    return problems


def test_a_datetime_in_any_answer_is_serialised_as_iso_8601(app: Flask) -> None:
    moment = datetime(2026, 12, 4, 10, 0, 5, tzinfo=timezone.utc)
    with app.app_context():
        text = app.json.dumps({"at": moment, "day": date(2026, 12, 4)})
    assert app.json.loads(text) == {"at": "2026-12-04T10:00:05.000000Z", "day": "2026-12-04"}


def test_every_get_answer_holds_iso_dates_only(client: FlaskClient, platform: Platform, dataset: dict[str, Any],
                                              feature_config: dict[str, Any], model_config: dict[str, Any]) -> None:
    started = client.post("/api/experiments", json=start_payload(feature_config, model_config))
    assert started.status_code == 202, started.json
    experiment_id = started.json["id"]
    finish(platform, experiment_id, results=results(0.41, 5539.25))
    sweep = client.post("/api/sweeps", json={**start_payload(feature_config, model_config), "repeats": 2})
    ids = {"dataset_id": dataset["id"], "feature_config_id": feature_config["id"],
           "model_config_id": model_config["id"], "experiment_id": experiment_id, "component": "Trainer",
           "sweep_id": (sweep.json or {}).get("sweep_id") or (sweep.json or {}).get("id") or "none"}
    document = client.get("/api/openapi.json").json
    read = []
    for path, operations in document["paths"].items():
        if "get" not in operations or path in TEXT_ANSWERS:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
        answer = client.get(url)
        if answer.status_code >= 500 or not answer.is_json:
            raise AssertionError(f"GET {url}: {answer.status_code} {answer.data[:200]!r}")
        problems = date_problems(answer.json)
        assert not problems, f"GET {url}: {problems}"
        read.append(path)
    assert len(read) >= 25, read
