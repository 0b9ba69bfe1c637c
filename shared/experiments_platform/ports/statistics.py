"""Statistics parser port: TFDV statistics and schemas of TFX artifacts, and the statistics report page.

The tfdv_parser service over HTTP on Cloud Run (``PLATFORM_TFDV_PARSER_URL``), the same code
in-process on one machine. Both answer the same JSON and the same page.
"""

from __future__ import annotations

from typing import Any, Protocol


class StatisticsParser(Protocol):
    def statistics(self, uri: str) -> dict[str, Any]:
        """Per-split feature statistics of a StatisticsGen artifact (``tfdv.StatisticsReport`` as JSON).

        Raise ``errors.NotFound`` (field ``uri``) when the artifact holds no statistics."""
        ...

    def schema(self, uri: str) -> dict[str, Any]:
        """Features, types and domains of a SchemaGen artifact (``tfdv.SchemaReport`` as JSON)."""
        ...

    def report(self, statistics_uri: str, schema_uri: str | None, title: str) -> str:
        """The self-contained statistics report page (HTML; serve it with ``tfdv.report.CSP``)."""
        ...
