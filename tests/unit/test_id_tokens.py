"""ID tokens: one fetch per audience, reused until shortly before ``exp``; none for http URLs."""

from __future__ import annotations

import base64
import json

from experiments_platform.adapters.id_tokens import (
    DEFAULT_LIFETIME_S,
    REFRESH_MARGIN_S,
    IdTokens,
    audience_of,
    expiry_of,
)


def jwt(claims: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{body}.c2ln"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_reused_until_the_refresh_margin_before_its_expiry() -> None:
    clock, fetched = Clock(), []

    def fetch(audience: str) -> str:
        fetched.append(audience)
        return jwt({"aud": audience, "exp": clock.now + 3600, "n": len(fetched)})

    tokens = IdTokens(fetch, clock=clock)
    first = tokens.token("https://a.run.app")
    clock.now += 3600 - REFRESH_MARGIN_S - 1
    assert tokens.token("https://a.run.app") == first
    clock.now += 2
    assert tokens.token("https://a.run.app") != first
    tokens.token("https://b.run.app")
    assert fetched == ["https://a.run.app", "https://a.run.app", "https://b.run.app"]


def test_a_token_without_a_readable_expiry_lives_the_default_hour() -> None:
    clock = Clock()
    tokens = IdTokens(lambda audience: "opaque-token", clock=clock)
    assert expiry_of("opaque-token") is None and expiry_of("a.!!!.c") is None
    tokens.token("https://a.run.app")
    clock.now += DEFAULT_LIFETIME_S - REFRESH_MARGIN_S - 1
    tokens.fetcher = lambda audience: "a-new-token"
    assert tokens.token("https://a.run.app") == "opaque-token"
    clock.now += 2
    assert tokens.token("https://a.run.app") == "a-new-token"


def test_headers_only_for_https_with_the_origin_as_audience() -> None:
    tokens = IdTokens(lambda audience: f"token-for-{audience}")
    assert tokens.headers("http://127.0.0.1:8084/statistics") == {}
    assert tokens.headers("https://tfdv-parser-1.europe-west1.run.app/report?x=1") == {
        "Authorization": "Bearer token-for-https://tfdv-parser-1.europe-west1.run.app"}
    assert audience_of("https://127.0.0.1:8443/api/2.0/mlflow/runs/get") == "https://127.0.0.1:8443"
