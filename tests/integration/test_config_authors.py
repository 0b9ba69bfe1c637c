"""Feature and model configs record who created them (issue 10 section 3 leftover, issue 15): the user
IAP vouched for at the gateway, verified from a real signed assertion, as experiments do.

Before: configs had no ``created_by``; a body's own ``created_by`` would have been a forgery path.
"""

from __future__ import annotations

from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.web.app import create_app

from .test_authentication import certs_url, iap, keys, platform  # noqa: F401  (fixtures)

FEATURES = {"name": "Ids only", "query_features": [{"column": "user_id", "kind": "id"}],
            "candidate_features": [{"column": "item_id", "kind": "id"}]}
MODEL = {"name": "Small towers", "query_tower_layers": [32], "candidate_tower_layers": [32]}


def test_configs_record_the_iap_user_who_created_them(platform: Platform, keys: dict[str, Any]) -> None:  # noqa: F811
    client = create_app("api_gateway", platform).test_client()
    ada = iap(keys)
    grace = iap(keys, email="accounts.google.com:grace@example.com")
    for path, body in (("/api/feature-configs", FEATURES), ("/api/model-configs", MODEL)):
        created = client.post(path, json={**body, "created_by": "mallory@example.com"}, headers=ada)
        assert created.status_code == 201, created.get_json()
        config = created.get_json()
        assert config["created_by"] == "ada@example.com", "the verified user, never the body's claim"
        assert client.get(f"{path}/{config['id']}", headers=ada).get_json()["created_by"] == "ada@example.com"

        edited = client.put(f"{path}/{config['id']}", json={**body, "description": "edited"}, headers=grace)
        assert edited.status_code == 200, edited.get_json()
        assert edited.get_json()["created_by"] == "ada@example.com", "an edit keeps the creator"

        copy = client.post(f"{path}/{config['id']}/duplicate", headers=grace)
        assert copy.status_code == 201 and copy.get_json()["created_by"] == "grace@example.com"
