"""What the gateway reads from artifacts: in-process through ``handlers.artifact_reader``, or over HTTP
from the artifact_reader service when ``PLATFORM_ARTIFACT_READER_URL`` is set (as on Cloud Run, where
``experiments_platform.adapters.service_calls`` sends a Google ID token for that service)."""

from __future__ import annotations

from typing import Any

from experiments_platform.adapters import service_calls
from experiments_platform.bootstrap import Platform
from experiments_platform.handlers import artifact_reader

SERVICE = "artifact_reader"


def read(platform: Platform, experiment_id: str, view: str) -> dict[str, Any]:
    """One artifact_reader view (``metrics``, ``training-history``, ``artifacts``, ``statistics``, ``schema``)."""
    base = platform.settings.artifact_reader_url
    if base is None:
        return artifact_reader.VIEWS[view](platform, experiment_id)
    return service_calls.call_json(SERVICE, base, f"/experiments/{experiment_id}/{view}")


def statistics_report(platform: Platform, experiment_id: str) -> str:
    """The offline statistics report page (HTML), rendered by tfdv_parser through the artifact reader."""
    base = platform.settings.artifact_reader_url
    if base is None:
        return artifact_reader.statistics_report(platform, experiment_id)
    return service_calls.call_text(SERVICE, base, f"/experiments/{experiment_id}/statistics-report")


def component_logs(platform: Platform, experiment_id: str, component: str, lines: int) -> dict[str, Any]:
    base = platform.settings.artifact_reader_url
    if base is None:
        return artifact_reader.component_logs(platform, experiment_id, component, lines)
    return service_calls.call_json(SERVICE, base, f"/experiments/{experiment_id}/logs/{component}",
                                   params={"lines": str(lines)})
