"""Data insights through the real tfdv_parser service app over HTTP.

The artifact reader's statistics parser port is the tfdv_parser service when ``tfdv_parser_url`` is
set and parses in-process when it is not; both must answer the same. On https the call carries a Google ID token for the
service's URL (a fetcher is injected; the server checks the Authorization header).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from experiments_platform.adapters import id_tokens
from experiments_platform.adapters.local_blobs import LocalBlobStore
from experiments_platform.adapters.local_logs import LocalLogStore
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain.status import Status
from experiments_platform.errors import ConfigurationError, NotFound, TransientError
from experiments_platform.handlers import artifact_reader as reader
from experiments_platform.web.app import create_app
from flask import Flask

from .lifecycle_support import make_experiment, write_interactions
from .servers import Recorder, self_signed_certificate, serving, unsigned_jwt

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "tfdv" / "movielens"


def tfdv_parser(settings: Settings) -> Flask:
    """The tfdv_parser service app, as ``services/tfdv_parser/main.py`` builds it."""
    return create_app("tfdv_parser", Platform(settings))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def platform(settings: Settings, tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(settings, documents=SqliteDocumentStore(tmp_path / "d.sqlite"),
                        blobs=LocalBlobStore(tmp_path), logs=LocalLogStore(tmp_path / "logs"))
    yield platform
    platform.close()


@pytest.fixture
def experiment_id(platform: Platform, tmp_path: Path) -> str:
    experiment = make_experiment(write_interactions(tmp_path), status=Status.RUNNING)
    platform.documents.create("experiments", experiment.id, experiment.to_document())
    run = tmp_path / "pipelines" / "qt-x"
    shutil.copytree(FIXTURES / "statistics", run / "StatisticsGen" / "statistics" / "3")
    shutil.copytree(FIXTURES / "schema", run / "SchemaGen" / "schema" / "4")
    index = {"StatisticsGen": {"statistics": (run / "StatisticsGen" / "statistics" / "3").as_uri()},
             "SchemaGen": {"schema": (run / "SchemaGen" / "schema" / "4").as_uri()}}
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment.id, "artifacts.json"),
                               json.dumps(index).encode())
    return experiment.id


def through(platform: Platform, url: str) -> Platform:
    """The same stores, with tfdv_parser at ``url``."""
    settings = platform.settings.model_copy(update={"tfdv_parser_url": url})
    return Platform(settings, documents=platform.documents, blobs=platform.blobs, logs=platform.logs)


def test_statistics_schema_and_report_come_from_the_service_and_equal_the_in_process_ones(
    platform: Platform, settings: Settings, experiment_id: str
) -> None:
    service = Recorder(tfdv_parser(settings))
    with serving(service) as url:
        remote = through(platform, url)
        assert reader.statistics(remote, experiment_id) == reader.statistics(platform, experiment_id)
        assert reader.schema(remote, experiment_id) == reader.schema(platform, experiment_id)
        page = reader.statistics_report(remote, experiment_id)
        assert page == reader.statistics_report(platform, experiment_id)

    assert [(s.method, s.path) for s in service.seen] == [("POST", "/statistics"), ("POST", "/schema"),
                                                          ("POST", "/report")]
    assert json.loads(service.seen[0].body)["uri"].endswith("/StatisticsGen/statistics/3")
    assert all(s.authorization is None for s in service.seen), "no ID token on plain http"
    assert "user_id" in page and "Exp #" in page


def test_errors_of_the_service_reach_the_caller_as_the_same_errors(
    platform: Platform, settings: Settings, experiment_id: str, tmp_path: Path
) -> None:
    shutil.rmtree(tmp_path / "pipelines" / "qt-x" / "SchemaGen")
    with serving(tfdv_parser(settings)) as url, pytest.raises(NotFound) as missing:
        reader.schema(through(platform, url), experiment_id)
    assert "schema.pbtxt" in missing.value.message

    with pytest.raises(TransientError, match=f"tfdv_parser at {url} cannot be reached"):
        reader.statistics(through(platform, url), experiment_id)


def test_on_https_each_call_carries_an_id_token_for_the_service(
    platform: Platform, settings: Settings, experiment_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    audiences: list[str] = []

    def fetch(audience: str) -> str:
        audiences.append(audience)
        return unsigned_jwt({"aud": audience, "exp": 4102444800})

    monkeypatch.setattr(id_tokens, "_default", id_tokens.IdTokens(fetch))
    expected: dict[str, str] = {}
    service = Recorder(tfdv_parser(settings), required_authorization=lambda: expected["header"])
    with serving(service, tls=(cert, key)) as url:
        expected["header"] = f"Bearer {unsigned_jwt({'aud': url, 'exp': 4102444800})}"
        remote = through(platform, url)
        assert reader.statistics(remote, experiment_id)["splits"]
        assert reader.schema(remote, experiment_id)["features"]

        monkeypatch.setattr(id_tokens, "_default", id_tokens.IdTokens(lambda audience: "a-token-for-another-audience"))
        with pytest.raises(ConfigurationError, match="roles/run.invoker on tfdv_parser"):
            reader.schema(remote, experiment_id)

    assert audiences == [url], "one token per audience, reused while valid"
    assert [s.authorization for s in service.seen[:2]] == [expected["header"]] * 2


def test_the_gateway_report_page_through_artifact_reader_and_tfdv_parser_services(
    platform: Platform, settings: Settings, experiment_id: str
) -> None:
    parser = Recorder(tfdv_parser(settings))
    with serving(parser) as parser_url:
        artifact_service = Recorder(create_app("artifact_reader", through(platform, parser_url)))
        with serving(artifact_service) as reader_url:
            gateway_settings = settings.model_copy(update={"artifact_reader_url": reader_url})
            gateway = create_app("api_gateway", Platform(gateway_settings, documents=platform.documents)).test_client()
            page = gateway.get(f"/api/experiments/{experiment_id}/statistics-report")
            insights = gateway.get(f"/api/experiments/{experiment_id}/data-insights").json

    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.get_data(as_text=True) == reader.statistics_report(platform, experiment_id)
    assert insights is not None and insights["missing"] == {} and insights["schema"]["features"]
    assert artifact_service.paths() == [f"/experiments/{experiment_id}/statistics-report",
                                        f"/experiments/{experiment_id}/statistics",
                                        f"/experiments/{experiment_id}/schema"]
    assert parser.paths() == ["/report", "/statistics", "/schema"]
