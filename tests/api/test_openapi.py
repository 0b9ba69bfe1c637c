"""The OpenAPI document is valid and describes exactly the app's routes; system endpoints."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
NOT_API = ("/ui/", "/vendor/")


def app_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == "/" or rule.rule.startswith(NOT_API):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        routes |= {(method.lower(), path) for method in rule.methods or () if method.lower() in HTTP_METHODS}
    return routes


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS}


def test_the_served_document_is_valid_openapi(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").json
    assert document["openapi"].startswith("3.1")
    validate(document)
    for name in ("Dataset", "FeatureConfig", "ModelConfig", "Experiment", "QuickTestParameters", "IdFeature"):
        assert name in document["components"]["schemas"], f"{name} schema generated from the domain model"


def test_every_route_is_documented_and_every_documented_route_exists(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").json
    served, documented = app_routes(app), documented_routes(document)
    assert served - documented == set(), "routes missing from openapi.yaml"
    assert documented - served == set(), "openapi.yaml documents routes the app does not have"


def test_path_parameters_are_declared(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").json
    for path, item in document["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            declared = set()
            for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
                if "$ref" in parameter:
                    parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
                if parameter["in"] == "path":
                    declared.add(parameter["name"])
            assert declared == names, f"{method.upper()} {path}: path parameters {declared} != {names}"


def test_healthz_and_options(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok", "service": "api_gateway"}
    options = client.get("/api/system/options").json
    assert options["sample_percents"] == [5, 10, 25, 100]
    assert options["hardware_tiers"] == ["small", "medium", "large"]
    assert options["split_strategies"]["random"] == {"strategy": "random", "train_percent": 80, "val_percent": 10}
    assert options["split_strategies"]["strict_time"]["train_days"] == 60
    assert options["feature_kinds"]["id"]["embedding_dim"] == 32
    assert [s["label"] for s in options["stages"]] == ["Compile", "Examples", "Stats", "Schema", "Transform", "Train"]
    assert options["cancellable_statuses"] == ["pending", "queued", "running", "submitting"]
    assert options["model_config"]["query_tower_layers"] == [128, 64]


def test_unknown_api_routes_answer_json(client: FlaskClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.json["error_code"] == "NOT_FOUND"
    response = client.delete("/api/experiments")
    assert response.status_code == 405 and response.json["error_code"] == "METHOD_NOT_ALLOWED"
