"""BigQuery warehouse: ``tables.get`` for schemas and row counts, ``jobs.query`` for queries, ``jobs.insert``
(a load job) for uploaded files.

Sources are confined to the configured projects and datasets (``PLATFORM_BIGQUERY_SOURCES``, by
default the platform's project) plus the uploads dataset; a reference outside them is refused
before any request (decision 050). The client is built at start-up (``from_settings``) or handed
in (tests give it a recording HTTP session). Queries run as standard SQL with named ``@name``
parameters; no location is forced, so BigQuery runs each job where its tables live. The client's
own retry policy retries transient HTTP errors; what is left after it becomes a ``TransientError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from experiments_platform.adapters._shared import usable_columns
from experiments_platform.config import Settings
from experiments_platform.domain.dataset import Column, ColumnType, TableSource
from experiments_platform.domain.names import IDENTIFIER, TABLE_REFERENCE
from experiments_platform.errors import InvalidInput, PlatformError, TransientError
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.warehouse import Dialect, UploadFormat

if TYPE_CHECKING:
    from google.cloud import bigquery

log = get_logger(__name__)

BIGQUERY_TYPES: dict[str, ColumnType] = {
    "STRING": "string",
    "INTEGER": "integer",
    "INT64": "integer",
    "FLOAT": "float",
    "FLOAT64": "float",
    "NUMERIC": "float",
    "BIGNUMERIC": "float",
    "BOOLEAN": "boolean",
    "BOOL": "boolean",
    "TIMESTAMP": "timestamp",
    "DATETIME": "timestamp",
    "DATE": "date",
}
LABELS = {"app": "experiments-platform"}


class BigQueryError(PlatformError):
    """BigQuery refused a request (bad SQL, permissions, quota); the message is BigQuery's own."""

    code = "BIGQUERY_ERROR"
    status = 502


class BigQueryWarehouse:
    dialect: Dialect = "bigquery"

    def __init__(self, client: bigquery.Client, *, allowed_sources: tuple[str, ...] | None = None,
                 uploads_dataset: str | None = None, timeout_s: float = 600.0) -> None:
        """``allowed_sources``: projects or ``project.dataset`` sources may name (None: any, for tests and
        scripts); ``uploads_dataset``: the ``project.dataset`` uploads are loaded into (always readable)."""
        self.client = client
        self.allowed_sources = allowed_sources
        self.uploads_dataset = uploads_dataset
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings) -> BigQueryWarehouse:
        from google.cloud import bigquery

        return cls(bigquery.Client(project=settings.gcp_project), allowed_sources=settings.resolved_bigquery_sources,
                   uploads_dataset=settings.resolved_bigquery_uploads_dataset)

    def canonical(self, source: TableSource, field: str = "source.uri") -> TableSource:
        """``project.dataset.table`` (a two-part reference takes the client's project), inside the allowed sources."""
        table_id = _table_id(source, field)
        if table_id.count(".") == 1:
            table_id = f"{self.client.project}.{table_id}"
        if self.allowed_sources is not None:
            allowed = (*self.allowed_sources, *([self.uploads_dataset] if self.uploads_dataset else []))
            project, dataset, _ = table_id.split(".")
            if project not in allowed and f"{project}.{dataset}" not in allowed:
                raise InvalidInput(
                    f"BigQuery table {source.uri!r} is outside the projects and datasets this platform reads "
                    f"({', '.join(allowed) or 'none'}); upload the file, or ask an administrator to add its "
                    "dataset to PLATFORM_BIGQUERY_SOURCES", field=field)
        return TableSource(kind="bigquery", uri=table_id)

    def load_upload(self, uri: str, file_format: UploadFormat, table: str) -> TableSource:
        """A load job (``jobs.insert``, ``configuration.load``) of the uploaded ``gs://`` file into the uploads dataset.

        CSV: schema auto-detected, the first row the header (``skipLeadingRows: 1``); Parquet describes
        itself. ``WRITE_EMPTY``: an upload never replaces a table. Waits for the job; a file BigQuery
        cannot load is an ``InvalidInput`` on ``file`` with BigQuery's reason.
        """
        from google.cloud import bigquery

        if not self.uploads_dataset:
            raise InvalidInput("uploads need PLATFORM_BIGQUERY_UPLOADS_DATASET (project.dataset)", field="file")
        if not IDENTIFIER.match(table) or not uri.startswith("gs://"):
            raise InvalidInput(f"cannot load {uri!r} as table {table!r}", field="file")
        destination = f"{self.uploads_dataset}.{table}"
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET if file_format == "parquet" else bigquery.SourceFormat.CSV,
            write_disposition=bigquery.WriteDisposition.WRITE_EMPTY,
            labels=LABELS,
        )
        if file_format == "csv":
            config.autodetect = True
            config.skip_leading_rows = 1
            if uri.lower().endswith((".tsv", ".tsv.gz")):
                config.field_delimiter = "\t"
        try:
            job = self.client.load_table_from_uri(uri, destination, job_config=config, timeout=60)
            job.result(timeout=self.timeout_s)
        except Exception as exc:
            from google.api_core import exceptions as gexc

            if isinstance(exc, gexc.BadRequest):
                raise InvalidInput(f"BigQuery could not load the file: {getattr(exc, 'message', exc)}",
                                   field="file") from None
            raise _platform_error(exc, None) from exc
        return TableSource(kind="bigquery", uri=destination)

    def describe(self, source: TableSource) -> tuple[list[Column], int]:
        table_id = self.canonical(source).uri
        try:
            table = self.client.get_table(table_id, timeout=60)
        except Exception as exc:
            raise _platform_error(exc, table_id) from exc
        columns, skipped = [], {}
        for field in table.schema:
            kind = BIGQUERY_TYPES.get(field.field_type.upper())
            if field.mode == "REPEATED":
                skipped[field.name] = "repeated fields are not supported"
            elif kind is None:
                skipped[field.name] = f"type {field.field_type} is not supported"
            elif not IDENTIFIER.match(field.name):
                skipped[field.name] = "name is not letters, digits and underscores"
            else:
                columns.append(Column(name=field.name, type=kind))
        if skipped:
            log.warning("columns left out of the dataset", extra=fields(table=table_id, skipped=skipped))
        return usable_columns(columns, skipped, table_id), int(table.num_rows or 0)

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(
            use_legacy_sql=False,
            labels=LABELS,
            query_parameters=[_parameter(name, value) for name, value in (parameters or {}).items()],
        )
        try:
            rows = self.client.query_and_wait(sql, job_config=config, wait_timeout=self.timeout_s)
            return [dict(row.items()) for row in rows]
        except Exception as exc:
            raise _platform_error(exc, None) from exc


