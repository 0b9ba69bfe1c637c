"""Authentication as a second layer (issue 10 section 3, decision 053): real tokens signed with a key
generated here, verified by google-auth against a certificates endpoint this test serves.

Before: any request reaching a push endpoint, the reconcile endpoint or the gateway was served.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.events.messages import SubmitExperiment
from experiments_platform.events.topology import RECONCILE_PATH, SUBSCRIPTIONS
from experiments_platform.identity import current_user
from experiments_platform.repositories.experiments import ExperimentRepository
from experiments_platform.web.app import create_app
from fakes import recording_ports
from google.auth import crypt
from google.auth import jwt as google_jwt
from json_http import serve_json

from .lifecycle_support import make_experiment
from .test_event_integrity import envelope

AUDIENCE = "https://status-watcher-abc-ew.a.run.app"
PUSH_ACCOUNT = "pubsub-push@demo.iam.gserviceaccount.com"
SCHEDULER_ACCOUNT = "reconcile-scheduler@demo.iam.gserviceaccount.com"
EVENTARC_ACCOUNT = "eventarc-trigger@demo.iam.gserviceaccount.com"
IAP_AUDIENCE = "/projects/123456/global/backendServices/987"


def private_key() -> tuple[rsa.RSAPrivateKey, bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, pem, public


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    _, pem, public = private_key()
    _, other_pem, _ = private_key()
    return {"pem": pem, "public": public, "other": other_pem}


@pytest.fixture(scope="module")
def certs_url(keys: dict[str, Any]) -> Iterator[str]:
    """Google's certificates endpoint shape: ``{key id: PEM}``."""
    yield from serve_certs({"key-1": keys["public"]})


def serve_certs(certs: dict[str, str]) -> Iterator[str]:
    with serve_json(lambda method, path: (200, certs)) as url:
        yield f"{url}/certs"


def token(keys: dict[str, Any], *, signing: str = "pem", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "iat": now, "exp": now + 600,
               "email": PUSH_ACCOUNT, "email_verified": True, "sub": "1"}
    payload.update(claims)
    signer = crypt.RSASigner.from_string(keys[signing], key_id="key-1")
    return google_jwt.encode(signer, payload).decode()


@pytest.fixture
def platform(tmp_path: Path, certs_url: str) -> Iterator[Platform]:
    settings = Settings(data_dir=tmp_path, oidc_audience=AUDIENCE, push_service_account=PUSH_ACCOUNT,
                        scheduler_service_account=SCHEDULER_ACCOUNT, eventarc_service_account=EVENTARC_ACCOUNT,
                        google_certs_url=certs_url,
                        iap_audience=IAP_AUDIENCE, iap_certs_url=certs_url)
    platform = Platform(settings, documents=SqliteDocumentStore(tmp_path / "documents.sqlite"),
                        warehouse=DuckDBWarehouse(), **recording_ports())
    yield platform
    platform.close()


def push(client: Any, path: str, authorization: str | None) -> Any:
    headers = {"Authorization": authorization} if authorization else {}
    data, attributes = SubmitExperiment(experiment_id="unknown-experiment").encode()
    return client.post(path, json=envelope(data, attributes), headers=headers)


def test_push_endpoints_take_only_the_push_service_accounts_token(platform, keys, caplog):
    submit = next(s for s in SUBSCRIPTIONS if s.name == "submitter-experiment-submit")
    with caplog.at_level(logging.INFO):
        client = create_app(submit.service, platform).test_client()
    assert any("authentication on: Pub/Sub push requests are verified" in r.getMessage() for r in caplog.records)

    refused = {
        "no token": None,
        "not a bearer token": "Basic dXNlcjpwYXNz",
        "not a token": "Bearer not-a-jwt",
        "another audience": f"Bearer {token(keys, aud='https://elsewhere.example')}",
        "expired": f"Bearer {token(keys, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)}",
        "another account": f"Bearer {token(keys, email='attacker@evil.example')}",
        "email not verified": f"Bearer {token(keys, email_verified=False)}",
        "signed by another key": f"Bearer {token(keys, signing='other')}",
        "another issuer": f"Bearer {token(keys, iss='https://evil.example')}",
    }
    for why, authorization in refused.items():
        answer = push(client, submit.push_path, authorization)
        assert answer.status_code == 401, (why, answer.get_data(as_text=True))
        assert answer.get_json()["error_code"] == "UNAUTHENTICATED", why
    assert platform.builds.started == []

    answer = push(client, submit.push_path, f"Bearer {token(keys)}")
    assert answer.status_code == 204, answer.get_data(as_text=True)


