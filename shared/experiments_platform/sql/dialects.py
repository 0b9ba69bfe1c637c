"""SQL dialects: quoting, table references and the few functions whose spelling differs.

Every identifier is re-checked against ``IDENTIFIER`` before quoting, every table reference is
either a validated BigQuery path or a file path written as an escaped string literal, and every
number is an ``int``: no config text reaches the SQL unchecked.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import unquote, urlparse

from experiments_platform.domain.dataset import TableSource
from experiments_platform.domain.names import IDENTIFIER, TABLE_REFERENCE
from experiments_platform.errors import InvalidInput
from experiments_platform.ports.warehouse import Dialect

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")


class SqlDialect(Protocol):
    name: Dialect

    def identifier(self, name: str) -> str: ...

    def string(self, value: str) -> str: ...

    def table(self, source: TableSource, field: str) -> str: ...

    def text(self, expression: str) -> str: ...

    def concat(self, *expressions: str) -> str: ...

    def md5_hex(self, expression: str) -> str: ...

    def hex_to_int(self, hex_expression: str, start: int, length: int) -> str: ...

    def mod(self, expression: str, divisor: int) -> str: ...

    def days_between(self, later: str, earlier: str) -> str: ...

    def to_int(self, expression: str) -> str: ...

    def to_float(self, expression: str) -> str: ...

    def epoch_seconds(self, expression: str) -> str: ...


def checked_identifier(name: str) -> str:
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise InvalidInput(f"{name!r} is not a valid column name", field="column")
    return name


def checked_int(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{value!r} is not a whole number", field="number")
    return str(value)


def local_path(source: TableSource, field: str = "source.uri") -> str:
    """The path DuckDB reads for a ``file`` source: a local path for ``file://`` URIs, else the ``gs://`` URI."""
    uri = source.uri
    if source.kind != "file":
        raise InvalidInput(
            f"{uri!r} is a BigQuery table; the DuckDB warehouse reads CSV or Parquet files",
            field=field,
        )
    if any(ord(ch) < 32 for ch in uri):
        raise InvalidInput("the file URI contains control characters", field=field)
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if parsed.scheme == "gs":
        return uri
    if parsed.scheme == "":
        return uri
    raise InvalidInput(f"unsupported URI scheme {parsed.scheme!r} in {uri!r}; use file:// or gs://", field=field)


def file_format(path: str, field: str = "source.uri") -> str:
    lowered = path.lower()
    if lowered.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if lowered.endswith(CSV_SUFFIXES):
        return "csv"
    raise InvalidInput(
        f"cannot tell the format of {path!r}; name the file *.parquet or *.csv (also .csv.gz, .tsv)",
        field=field,
    )


def duckdb_string(value: str) -> str:
    if "\x00" in value:
        raise InvalidInput("text contains a NUL character", field="value")
    return "'" + value.replace("'", "''") + "'"


def duckdb_table_function(source: TableSource, field: str = "source.uri") -> str:
    """``read_parquet('...')`` or ``read_csv('...')`` for a file source, with the path safely quoted."""
    path = local_path(source, field)
    reader = "read_parquet" if file_format(path, field) == "parquet" else "read_csv"
    return f"{reader}({duckdb_string(path)})"


class DuckDB:
    name: Dialect = "duckdb"

    def identifier(self, name: str) -> str:
        return '"' + checked_identifier(name) + '"'

    def string(self, value: str) -> str:
        return duckdb_string(value)

    def table(self, source: TableSource, field: str) -> str:
        return duckdb_table_function(source, field)

    def text(self, expression: str) -> str:
        return f"CAST({expression} AS VARCHAR)"

    def concat(self, *expressions: str) -> str:
        return "(" + " || ".join(expressions) + ")"

    def md5_hex(self, expression: str) -> str:
        return f"md5({expression})"

    def hex_to_int(self, hex_expression: str, start: int, length: int) -> str:
        return f"CAST('0x' || substr({hex_expression}, {checked_int(start)}, {checked_int(length)}) AS BIGINT)"

    def mod(self, expression: str, divisor: int) -> str:
        return f"({expression} % {checked_int(divisor)})"

    def days_between(self, later: str, earlier: str) -> str:
        return f"date_diff('day', {earlier}, {later})"

    def to_int(self, expression: str) -> str:
        return f"CAST({expression} AS BIGINT)"

    def to_float(self, expression: str) -> str:
        return f"CAST({expression} AS DOUBLE)"

    def epoch_seconds(self, expression: str) -> str:
        return f"CAST(floor(epoch({expression})) AS BIGINT)"


class BigQuery:
    name: Dialect = "bigquery"

    def identifier(self, name: str) -> str:
        return "`" + checked_identifier(name) + "`"

    def string(self, value: str) -> str:
        if any(ord(ch) < 32 for ch in value):
            raise InvalidInput("text contains control characters", field="value")
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def table(self, source: TableSource, field: str) -> str:
        if source.kind != "bigquery":
            raise InvalidInput(
                f"{source.uri!r} is a file; BigQuery reads tables: load the file into a BigQuery table "
                "and register the dataset with kind 'bigquery'",
                field=field,
            )
        if not TABLE_REFERENCE.match(source.uri):
            raise InvalidInput(
                f"{source.uri!r} is not a BigQuery table reference; write project.dataset.table",
                field=field,
            )
        return f"`{source.uri}`"

    def text(self, expression: str) -> str:
        return f"CAST({expression} AS STRING)"

    def concat(self, *expressions: str) -> str:
        return "CONCAT(" + ", ".join(expressions) + ")"

    def md5_hex(self, expression: str) -> str:
        return f"TO_HEX(MD5({expression}))"

    def hex_to_int(self, hex_expression: str, start: int, length: int) -> str:
        return f"CAST(CONCAT('0x', SUBSTR({hex_expression}, {checked_int(start)}, {checked_int(length)})) AS INT64)"

    def mod(self, expression: str, divisor: int) -> str:
        return f"MOD({expression}, {checked_int(divisor)})"

    def days_between(self, later: str, earlier: str) -> str:
        return f"DATE_DIFF({later}, {earlier}, DAY)"

    def to_int(self, expression: str) -> str:
        return f"CAST({expression} AS INT64)"

    def to_float(self, expression: str) -> str:
        return f"CAST({expression} AS FLOAT64)"

    def epoch_seconds(self, expression: str) -> str:
        return f"UNIX_SECONDS(CAST({expression} AS TIMESTAMP))"


DIALECTS: dict[str, SqlDialect] = {"duckdb": DuckDB(), "bigquery": BigQuery()}


def dialect_for(name: str) -> SqlDialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise InvalidInput(f"unknown SQL dialect {name!r}; use one of {sorted(DIALECTS)}", field="dialect") from None
