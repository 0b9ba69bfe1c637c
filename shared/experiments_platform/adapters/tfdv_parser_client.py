"""TFDV statistics, schemas and the statistics report page, through the tfdv_parser service.

Over HTTP when ``PLATFORM_TFDV_PARSER_URL`` is set (Cloud Run, the emulated local stack): the
artifact URIs go to ``services/tfdv_parser`` (``POST /statistics``, ``/schema``, ``/report``),
which reads and parses them. In-process with ``experiments_platform.tfdv`` when it is not (the
all-in-one local stack). Both answer the same JSON and the same page.
"""

from __future__ import annotations

from typing import Any

from experiments_platform.adapters import service_calls
from experiments_platform.config import Settings
from experiments_platform.ports.blobs import BlobStore

SERVICE = "tfdv_parser"


def statistics(settings: Settings, blobs: BlobStore, uri: str) -> dict[str, Any]:
    """Per-split feature statistics of a StatisticsGen artifact (``tfdv.StatisticsReport`` as JSON)."""
    if settings.tfdv_parser_url:
        return service_calls.call_json(SERVICE, settings.tfdv_parser_url, "/statistics", body={"uri": uri})
    from experiments_platform.tfdv import load_statistics

    return load_statistics(blobs, uri).model_dump(mode="json")


def schema(settings: Settings, blobs: BlobStore, uri: str) -> dict[str, Any]:
    """Features, types and domains of a SchemaGen artifact (``tfdv.SchemaReport`` as JSON)."""
    if settings.tfdv_parser_url:
        return service_calls.call_json(SERVICE, settings.tfdv_parser_url, "/schema", body={"uri": uri})
    from experiments_platform.tfdv import load_schema

    return load_schema(blobs, uri).model_dump(mode="json")


def report(settings: Settings, blobs: BlobStore, statistics_uri: str, schema_uri: str | None, title: str) -> str:
    """The self-contained statistics report page (HTML; needs ``tfdv.report.CSP`` as its policy)."""
    if settings.tfdv_parser_url:
        body = {"statistics_uri": statistics_uri, "title": title, **({"schema_uri": schema_uri} if schema_uri else {})}
        return service_calls.call_text(SERVICE, settings.tfdv_parser_url, "/report", body=body)
    from experiments_platform.tfdv import load_schema, load_statistics, render_report

    return render_report(load_statistics(blobs, statistics_uri),
                         load_schema(blobs, schema_uri) if schema_uri else None, title=title)
