"""HTTP adapter of ``ports.artifact_reader.ArtifactReader``: the artifact_reader service at
``PLATFORM_ARTIFACT_READER_URL`` (``GET /experiments/{id}/...``), through ``service_calls`` (a Google
ID token when the URL is https; the service's errors come back as the same ``PlatformError``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from experiments_platform.adapters.service_calls import ServiceClient
from experiments_platform.config import Settings


def _path(experiment_id: str, view: str) -> str:
    return f"/experiments/{quote(experiment_id, safe='')}/{view}"


class ArtifactReaderClient(ServiceClient):
    service = "artifact_reader"
    url_setting = "PLATFORM_ARTIFACT_READER_URL"

    @classmethod
    def from_settings(cls, settings: Settings) -> ArtifactReaderClient:
        return cls(settings.artifact_reader_url)

    def metrics(self, experiment_id: str) -> dict[str, Any]:
        return self.get_json(_path(experiment_id, "metrics"))

    def training_history(self, experiment_id: str) -> dict[str, Any]:
        return self.get_json(_path(experiment_id, "training-history"))

    def artifacts(self, experiment_id: str) -> dict[str, Any]:
        return self.get_json(_path(experiment_id, "artifacts"))

    def statistics(self, experiment_id: str) -> dict[str, Any]:
        return self.get_json(_path(experiment_id, "statistics"))

    def schema(self, experiment_id: str) -> dict[str, Any]:
        return self.get_json(_path(experiment_id, "schema"))

    def component_logs(self, experiment_id: str, component: str, lines: int) -> dict[str, Any]:
        return self.get_json(_path(experiment_id, f"logs/{quote(component, safe='')}"), {"lines": str(lines)})

    def statistics_report(self, experiment_id: str) -> str:
        return self.text(_path(experiment_id, "statistics-report"))
