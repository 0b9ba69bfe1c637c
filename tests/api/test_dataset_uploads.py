"""``POST /api/datasets/uploads``: a dataset from an uploaded CSV or Parquet file (issue 10 section 1).

The file lands in ``{data_dir}/warehouse/uploads/<dataset id>/``, is read by the registration
(DuckDB), and is kept only when it registers.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from experiments_platform.bootstrap import Platform
from experiments_platform.web.app import create_app
from flask.testing import FlaskClient

CSV = b"user_id,item_id,ts\nu1,i1,2024-01-01 10:00:00\nu2,i1,2024-01-02 11:00:00\nu2,i3,2024-01-04 09:00:00\n"
FIELDS = {"name": "Uploaded shop", "query_id_column": "user_id", "candidate_id_column": "item_id",
          "date_column": "ts", "description": "from a browser"}


def upload(client: FlaskClient, content: bytes, filename: str, **fields: Any) -> Any:
    data = {**FIELDS, **fields, "file": (io.BytesIO(content), filename)}
    return client.post("/api/datasets/uploads", data={k: v for k, v in data.items() if v is not None},
                       content_type="multipart/form-data")


def uploads_folder(platform: Platform) -> Path:
    return platform.settings.data_dir / "warehouse" / "uploads"


def kept_files(platform: Platform) -> list[Path]:
    folder = uploads_folder(platform)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def kept_entries(platform: Platform) -> list[Path]:
    """Every file and folder under the uploads folder: a refused upload leaves not even its empty ``<id>/``."""
    folder = uploads_folder(platform)
    return sorted(folder.rglob("*")) if folder.exists() else []


def test_an_uploaded_csv_becomes_a_dataset(client: FlaskClient, platform: Platform) -> None:
    response = upload(client, CSV, "shop events.csv")
    assert response.status_code == 201, response.json
    dataset = response.json
    assert dataset["name"] == "Uploaded shop" and dataset["row_count"] == 3
    assert {c["name"]: c["type"] for c in dataset["columns"]} == {
        "user_id": "string", "item_id": "string", "ts": "timestamp"}
    stored = uploads_folder(platform).resolve() / dataset["id"] / "shop_events.csv"
    assert dataset["source"] == {"kind": "file", "uri": stored.as_uri()}
    assert stored.read_bytes() == CSV
    assert client.get(f"/api/datasets/{dataset['id']}").json == dataset


def test_an_uploaded_parquet_file_becomes_a_dataset(client: FlaskClient, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"buyer": [1, 2, 2], "sku": [10, 10, 30]}), buffer)
    response = upload(client, buffer.getvalue(), "orders.PARQUET", query_id_column="buyer",
                      candidate_id_column="sku", date_column=None)
    assert response.status_code == 201, response.json
    assert response.json["source"]["uri"].endswith("/orders.parquet")
    assert response.json["row_count"] == 3


@pytest.mark.parametrize(("content", "filename", "fields", "field", "message"), [
    (CSV, "events.parquet", {}, "file", "cannot read .* as Parquet"),
    (b"user_id,item_id,ts\n", "events.csv", {}, "file", "the file has no rows"),
    (CSV, "events.csv", {"candidate_id_column": "user_id"}, "candidate_id_column", "must differ"),
    (CSV, "events.csv", {"query_id_column": "customer"}, "query_id_column", "unknown column 'customer'"),
    (CSV, "events.json", {}, "file", "name the file"),
    (CSV, "events.csv", {"name": ""}, "name", "at least 1 character"),
    (CSV, "events.csv", {"colour": "red"}, "colour", "unknown field"),
])
def test_a_refused_upload_keeps_nothing(
    client: FlaskClient, platform: Platform, content: bytes, filename: str, fields: dict[str, Any], field: str,
    message: str,
) -> None:
    import re

    response = upload(client, content, filename, **fields)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field
    assert re.search(message, response.json["message"]), response.json["message"]
    assert kept_entries(platform) == []
    assert client.get("/api/datasets").json["total"] == 0


def test_a_file_name_cannot_leave_the_uploads_folder(client: FlaskClient, platform: Platform) -> None:
    response = upload(client, CSV, "../../../etc/cron.d/evil.csv")
    assert response.status_code == 201, response.json
    assert kept_files(platform) == [uploads_folder(platform) / response.json["id"] / "evil.csv"]


def test_uploads_above_the_setting_are_refused_with_413(platform: Platform) -> None:
    small = Platform(platform.settings.model_copy(update={"upload_max_bytes": 4096}),
                     documents=platform.documents, bus=platform.bus, warehouse=platform.warehouse)
    client = create_app("api_gateway", small, test_config={"TESTING": True}).test_client()
    big = CSV + b"".join(b"u%d,i%d,2024-01-01 10:00:00\n" % (n, n) for n in range(400))
    response = upload(client, big, "events.csv")
    assert response.status_code == 413 and response.json["error_code"] == "REQUEST_ENTITY_TOO_LARGE"
    assert kept_entries(small) == []
    assert upload(client, CSV, "events.csv").status_code == 201


def test_uploads_may_exceed_the_api_body_limit(platform: Platform) -> None:
    small = Platform(platform.settings.model_copy(update={"api_max_body_bytes": 2048}),
                     documents=platform.documents, bus=platform.bus, warehouse=platform.warehouse)
    client = create_app("api_gateway", small, test_config={"TESTING": True}).test_client()
    big = CSV + b"".join(b"u%d,i%d,2024-01-01 10:00:00\n" % (n, n) for n in range(400))
    assert upload(client, big, "events.csv").status_code == 201


def test_an_upload_needs_a_multipart_file(client: FlaskClient) -> None:
    response = client.post("/api/datasets/uploads", json=FIELDS)
    assert response.status_code == 400 and response.json["field"] == "file"
    response = client.post("/api/datasets/uploads", data=FIELDS, content_type="multipart/form-data")
    assert response.status_code == 400 and response.json["field"] == "file"
