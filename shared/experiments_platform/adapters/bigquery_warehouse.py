"""BigQuery warehouse: ``tables.get`` for schemas and row counts, ``jobs.query`` for queries.

The client is built at start-up (``from_settings``) or handed in (tests give it a recording HTTP
session). Queries run as standard SQL with named ``@name`` parameters; no location is forced, so
BigQuery runs each job where its tables live. The client's own retry policy retries transient
HTTP errors; what is left after it becomes a ``TransientError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from experiments_platform.config import Settings
from experiments_platform.domain.dataset import Column, ColumnType, TableSource
from experiments_platform.domain.names import IDENTIFIER, TABLE_REFERENCE
from experiments_platform.errors import InvalidInput, PlatformError, TransientError
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.warehouse import Dialect

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

    def __init__(self, client: bigquery.Client, *, timeout_s: float = 600.0) -> None:
        self.client = client
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings) -> BigQueryWarehouse:
        from google.cloud import bigquery

        return cls(bigquery.Client(project=settings.gcp_project))

    def describe(self, source: TableSource) -> tuple[list[Column], int]:
        table_id = _table_id(source)
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
        return columns, int(table.num_rows or 0)

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


def _table_id(source: TableSource) -> str:
    if source.kind != "bigquery":
        raise InvalidInput(
            f"{source.uri!r} is a file; the BigQuery warehouse reads tables (project.dataset.table)",
            field="source.uri",
        )
    if not TABLE_REFERENCE.match(source.uri):
        raise InvalidInput(f"{source.uri!r} is not a BigQuery table reference; write project.dataset.table",
                           field="source.uri")
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