def test_reconcile_takes_only_the_schedulers_token(platform, keys):
    client = create_app("status_watcher", platform).test_client()
    assert client.post(RECONCILE_PATH).status_code == 401
    assert client.post(RECONCILE_PATH, headers={"Authorization": f"Bearer {token(keys)}"}).status_code == 401, \
        "the push account's token is not the scheduler's"
    answer = client.post(RECONCILE_PATH, headers={"Authorization": f"Bearer {token(keys, email=SCHEDULER_ACCOUNT)}"})
    assert answer.status_code == 200 and answer.get_json()["checked"] == 0


def iap(keys: dict[str, Any], **claims: Any) -> dict[str, str]:
    assertion = token(keys, **{"iss": "https://cloud.google.com/iap", "aud": IAP_AUDIENCE,
                               "email": "accounts.google.com:ada@example.com", **claims})
    return {"x-goog-iap-jwt-assertion": assertion}


def test_the_gateway_takes_only_iap_assertions_and_knows_the_user(platform, keys):
    client = create_app("api_gateway", platform).test_client()
    assert client.get("/api/experiments").status_code == 401
    assert client.get("/api/experiments", headers={"x-goog-iap-jwt-assertion": token(keys)}).status_code == 401, \
        "a Google OIDC token is no IAP assertion (issuer, audience)"
    assert client.get("/api/experiments", headers=iap(keys, aud="/projects/1/global/backendServices/2")
                      ).status_code == 401
    assert client.get("/healthz").status_code == 200

    seen: list[str | None] = []
    client.application.before_request_funcs.setdefault(None, []).append(lambda: seen.append(current_user.get()))
    assert client.get("/api/experiments", headers=iap(keys)).status_code == 200
    assert seen == ["ada@example.com"]


def test_answers_kept_per_snapshot_are_served_only_to_verified_callers(platform, keys):
    """The list and dashboard answers kept per snapshot (decision 059) are sent without running Flask's
    views; they must not be sent without running the IAP check. Before: once one verified caller had
    been answered, a request without any assertion (or with a forged one) got the kept 200."""
    from experiments_platform.web.snapshot_responses import PATHS

    client = create_app("api_gateway", platform).test_client()
    for path in sorted(PATHS):
        assert client.get(path, headers=iap(keys)).status_code == 200, path
        assert client.get(path, headers=iap(keys)).status_code == 200, path  # now answered from the kept answer
        assert client.get(path).status_code == 401, f"{path}: no assertion"
        assert client.get(path, headers=iap(keys, signing="other")).status_code == 401, f"{path}: another key"
        assert client.get(path, headers=iap(keys, aud="/projects/1/global/backendServices/2")).status_code == 401, \
            f"{path}: another audience"


