"""MLflow behind Cloud Run-style authentication: every request must carry a fresh Google ID token.

A real ``mlflow server`` sits behind an https proxy (throwaway certificate) that answers 403 unless
the request's Authorization header is the latest token the injected fetcher issued, as Cloud Run
refuses a request without a valid ID token for its URL.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from experiments_platform.adapters import mlflow_auth
from experiments_platform.adapters.id_tokens import IdTokens
from experiments_platform.adapters.mlflow_tracker import HTTP_VARIABLES, MlflowTracker
from experiments_platform.errors import ConfigurationError
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from .servers import Recorder, proxy_to, self_signed_certificate, serving, unsigned_jwt


class Issuer:
    """The injected token fetcher: a new token per call, valid for an hour from the fake clock."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.audiences: list[str] = []
        self.tokens: list[str] = []

    def fetch(self, audience: str) -> str:
        self.audiences.append(audience)
        self.tokens.append(unsigned_jwt({"aud": audience, "exp": int(self.now) + 3600, "n": len(self.tokens)}))
        return self.tokens[-1]

    def latest(self) -> str:
        return f"Bearer {self.tokens[-1]}" if self.tokens else "no token issued yet"


@pytest.fixture
def process_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Restore what the adapter sets for the whole process (MLflow's variables, the token source)."""
    names = (*HTTP_VARIABLES, mlflow_auth.AUTH_VARIABLE)
    saved = {name: os.environ.pop(name, None) for name in names}
    monkeypatch.setattr(mlflow_auth, "_state", {})
    yield
    for name, value in saved.items():
        os.environ.pop(name, None)
        if value is not None:
            os.environ[name] = value


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def cloud_run_mlflow(mlflow_server: str, issuer: Issuer, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch, process_env: None) -> Iterator[tuple[str, Recorder]]:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    gate = Recorder(proxy_to(mlflow_server), required_authorization=issuer.latest)
    with serving(gate, tls=(cert, key)) as url:
        yield url, gate


def logged_run(mlflow_server: str) -> str:
    client = MlflowClient(tracking_uri=mlflow_server)
    run = client.create_run(client.create_experiment(f"id-tokens-{time.time_ns()}"))
    now = int(time.time() * 1000)
    client.log_batch(run.info.run_id, metrics=[Metric("loss", 1.0 / (e + 1), now + e, e) for e in range(3)])
    return run.info.run_id


def test_every_tracker_request_carries_an_id_token_for_the_server_refreshed_before_expiry(
    mlflow_server: str, cloud_run_mlflow: tuple[str, Recorder], issuer: Issuer
) -> None:
    url, gate = cloud_run_mlflow
    run_id = logged_run(mlflow_server)
    tracker = MlflowTracker(url, id_tokens=IdTokens(issuer.fetch, clock=lambda: issuer.now))

    tracker.check_reachable()
    assert [p["value"] for p in tracker.history(run_id)["loss"]] == [1.0, 0.5, 1 / 3]
    assert tracker.run(run_id)["run_id"] == run_id
    first = [s.authorization for s in gate.seen]
    assert len(first) >= 4 and set(first) == {f"Bearer {issuer.tokens[0]}"}
    assert issuer.audiences == [url]

    issuer.now += 3600 - 299
    assert tracker.run(run_id)["run_id"] == run_id
    assert len(issuer.tokens) == 2 and gate.seen[-1].authorization == f"Bearer {issuer.tokens[1]}"
    assert [p for p in gate.paths() if not p.startswith(("/health", "/api/2.0/mlflow/"))] == []


def test_a_plain_mlflow_client_logs_through_the_same_tokens_as_the_trainer_would(
    mlflow_server: str, cloud_run_mlflow: tuple[str, Recorder], issuer: Issuer
) -> None:
    url, gate = cloud_run_mlflow
    assert mlflow_auth.use_google_id_tokens(url, IdTokens(issuer.fetch, clock=lambda: issuer.now))
    client = MlflowClient(tracking_uri=url)
    run = client.create_run(client.create_experiment(f"trainer-{time.time_ns()}"))
    client.log_batch(run.info.run_id, metrics=[Metric("loss", 0.5, int(time.time() * 1000), 0)])

    upstream = MlflowClient(tracking_uri=mlflow_server).get_run(run.info.run_id)
    assert upstream.data.metrics == {"loss": 0.5}
    assert {s.authorization for s in gate.seen} == {f"Bearer {issuer.tokens[0]}"}


def test_without_a_token_the_server_refuses_and_the_error_names_the_missing_grant(
    cloud_run_mlflow: tuple[str, Recorder], issuer: Issuer
) -> None:
    url, gate = cloud_run_mlflow
    tracker = MlflowTracker(url, client=MlflowClient(tracking_uri=url))

    with pytest.raises(ConfigurationError, match="roles/run.invoker on the MLflow service"):
        tracker.run("0123456789abcdef0123456789abcdef")
    assert gate.seen and {s.authorization for s in gate.seen} == {None}


def test_http_tracking_uris_get_no_token(process_env: None) -> None:
    assert mlflow_auth.use_google_id_tokens("http://127.0.0.1:5000") is False
    assert mlflow_auth.auth_for("http://127.0.0.1:5000") is None
    assert mlflow_auth.auth_for("https://mlflow-123.europe-west1.run.app") is not None
