"""tfdv_parser reading gs:// artifacts through the platform's Cloud Storage adapter (fake-gcs-server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.tfdv import LocalFileReader, load_schema, load_statistics
from experiments_platform.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "tfdv" / "movielens"

pytestmark = pytest.mark.emulators


@pytest.fixture()
def bucket(emulators: object) -> Iterator[str]:
    from google.cloud.storage import Client

    client = Client(project="test")
    created = client.create_bucket(f"pipelines-{uuid.uuid4().hex[:12]}")
    for path in [*FIXTURES.glob("statistics/*/*"), FIXTURES / "schema" / "schema.pbtxt"]:
        name = f"root/run-1/{path.relative_to(FIXTURES).as_posix()}"
        created.blob(name).upload_from_filename(str(path))
    yield created.name
    for blob in client.list_blobs(created.name):
        blob.delete()
    created.delete()


def test_statistics_schema_and_report_from_cloud_storage(bucket: str) -> None:
    app = create_app("tfdv_parser", Platform(Settings(blob_store="gcs", gcp_project="test")))
    client = app.test_client()
    statistics_uri = f"gs://{bucket}/root/run-1/statistics"
    schema_uri = f"gs://{bucket}/root/run-1/schema"

    statistics = client.get("/statistics", query_string={"uri": statistics_uri})
    assert statistics.status_code == 200, statistics.get_data(as_text=True)
    local = LocalFileReader()
    assert statistics.get_json() == load_statistics(local, (FIXTURES / "statistics").as_uri()).model_dump(mode="json")
    schema = client.post("/schema", json={"uri": schema_uri})
    assert schema.get_json() == load_schema(local, (FIXTURES / "schema").as_uri()).model_dump(mode="json")
    report = client.get("/report", query_string={"statistics_uri": statistics_uri, "schema_uri": schema_uri})
    assert report.status_code == 200 and 'id="split-eval"' in report.get_data(as_text=True)

    missing = client.get("/statistics", query_string={"uri": f"gs://{bucket}/root/run-2/statistics"})
    assert missing.status_code == 404 and missing.get_json()["field"] == "uri"
