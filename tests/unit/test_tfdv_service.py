"""The tfdv_parser service through its real entry points (Flask app and functions-framework target)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import functions_framework
import pytest
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.tfdv import LocalFileReader, load_schema, load_statistics
from experiments_platform.web.app import create_app
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "services" / "tfdv_parser" / "main.py"
FIXTURES = ROOT / "tests" / "fixtures" / "tfdv" / "movielens"


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    """A data folder holding the fixture artifacts where TFX would put them."""
    run = tmp_path / "pipelines" / "run-1"
    shutil.copytree(FIXTURES / "statistics", run / "StatisticsGen" / "statistics" / "5")
    shutil.copytree(FIXTURES / "schema", run / "SchemaGen" / "schema" / "6")
    return tmp_path


@pytest.fixture()
def client(data_dir: Path) -> Iterator[FlaskClient]:
    app = create_app("tfdv_parser", Platform(Settings(data_dir=data_dir)), test_config={"TESTING": True})
    with app.test_client() as client:
        yield client


def _statistics_uri(data_dir: Path) -> str:
    return (data_dir / "pipelines" / "run-1" / "StatisticsGen" / "statistics" / "5").as_uri()


def _schema_uri(data_dir: Path) -> str:
    return (data_dir / "pipelines" / "run-1" / "SchemaGen" / "schema" / "6").as_uri()


def test_healthz(client: FlaskClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_json()["status"] == "ok"


def test_statistics_get_returns_the_parsed_splits(client: FlaskClient, data_dir: Path) -> None:
    answer = client.get("/statistics", query_string={"uri": _statistics_uri(data_dir)})
    assert answer.status_code == 200
    direct = load_statistics(LocalFileReader(), (FIXTURES / "statistics").as_uri())
    assert answer.get_json() == direct.model_dump(mode="json")


def test_schema_post_returns_the_features(client: FlaskClient, data_dir: Path) -> None:
    answer = client.post("/schema", json={"uri": _schema_uri(data_dir)})
    assert answer.status_code == 200
    assert answer.get_json() == load_schema(LocalFileReader(), (FIXTURES / "schema").as_uri()).model_dump(mode="json")


def test_report_is_html_with_statistics_and_schema(client: FlaskClient, data_dir: Path) -> None:
    answer = client.get(
        "/report",
        query_string={
            "statistics_uri": _statistics_uri(data_dir),
            "schema_uri": _schema_uri(data_dir),
            "title": "Exp #4 <b>",
        },
    )
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    page = answer.get_data(as_text=True)
    assert 'id="split-train"' in page and 'id="split-eval"' in page and 'id="schema"' in page
    assert "Exp #4 &lt;b&gt;" in page


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "field"),
    [
        ("/statistics", {}, 400, "uri"),
        ("/statistics", {"query_string": {"uri": "s3://bucket/stats"}}, 400, "uri"),
        ("/schema", {"json": {"uri": 42}}, 400, "uri"),
        ("/schema", {"data": "not json", "content_type": "application/json"}, 400, "body"),
        ("/report", {"query_string": {"schema_uri": "file:///x"}}, 400, "statistics_uri"),
    ],
)
def test_bad_requests_name_the_field(client: FlaskClient, path: str, kwargs: dict, status: int, field: str) -> None:
    method = client.post if "json" in kwargs or "data" in kwargs else client.get
    answer = method(path, **kwargs)
    assert answer.status_code == status
    body = answer.get_json()
    assert body["error_code"] == "INVALID_INPUT" and body["field"] == field and body["message"]


def test_missing_artifact_is_404_with_a_hint(client: FlaskClient, data_dir: Path) -> None:
    answer = client.get("/statistics", query_string={"uri": (data_dir / "nothing").as_uri()})
    assert answer.status_code == 404
    assert "StatisticsGen" in answer.get_json()["message"]


def test_local_blobs_refuse_files_outside_the_data_folder(client: FlaskClient, data_dir: Path) -> None:
    answer = client.get("/schema", query_string={"uri": "file:///etc/hostname"})
    assert answer.status_code == 400 and "outside the blob root(s)" in answer.get_json()["message"]
    assert answer.get_json()["field"] == "uri" and data_dir.as_uri() in answer.get_json()["message"]


def test_functions_framework_target(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(data_dir))
    app = functions_framework.create_app(target="tfdv_parser", source=str(MAIN))
    client = app.test_client()
    assert client.get("/healthz").get_json()["status"] == "ok"
    answer = client.post("/statistics", json={"uri": _statistics_uri(data_dir)})
    assert answer.status_code == 200
    assert [s["split"] for s in answer.get_json()["splits"]] == ["train", "eval"]
