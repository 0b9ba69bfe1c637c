"""HTTP adapter of ``ports.statistics.StatisticsParser``: the tfdv_parser service at ``PLATFORM_TFDV_PARSER_URL``.

``POST /statistics``, ``/schema`` and ``/report`` with the artifact URIs in a JSON body, through
``service_calls`` (a Google ID token when the URL is https; the service's errors come back as the
same ``PlatformError``).
"""

from __future__ import annotations

from typing import Any

from experiments_platform.adapters.service_calls import ServiceClient
from experiments_platform.config import Settings


class TfdvParserClient(ServiceClient):
    service = "tfdv_parser"
    url_setting = "PLATFORM_TFDV_PARSER_URL"

    @classmethod
    def from_settings(cls, settings: Settings) -> TfdvParserClient:
        return cls(settings.tfdv_parser_url)

    def statistics(self, uri: str) -> dict[str, Any]:
        return self.post_json("/statistics", {"uri": uri})

    def schema(self, uri: str) -> dict[str, Any]:
        return self.post_json("/schema", {"uri": uri})

    def report(self, statistics_uri: str, schema_uri: str | None, title: str) -> str:
        return self.text("/report", {"statistics_uri": statistics_uri, "title": title,
                                     **({"schema_uri": schema_uri} if schema_uri else {})})
