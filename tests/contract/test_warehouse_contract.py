"""The warehouse port against both adapters.

DuckDB runs for real on temp files. BigQuery has no emulator: the real ``google-cloud-bigquery``
client talks to a recording HTTP session that checks the exact REST requests the adapter makes
(``tables.get``, ``jobs.query``) and answers with responses in the documented shapes
(https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#Table,
https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query#response-body,
https://cloud.google.com/bigquery/docs/reference/rest/v2/Job for the load job of an upload).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import requests
from experiments_platform.adapters.bigquery_warehouse import BigQueryError, BigQueryWarehouse
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.domain.dataset import Column, TableSource
from experiments_platform.errors import InvalidInput
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

API = "https://bigquery.googleapis.com/bigquery/v2"


# --- DuckDB -----------------------------------------------------------------------------------

@pytest.fixture
def events() -> pa.Table:
    return pa.table({
        "user_id": pa.array(["u1", "u2", "u3"], pa.string()),
        "item_id": pa.array([10, 20, 30], pa.int32()),
        "rating": pa.array([4.5, 3.0, None], pa.float64()),
        "liked": pa.array([True, False, True]),
        "ts": pa.array([datetime(2024, 1, 1, 12), datetime(2024, 1, 2), datetime(2024, 1, 3)], pa.timestamp("us")),
        "day": pa.array([date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)], pa.date32()),
        "tags": pa.array([["a"], [], ["b", "c"]], pa.list_(pa.string())),
    })


EXPECTED = [
    Column(name="user_id", type="string"),
    Column(name="item_id", type="integer"),
    Column(name="rating", type="float"),
    Column(name="liked", type="boolean"),
    Column(name="ts", type="timestamp"),
    Column(name="day", type="date"),
]


def test_duckdb_describes_parquet_columns_types_and_rows(tmp_path, events):
    path = tmp_path / "events.parquet"
    pq.write_table(events, path)
    columns, rows = DuckDBWarehouse().describe(TableSource(kind="file", uri=path.as_uri()))
    assert columns == EXPECTED
    assert rows == 3


def test_duckdb_describes_csv_with_sniffed_types(tmp_path, events):
    path = tmp_path / "events.csv"
    pcsv.write_csv(events.drop(["tags"]), path)
    columns, rows = DuckDBWarehouse().describe(TableSource(kind="file", uri=path.as_uri()))
    assert [c.name for c in columns] == [c.name for c in EXPECTED]
    assert {c.name: c.type for c in columns}["item_id"] == "integer"
    assert {c.name: c.type for c in columns}["user_id"] == "string"
    assert rows == 3


def test_duckdb_errors_name_the_source(tmp_path):
    warehouse = DuckDBWarehouse()
    with pytest.raises(InvalidInput, match="no file at") as caught:
        warehouse.describe(TableSource(kind="file", uri=(tmp_path / "missing.parquet").as_uri()))
    assert caught.value.field == "source.uri"
    garbage = tmp_path / "broken.parquet"
    garbage.write_bytes(b"this is not parquet")
    with pytest.raises(InvalidInput, match="cannot read .* as Parquet") as caught:
        warehouse.describe(TableSource(kind="file", uri=garbage.as_uri()))
    assert caught.value.field == "source.uri"
    with pytest.raises(InvalidInput, match="name the file"):
        (tmp_path / "data.json").write_text("{}")
        warehouse.describe(TableSource(kind="file", uri=(tmp_path / "data.json").as_uri()))
    with pytest.raises(InvalidInput, match="is a BigQuery table"):
        warehouse.describe(TableSource(kind="bigquery", uri="p.d.t"))


def test_duckdb_query_takes_named_parameters(tmp_path, events):
    path = tmp_path / "events.parquet"
    pq.write_table(events, path)
    rows = DuckDBWarehouse().query(
        f"SELECT user_id, item_id FROM read_parquet('{path}') WHERE rating >= $min_rating ORDER BY user_id",
        {"min_rating": 3.5},
    )
    assert rows == [{"user_id": "u1", "item_id": 10}]


def test_duckdb_copies_a_query_to_parquet(tmp_path, events):
    source = tmp_path / "events.parquet"
    pq.write_table(events, source)
    target = tmp_path / "out" / "train.parquet"
    count = DuckDBWarehouse().copy_to_parquet(f"SELECT user_id FROM read_parquet('{source}')", target)
    assert count == 3 and pq.read_table(target).column_names == ["user_id"]


# --- BigQuery at the HTTP transport -----------------------------------------------------------

@dataclass
class Call:
    method: str
    url: str
    params: dict[str, Any]
    body: Any


class RecordingSession(requests.Session):
    """A requests session that records every call and answers from ``routes`` by (method, path)."""

    is_mtls = False

    def __init__(self, routes: dict[tuple[str, str], tuple[int, dict[str, Any]]]) -> None:
        super().__init__()
        self.routes = routes
        self.calls: list[Call] = []

    def request(self, method, url, params=None, data=None, headers=None, timeout=None, **kwargs):  # type: ignore[override]
        body = json.loads(data) if data else None
        self.calls.append(Call(method, url.split("?")[0], dict(params or {}), body))
        path = url.split("?")[0].removeprefix(API)
        unrouted = (404, {"error": {"code": 404, "message": f"no route {path}"}})
        prefixed = [v for (m, p), v in self.routes.items() if m == method and p.endswith("/*")
                    and path.startswith(p[:-1])]
        status, payload = self.routes.get((method, path), prefixed[0] if prefixed else unrouted)
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = url
        response.request = requests.Request(method, url).prepare()
        return response


def warehouse_with(routes: dict, **options: Any) -> tuple[BigQueryWarehouse, RecordingSession]:
    session = RecordingSession(routes=routes)
    client = bigquery.Client(project="my-project", credentials=AnonymousCredentials(), _http=session)
    return BigQueryWarehouse(client, **options), session


TABLE = {
    "kind": "bigquery#table",
    "id": "my-project:shop.events",
    "tableReference": {"projectId": "my-project", "datasetId": "shop", "tableId": "events"},
    "schema": {"fields": [
        {"name": "user_id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "item_id", "type": "INTEGER", "mode": "NULLABLE"},
        {"name": "rating", "type": "FLOAT", "mode": "NULLABLE"},
        {"name": "price", "type": "NUMERIC", "mode": "NULLABLE"},
        {"name": "liked", "type": "BOOLEAN", "mode": "NULLABLE"},
        {"name": "ts", "type": "TIMESTAMP", "mode": "NULLABLE"},
        {"name": "local_ts", "type": "DATETIME", "mode": "NULLABLE"},
        {"name": "day", "type": "DATE", "mode": "NULLABLE"},
        {"name": "tags", "type": "STRING", "mode": "REPEATED"},
        {"name": "address", "type": "RECORD", "mode": "NULLABLE", "fields": [{"name": "city", "type": "STRING"}]},
        {"name": "blob", "type": "BYTES", "mode": "NULLABLE"},
    ]},
    "numRows": "100000",
    "location": "EU",
    "type": "TABLE",
}


def test_bigquery_describe_is_one_tables_get_and_maps_types():
    warehouse, session = warehouse_with({("GET", "/projects/my-project/datasets/shop/tables/events"): (200, TABLE)})
    columns, rows = warehouse.describe(TableSource(kind="bigquery", uri="my-project.shop.events"))
    assert [(c.method, c.url) for c in session.calls] == [
        ("GET", f"{API}/projects/my-project/datasets/shop/tables/events"),
    ]
    assert rows == 100000
    assert [(c.name, c.type) for c in columns] == [
        ("user_id", "string"), ("item_id", "integer"), ("rating", "float"), ("price", "float"),
        ("liked", "boolean"), ("ts", "timestamp"), ("local_ts", "timestamp"), ("day", "date"),
    ]


def test_bigquery_missing_table_is_invalid_input_naming_the_source():
    not_found = {"error": {
        "code": 404, "message": "Not found: Table my-project:shop.nope was not found in location EU",
        "errors": [{"message": "Not found: Table my-project:shop.nope", "domain": "global", "reason": "notFound"}],
        "status": "NOT_FOUND",
    }}
    warehouse, session = warehouse_with({("GET", "/projects/my-project/datasets/shop/tables/nope"): (404, not_found)})
    with pytest.raises(InvalidInput, match="no BigQuery table 'my-project.shop.nope'") as caught:
        warehouse.describe(TableSource(kind="bigquery", uri="my-project.shop.nope"))
    assert caught.value.field == "source.uri"
    assert len(session.calls) == 1


def test_bigquery_refuses_bad_references_before_any_request():
    warehouse, session = warehouse_with({})
    for source in (TableSource(kind="file", uri="file:///tmp/x.parquet"),
                   TableSource(kind="bigquery", uri="p.d.t`; DROP TABLE x; --")):
        with pytest.raises(InvalidInput) as caught:
            warehouse.describe(source)
        assert caught.value.field == "source.uri"
    assert session.calls == []


QUERY_RESPONSE = {
    "kind": "bigquery#queryResponse",
    "schema": {"fields": [
        {"name": "user_id", "type": "STRING", "mode": "NULLABLE"},
        {"name": "n", "type": "INTEGER", "mode": "NULLABLE"},
        {"name": "last_seen", "type": "TIMESTAMP", "mode": "NULLABLE"},
    ]},
    "jobReference": {"projectId": "my-project", "jobId": "job_abc", "location": "EU"},
    "totalRows": "2",
    "rows": [
        {"f": [{"v": "u1"}, {"v": "3"}, {"v": "1704110400000000"}]},
        {"f": [{"v": "u2"}, {"v": "1"}, {"v": None}]},
    ],
    "totalBytesProcessed": "1024",
    "jobComplete": True,
    "cacheHit": False,
}


def test_bigquery_query_is_one_jobs_query_with_named_parameters():
    warehouse, session = warehouse_with({("POST", "/projects/my-project/queries"): (200, QUERY_RESPONSE)})
    sql = "SELECT user_id, COUNT(*) AS n, MAX(ts) AS last_seen FROM `my-project.shop.events` " \
          "WHERE rating >= @min_rating AND day >= @since AND item_id IN UNNEST(@items) GROUP BY user_id"
    rows = warehouse.query(sql, {"min_rating": 3.5, "since": date(2024, 1, 1), "items": [10, 20]})

    assert rows == [
        {"user_id": "u1", "n": 3, "last_seen": datetime(2024, 1, 1, 12, tzinfo=timezone.utc)},
        {"user_id": "u2", "n": 1, "last_seen": None},
    ]
    assert [(c.method, c.url) for c in session.calls] == [("POST", f"{API}/projects/my-project/queries")]
    body = session.calls[0].body
    assert body["query"] == sql
    assert body["useLegacySql"] is False
    assert body["parameterMode"] == "NAMED"
    assert body["labels"] == {"app": "experiments-platform"}
    assert "location" not in body
    assert body["queryParameters"] == [
        {"name": "min_rating", "parameterType": {"type": "FLOAT64"}, "parameterValue": {"value": 3.5}},
        {"name": "since", "parameterType": {"type": "DATE"}, "parameterValue": {"value": "2024-01-01"}},
        {"name": "items", "parameterType": {"type": "ARRAY", "arrayType": {"type": "INT64"}},
         "parameterValue": {"arrayValues": [{"value": "10"}, {"value": "20"}]}},
    ]
    assert body["requestId"]


def test_bigquery_sql_errors_surface_with_bigquerys_message():
    bad = {"error": {
        "code": 400, "message": "Unrecognized name: ratin at [1:38]",
        "errors": [{"message": "Unrecognized name: ratin at [1:38]", "domain": "global", "reason": "invalidQuery",
                    "location": "q", "locationType": "parameter"}],
        "status": "INVALID_ARGUMENT",
    }}
    warehouse, session = warehouse_with({("POST", "/projects/my-project/queries"): (400, bad)})
    with pytest.raises(BigQueryError, match="Unrecognized name: ratin"):
        warehouse.query("SELECT ratin FROM `my-project.shop.events`")
    assert len(session.calls) == 1


def test_bigquery_rejects_parameters_it_cannot_type():
    warehouse, session = warehouse_with({})
    with pytest.raises(InvalidInput) as caught:
        warehouse.query("SELECT @x", {"x": object()})
    assert caught.value.field == "parameters.x"
    assert session.calls == []


def test_bigquery_sources_outside_the_allowed_projects_and_datasets_are_refused_before_any_request():
    warehouse, session = warehouse_with(
        {("GET", "/projects/my-project/datasets/shop/tables/events"): (200, TABLE)},
        allowed_sources=("my-project.shop",), uploads_dataset="my-project.uploads")
    for uri in ("other-project.shop.events", "my-project.billing.invoices", "bigquery-public-data.samples.shakespeare"):
        with pytest.raises(InvalidInput, match="outside the projects and datasets this platform reads") as caught:
            warehouse.describe(TableSource(kind="bigquery", uri=uri))
        assert caught.value.field == "source.uri"
    assert session.calls == []
    assert warehouse.canonical(TableSource(kind="bigquery", uri="shop.events")).uri == "my-project.shop.events"
    assert warehouse.canonical(TableSource(kind="bigquery", uri="my-project.uploads.u1")).uri == "my-project.uploads.u1"
    warehouse.describe(TableSource(kind="bigquery", uri="my-project.shop.events"))
    assert len(session.calls) == 1


def load_job(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "bigquery#job", "id": "my-project:EU.upload_1",
        "jobReference": {"projectId": "my-project", "jobId": "upload_1", "location": "EU"},
        "configuration": {"load": {}, "jobType": "LOAD"}, "status": state,
    }


@pytest.mark.parametrize(("name", "file_format", "expected"), [
    ("events.csv", "csv", {"sourceFormat": "CSV", "autodetect": True, "skipLeadingRows": 1}),
    ("events.tsv.gz", "csv", {"sourceFormat": "CSV", "autodetect": True, "skipLeadingRows": 1, "fieldDelimiter": "\t"}),
    ("events.parquet", "parquet", {"sourceFormat": "PARQUET"}),
])
def test_an_upload_is_one_load_job_into_the_uploads_dataset(name, file_format, expected):
    done = (200, load_job({"state": "DONE"}))
    warehouse, session = warehouse_with(
        {("POST", "/projects/my-project/jobs"): done, ("GET", "/projects/my-project/jobs/*"): done},
        allowed_sources=("my-project",), uploads_dataset="my-project.uploads")
    uri = f"gs://data-bucket/uploads/u1/{name}"
    source = warehouse.load_upload(uri, file_format, "u1_events")

    assert source == TableSource(kind="bigquery", uri="my-project.uploads.u1_events")
    insert = session.calls[0]
    assert (insert.method, insert.url) == ("POST", f"{API}/projects/my-project/jobs")
    load = insert.body["configuration"]["load"]
    assert load == {
        "sourceUris": [uri],
        "destinationTable": {"projectId": "my-project", "datasetId": "uploads", "tableId": "u1_events"},
        "writeDisposition": "WRITE_EMPTY",
        **{k: (str(v) if k == "skipLeadingRows" else v) for k, v in expected.items()},
    }
    assert insert.body["configuration"]["labels"] == {"app": "experiments-platform"}
    assert insert.body["jobReference"]["projectId"] == "my-project"


def test_a_file_bigquery_cannot_load_is_invalid_input_with_its_reason():
    failed = (200, load_job({
        "state": "DONE",
        "errorResult": {"reason": "invalid", "message": "Error while reading data, error message: CSV table "
                        "encountered too many errors, giving up. Rows: 1; errors: 1."},
        "errors": [{"reason": "invalid", "message": "CSV table encountered too many errors, giving up."}],
    }))
    warehouse, _ = warehouse_with(
        {("POST", "/projects/my-project/jobs"): failed, ("GET", "/projects/my-project/jobs/*"): failed},
        allowed_sources=("my-project",), uploads_dataset="my-project.uploads")
    with pytest.raises(InvalidInput, match="BigQuery could not load the file: .*too many errors") as caught:
        warehouse.load_upload("gs://data-bucket/uploads/u1/events.csv", "csv", "u1_events")
    assert caught.value.field == "file"