def test_an_es256_assertion_as_iap_signs_it_is_accepted(tmp_path):
    """IAP signs its assertions with ES256 keys published as ``{key id: PEM}`` at
    https://www.gstatic.com/iap/verify/public_key (the default ``iap_certs_url``); the RS256 tests above
    go through the same verifier, this one through the algorithm IAP really uses."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    now = int(time.time())
    claims = {"iss": "https://cloud.google.com/iap", "aud": IAP_AUDIENCE, "iat": now, "exp": now + 600,
              "email": "accounts.google.com:grace@example.com", "sub": "accounts.google.com:2"}

    def assertion(signing_pem: bytes, **extra: Any) -> dict[str, str]:
        signer = crypt.ES256Signer.from_string(signing_pem, key_id="iap-ec-1")
        return {"x-goog-iap-jwt-assertion": google_jwt.encode(signer, {**claims, **extra}).decode()}

    certs = serve_certs({"iap-ec-1": public})
    url = next(certs)
    settings = Settings(data_dir=tmp_path, iap_audience=IAP_AUDIENCE, iap_certs_url=url)
    platform = Platform(settings, documents=SqliteDocumentStore(tmp_path / "documents.sqlite"),
                        warehouse=DuckDBWarehouse(), **recording_ports())
    try:
        client = create_app("api_gateway", platform).test_client()
        seen: list[str | None] = []
        client.application.before_request_funcs.setdefault(None, []).append(lambda: seen.append(current_user.get()))
        assert client.get("/api/experiments", headers=assertion(pem)).status_code == 200
        assert seen == ["grace@example.com"]
        assert client.get("/api/experiments", headers=assertion(other)).status_code == 401, "another key"
        assert client.get("/api/experiments", headers=assertion(pem, exp=now - 3600, iat=now - 7200)
                          ).status_code == 401, "expired"
    finally:
        platform.close()
        next(certs, None)


def test_experiments_record_the_user_who_created_them(platform):
    reset = current_user.set("ada@example.com")
    try:
        created = ExperimentRepository(platform.documents).create(
            lambda n: make_experiment("file:///tiny.csv", number=n))
    finally:
        current_user.reset(reset)
    assert ExperimentRepository(platform.documents).get(created.id).created_by == "ada@example.com"


def test_locally_all_of_it_is_off_and_the_start_up_log_says_so(tmp_path, caplog):
    platform = Platform(Settings(data_dir=tmp_path), documents=SqliteDocumentStore(tmp_path / "d.sqlite"),
                        warehouse=DuckDBWarehouse(), **recording_ports())
    with caplog.at_level(logging.INFO):
        watcher = create_app("status_watcher", platform).test_client()
        gateway = create_app("api_gateway", platform).test_client()
    said = [r.getMessage() for r in caplog.records if "authentication off" in r.getMessage()]
    assert len(said) == 3 and all("unset: local stack" in line for line in said), said
    assert watcher.post(RECONCILE_PATH).status_code == 200
    assert gateway.get("/api/experiments").status_code == 200
    platform.close()


def test_the_eventarc_route_takes_only_the_trigger_accounts_token(platform, keys, caplog, tmp_path):
    """Issue 10's leftover (issue 13): Eventarc calls the submitter's data-source route with an ID token of
    the trigger's service account, audience the service URL; before, the route served any request."""
    from cloudevents.conversion import to_binary
    from cloudevents.http import CloudEvent
    from experiments_platform.events import data_events

    with caplog.at_level(logging.INFO):
        client = create_app("submitter", platform).test_client()
    assert any("authentication on: Eventarc data-source events are verified" in r.getMessage()
               for r in caplog.records)
    attributes, data = data_events.storage_object((tmp_path / "elsewhere.csv").as_uri(), 10)
    headers, body = to_binary(CloudEvent(attributes, data))

    def post(authorization: str | None) -> Any:
        extra = {"Authorization": authorization} if authorization else {}
        return client.post(data_events.DATA_EVENTS_PATH, data=body, headers={**dict(headers), **extra})

    hour_ago = int(time.time()) - 3600
    refused = {
        "no token": None,
        "the push account's token": f"Bearer {token(keys)}",
        "another audience": f"Bearer {token(keys, email=EVENTARC_ACCOUNT, aud='https://elsewhere.example')}",
        "expired": f"Bearer {token(keys, email=EVENTARC_ACCOUNT, iat=hour_ago - 3600, exp=hour_ago)}",
        "signed by another key": f"Bearer {token(keys, email=EVENTARC_ACCOUNT, signing='other')}",
        "email not verified": f"Bearer {token(keys, email=EVENTARC_ACCOUNT, email_verified=False)}",
    }
    for why, authorization in refused.items():
        answer = post(authorization)
        assert answer.status_code == 401, (why, answer.get_data(as_text=True))
        assert answer.get_json()["error_code"] == "UNAUTHENTICATED", why

    assert post(f"Bearer {token(keys, email=EVENTARC_ACCOUNT)}").status_code == 204
    submit = next(s for s in SUBSCRIPTIONS if s.name == "submitter-experiment-submit")
    assert push(client, submit.push_path, f"Bearer {token(keys, email=EVENTARC_ACCOUNT)}").status_code == 401, \
        "the trigger's token does not open the push routes"


def test_unreachable_certificates_refuse_in_plain_words_and_log_the_detail(tmp_path, keys, caplog):
    """Google's certificate server out of reach: the 401 says the token could not be verified and why,
    in plain words; the connection error (host, port, pool) is logged, not answered."""
    import socket

    with socket.socket() as probe:  # a local port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/certs"
    settings = Settings(data_dir=tmp_path, oidc_audience=AUDIENCE, push_service_account=PUSH_ACCOUNT,
                        scheduler_service_account=SCHEDULER_ACCOUNT, google_certs_url=closed)
    platform = Platform(settings, documents=SqliteDocumentStore(tmp_path / "documents.sqlite"),
                        warehouse=DuckDBWarehouse(), **recording_ports())
    try:
        submit = next(s for s in SUBSCRIPTIONS if s.name == "submitter-experiment-submit")
        client = create_app(submit.service, platform).test_client()
        for authorization in (f"Bearer {token(keys)}", "Bearer not-a-jwt"):
            with caplog.at_level(logging.WARNING):
                answer = push(client, submit.push_path, authorization)
            assert answer.status_code == 401 and answer.get_json()["error_code"] == "UNAUTHENTICATED"
            message = answer.get_json()["message"]
            assert "could not be verified" in message and "could not fetch Google's signing certificates" in message
            assert "ConnectionPool" not in message and "127.0.0.1" not in message and "Errno" not in message, message
        assert any(closed in r.getMessage() for r in caplog.records), "the detail is logged"
        assert platform.builds.started == []
    finally:
        platform.close()
