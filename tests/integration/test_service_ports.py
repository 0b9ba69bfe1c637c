"""Contract of the ports between services, each against both adapters: in-process, and HTTP to the real
service app served on a local port (``StatisticsParser`` → tfdv_parser, ``ArtifactReader`` → artifact_reader).

Both adapters of a port must answer the same values and raise the same errors, naming the same field.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from experiments_platform.adapters.artifact_reader_client import ArtifactReaderClient
from experiments_platform.adapters.id_tokens import IdTokens
from experiments_platform.adapters.local_blobs import LocalBlobStore
from experiments_platform.adapters.local_logs import LocalLogStore
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.adapters.tfdv_in_process import InProcessStatisticsParser
from experiments_platform.adapters.tfdv_parser_client import TfdvParserClient
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain.status import Status
from experiments_platform.errors import ConfigurationError, InvalidInput, NotFound
from experiments_platform.handlers.artifact_reader import InProcessArtifactReader
from experiments_platform.ports.artifact_reader import ArtifactReader
from experiments_platform.ports.statistics import StatisticsParser
from experiments_platform.web.app import create_app

from .lifecycle_support import make_experiment, write_interactions
from .servers import Recorder, self_signed_certificate, serving, unsigned_jwt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tfdv" / "movielens"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(Settings(data_dir=tmp_path), documents=SqliteDocumentStore(tmp_path / "d.sqlite"),
                        blobs=LocalBlobStore.from_settings(Settings(data_dir=tmp_path)),
                        logs=LocalLogStore(tmp_path / "logs"))
    yield platform
    platform.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> dict[str, str]:
    """StatisticsGen and SchemaGen outputs where a local pipeline run writes them."""
    run = tmp_path / "pipelines" / "qt-x"
    shutil.copytree(FIXTURES / "statistics", run / "StatisticsGen" / "statistics" / "3")
    shutil.copytree(FIXTURES / "schema", run / "SchemaGen" / "schema" / "4")
    return {"statistics": (run / "StatisticsGen" / "statistics" / "3").as_uri(),
            "schema": (run / "SchemaGen" / "schema" / "4").as_uri(), "missing": (run / "Nothing").as_uri()}


@pytest.fixture(params=["in-process", "http"])
def parser(request: pytest.FixtureRequest, platform: Platform) -> Iterator[StatisticsParser]:
    if request.param == "in-process":
        yield InProcessStatisticsParser(platform.blobs)
        return
    with serving(create_app("tfdv_parser", platform)) as url:
        yield TfdvParserClient(url)


@pytest.fixture
def experiment_id(platform: Platform, tmp_path: Path, artifacts: dict[str, str]) -> str:
    experiment = make_experiment(write_interactions(tmp_path), status=Status.RUNNING)
    platform.documents.create("experiments", experiment.id, experiment.to_document())
    index = {"StatisticsGen": {"statistics": artifacts["statistics"]}, "SchemaGen": {"schema": artifacts["schema"]}}
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment.id, "artifacts.json"),
                               json.dumps(index).encode())
    log = tmp_path / "logs" / experiment.id / "Trainer.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"epoch {i}\n" for i in range(5)))
    return experiment.id


@pytest.fixture(params=["in-process", "http"])
def reader(request: pytest.FixtureRequest, platform: Platform) -> Iterator[ArtifactReader]:
    if request.param == "in-process":
        yield InProcessArtifactReader(platform)
        return
    with serving(create_app("artifact_reader", platform)) as url:
        yield ArtifactReaderClient(url)


def test_statistics_schema_and_report(parser: StatisticsParser, artifacts: dict[str, str]) -> None:
    statistics = parser.statistics(artifacts["statistics"])
    assert [s["split"] for s in statistics["splits"]] == ["train", "eval"]
    assert {f["name"] for f in parser.schema(artifacts["schema"])["features"]} >= {"user_id", "item_id"}
    page = parser.report(artifacts["statistics"], artifacts["schema"], "Exp #3 <b>")
    assert 'id="split-eval"' in page and 'id="schema"' in page and "Exp #3 &lt;b&gt;" in page
    assert 'id="schema"' not in parser.report(artifacts["statistics"], None, "no schema")


def test_statistics_errors_name_the_uri(parser: StatisticsParser, artifacts: dict[str, str]) -> None:
    with pytest.raises(NotFound, match="StatisticsGen") as missing:
        parser.statistics(artifacts["missing"])
    with pytest.raises(NotFound, match="schema.pbtxt") as no_schema:
        parser.schema(artifacts["missing"])
    with pytest.raises(InvalidInput, match="s3") as scheme:
        parser.statistics("s3://bucket/statistics")
    with pytest.raises(InvalidInput, match="outside the blob root") as outside:
        parser.schema("file:///etc")
    assert {e.value.field for e in (missing, no_schema, scheme, outside)} == {"uri"}


def test_the_views_of_an_experiment(reader: ArtifactReader, experiment_id: str) -> None:
    components = {c["component"]: c for c in reader.artifacts(experiment_id)["components"]}
    assert components["StatisticsGen"]["outputs"]["statistics"][0].endswith("/StatisticsGen/statistics/3")
    assert [s["split"] for s in reader.statistics(experiment_id)["splits"]] == ["train", "eval"]
    assert reader.schema(experiment_id)["features"]
    assert "user_id" in reader.statistics_report(experiment_id)
    history = reader.training_history(experiment_id)
    assert history["available"] is False and "has no MLflow run yet" in history["reason"]
    logs = reader.component_logs(experiment_id, "Trainer", 2)
    assert {k: v for k, v in logs.items() if k != "summary"} == {
        "experiment_id": experiment_id, "component": "Trainer", "lines": ["epoch 3", "epoch 4"]}
    assert logs["summary"]["scanned_lines"] >= 2, "the summary reads more of the log than the lines returned"


def test_the_errors_of_the_views(reader: ArtifactReader, experiment_id: str) -> None:
    with pytest.raises(NotFound, match="has no metrics yet") as no_metrics:
        reader.metrics(experiment_id)
    assert no_metrics.value.field == "metrics"
    for unknown in ("missing", "a/b", "..", "e 1"):
        with pytest.raises(NotFound):
            reader.artifacts(unknown)
    with pytest.raises(InvalidInput) as component:
        reader.component_logs(experiment_id, "trainer", 10)
    assert component.value.field == "component" and component.value.suggestions == ["Trainer"]
    with pytest.raises(InvalidInput) as lines:
        reader.component_logs(experiment_id, "Trainer", 0)
    assert lines.value.field == "lines"


def test_the_urls_choose_the_adapters(tmp_path: Path) -> None:
    local = Platform(Settings(data_dir=tmp_path))
    assert isinstance(local.statistics_parser, InProcessStatisticsParser)
    assert isinstance(local.artifact_reader, InProcessArtifactReader) and local.artifact_reader.platform is local
    assert not local.is_built("documents"), "the in-process reader builds the ports it uses on first use"
    remote = Platform(Settings(data_dir=tmp_path, tfdv_parser_url="https://tfdv-parser-xyz.a.run.app",
                               artifact_reader_url="https://artifact-reader-xyz.a.run.app"))
    assert isinstance(remote.statistics_parser, TfdvParserClient)
    assert remote.statistics_parser.url == "https://tfdv-parser-xyz.a.run.app"
    assert isinstance(remote.artifact_reader, ArtifactReaderClient)
    assert remote.artifact_reader.url == "https://artifact-reader-xyz.a.run.app"


def test_on_https_the_reader_client_sends_an_id_token_for_the_service(
    platform: Platform, experiment_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    token = unsigned_jwt({"aud": "https://127.0.0.1", "exp": 4102444800})
    service = Recorder(create_app("artifact_reader", platform), required_authorization=lambda: f"Bearer {token}")
    with serving(service, tls=(cert, key)) as url:
        audiences: list[str] = []
        client = ArtifactReaderClient(url, IdTokens(lambda audience: audiences.append(audience) or token))
        assert client.artifacts(experiment_id)["components"]
        assert "user_id" in client.statistics_report(experiment_id)
        refused = ArtifactReaderClient(url, IdTokens(lambda audience: "a-token-for-another-audience"))
        with pytest.raises(ConfigurationError, match="roles/run.invoker on artifact_reader"):
            refused.metrics(experiment_id)
    assert audiences == [url], "one token per audience (the service's origin), reused while valid"
    assert [s.authorization for s in service.seen[:2]] == [f"Bearer {token}"] * 2
