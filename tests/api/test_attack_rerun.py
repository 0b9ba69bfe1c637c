"""Holes the re-run of issue 10's attacks against the finished code found (scripts/attack_rerun.py,
docs/security/attack-rerun-2026-12-04.md), each reproduced here."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize("path", ["/api/model-configs", "/api/feature-configs", "/api/datasets", "/api/experiments"])
@pytest.mark.parametrize("body", [42, "x", [], True])
def test_a_body_that_is_no_object_is_refused_naming_the_body_and_the_fix(client: FlaskClient, path: str,
                                                                           body: Any) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.json["error_code"] == "INVALID_INPUT"
    assert response.json["field"] == "body", response.json
    assert "JSON object" in response.json["message"] and "{" in response.json["message"], response.json


@pytest.mark.parametrize("body", [42, []])
def test_an_update_that_is_no_object_is_refused_naming_the_body(client: FlaskClient, model_config: dict[str, Any],
                                                                body: Any) -> None:
    response = client.put(f"/api/model-configs/{model_config['id']}", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.json["field"] == "body", response.json
