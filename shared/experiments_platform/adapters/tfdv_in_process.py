"""In-process adapter of ``ports.statistics.StatisticsParser``: ``experiments_platform.tfdv`` on a blob store.

What the tfdv_parser service runs for each request, and what one machine runs without the service.
"""

from __future__ import annotations

from typing import Any

from experiments_platform.config import Settings
from experiments_platform.ports.blobs import BlobStore
from experiments_platform.tfdv import load_schema, load_statistics, render_report


class InProcessStatisticsParser:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    @classmethod
    def from_settings(cls, settings: Settings, blobs: BlobStore) -> InProcessStatisticsParser:
        return cls(blobs)

    def statistics(self, uri: str) -> dict[str, Any]:
        return load_statistics(self.blobs, uri).model_dump(mode="json")

    def schema(self, uri: str) -> dict[str, Any]:
        return load_schema(self.blobs, uri).model_dump(mode="json")

    def report(self, statistics_uri: str, schema_uri: str | None, title: str) -> str:
        return render_report(load_statistics(self.blobs, statistics_uri),
                             load_schema(self.blobs, schema_uri) if schema_uri else None, title=title)