def _table_id(source: TableSource, field: str = "source.uri") -> str:
    if source.kind != "bigquery":
        raise InvalidInput(
            f"{source.uri!r} is a file; the BigQuery warehouse reads tables (project.dataset.table); upload the file",
            field=field,
        )
    if not TABLE_REFERENCE.match(source.uri):
        raise InvalidInput(f"{source.uri!r} is not a BigQuery table reference; write project.dataset.table",
                           field=field)
    return source.uri


def _parameter(name: str, value: Any) -> Any:
    from google.cloud import bigquery

    if not IDENTIFIER.match(name):
        raise InvalidInput(f"query parameter name {name!r} is invalid", field="parameters")
    if isinstance(value, (list, tuple)):
        types = {_scalar_type(name, v) for v in value}
        if len(types) != 1:
            raise InvalidInput("an array parameter needs values of one type", field=f"parameters.{name}")
        return bigquery.ArrayQueryParameter(name, types.pop(), list(value))
    return bigquery.ScalarQueryParameter(name, _scalar_type(name, value), value)


def _scalar_type(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, datetime):
        return "TIMESTAMP" if value.tzinfo else "DATETIME"
    if isinstance(value, date):
        return "DATE"
    raise InvalidInput(f"unsupported parameter type {type(value).__name__}", field=f"parameters.{name}")


def _platform_error(exc: Exception, table_id: str | None) -> PlatformError:
    from google.api_core import exceptions as gexc

    if isinstance(exc, PlatformError):
        return exc
    message = getattr(exc, "message", None) or str(exc)
    if table_id is not None and isinstance(exc, gexc.NotFound):
        return InvalidInput(f"no BigQuery table {table_id!r} ({message})", field="source.uri")
    if table_id is not None and isinstance(exc, gexc.Forbidden):
        return InvalidInput(
            f"permission denied on {table_id!r}: grant the service account roles/bigquery.dataViewer "
            f"on the dataset ({message})",
            field="source.uri",
        )
    if isinstance(exc, (gexc.ServiceUnavailable, gexc.InternalServerError, gexc.TooManyRequests,
                        gexc.GatewayTimeout, ConnectionError, TimeoutError)):
        return TransientError(f"BigQuery unavailable: {message}")
    if isinstance(exc, gexc.GoogleAPICallError):
        return BigQueryError(f"BigQuery: {message}")
    return BigQueryError(f"BigQuery: {type(exc).__name__}: {message}")
