"""One place that reads ``Settings`` and wires an adapter into every port.

``Platform`` builds each adapter on first use, never at import time, so a service only creates
the cloud clients it really touches. Adapters are chosen by the setting of their port
(``PLATFORM_DOCUMENT_STORE=firestore`` ...) from ``ADAPTERS``; each adapter class offers
``from_settings(settings, **dependencies)`` and receives the other ports it names as keyword
parameters (``blobs``, ``bus``, ``pipelines``, ...), or the ``platform`` itself (an adapter that runs
a service's handlers in-process). Calls between services are ports too: their URL setting
(``PLATFORM_TFDV_PARSER_URL``, ``PLATFORM_ARTIFACT_READER_URL``) chooses the HTTP adapter, and no URL
the in-process one. Tests hand in their own adapters as overrides.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from typing import Any, cast

from experiments_platform.config import Settings, load_settings
from experiments_platform.errors import ConfigurationError
from experiments_platform.ports.artifact_reader import ArtifactReader
from experiments_platform.ports.blobs import BlobStore
from experiments_platform.ports.builds import BuildService
from experiments_platform.ports.bus import EventBus
from experiments_platform.ports.documents import DocumentStore
from experiments_platform.ports.logs import LogStore
from experiments_platform.ports.pipelines import PipelineService
from experiments_platform.ports.statistics import StatisticsParser
from experiments_platform.ports.tracker import ExperimentTracker
from experiments_platform.ports.warehouse import Warehouse

PORTS = ("documents", "bus", "blobs", "warehouse", "builds", "pipelines", "logs", "tracker", "statistics_parser",
         "artifact_reader")

# port → {setting value: "module:Class"} (modules relative to experiments_platform.adapters, unless absolute)
ADAPTERS: dict[str, dict[str, str]] = {
    "documents": {
        "sqlite": "sqlite_documents:SqliteDocumentStore",
        "firestore": "firestore_documents:FirestoreDocumentStore",
    },
    "bus": {"embedded": "embedded_bus:EmbeddedBus", "pubsub": "pubsub_bus:PubSubBus"},
    "blobs": {"local": "local_blobs:LocalBlobStore", "gcs": "gcs_blobs:GcsBlobStore"},
    "warehouse": {"duckdb": "duckdb_warehouse:DuckDBWarehouse", "bigquery": "bigquery_warehouse:BigQueryWarehouse"},
    "builds": {"local": "local_builds:LocalBuildService", "cloudbuild": "cloud_build:CloudBuildService"},
    "pipelines": {"local": "local_pipelines:LocalPipelineService", "vertex": "vertex_pipelines:VertexPipelineService"},
    "logs": {"local": "local_logs:LocalLogStore", "cloudlogging": "cloud_logging:CloudLoggingLogStore"},
    "tracker": {"mlflow": "mlflow_tracker:MlflowTracker"},
    "statistics_parser": {
        "local": "tfdv_in_process:InProcessStatisticsParser",
        "http": "tfdv_parser_client:TfdvParserClient",
    },
    "artifact_reader": {
        "local": "experiments_platform.handlers.artifact_reader:InProcessArtifactReader",
        "http": "artifact_reader_client:ArtifactReaderClient",
    },
}


def _choice(settings: Settings, port: str) -> str:
    return {
        "documents": settings.document_store,
        "bus": settings.event_bus,
        "blobs": settings.blob_store,
        "warehouse": settings.warehouse,
        "builds": settings.build_service,
        "pipelines": settings.pipeline_service,
        "logs": settings.log_store,
        "tracker": "mlflow",
        "statistics_parser": "http" if settings.tfdv_parser_url else "local",
        "artifact_reader": "http" if settings.artifact_reader_url else "local",
    }[port]


class Platform:
    """The ports of one running service, built lazily from its settings.

    ``Platform(settings, documents=my_store)`` replaces one adapter (tests, the local stack).
    """

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        unknown = sorted(set(overrides) - set(PORTS))
        if unknown:
            raise TypeError(f"unknown port override(s) {unknown}; ports are {PORTS}")
        self.settings = settings or load_settings()
        self._ports: dict[str, Any] = dict(overrides)
        self._lock = threading.RLock()

    @classmethod
    def from_env(cls) -> Platform:
        return cls(load_settings())

    def _port(self, port: str) -> Any:
        adapter = self._ports.get(port)
        if adapter is not None:
            return adapter
        with self._lock:
            if port not in self._ports:
                self._ports[port] = self._build(port)
            return self._ports[port]

    def _build(self, port: str) -> Any:
        choice = _choice(self.settings, port)
        target = ADAPTERS[port].get(choice)
        if target is None:
            raise ConfigurationError(f"no {port} adapter named {choice!r}; expected one of {sorted(ADAPTERS[port])}")
        module_name, class_name = target.split(":")
        if not module_name.startswith(f"{__package__}."):
            module_name = f"{__package__}.adapters.{module_name}"
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigurationError(
                f"the {choice} {port} adapter cannot be imported ({exc}); install the services requirements"
            ) from exc
        cls = getattr(module, class_name)
        factory = getattr(cls, "from_settings", cls)
        accepted = inspect.signature(factory).parameters
        dependencies: dict[str, Any] = {name: self._port(name) for name in PORTS if name in accepted and name != port}
        if "platform" in accepted:
            dependencies["platform"] = self
        return factory(self.settings, **dependencies)

    def is_built(self, port: str) -> bool:
        return port in self._ports

    @property
    def documents(self) -> DocumentStore:
        return cast(DocumentStore, self._port("documents"))

    @property
    def bus(self) -> EventBus:
        return cast(EventBus, self._port("bus"))

    @property
    def blobs(self) -> BlobStore:
        return cast(BlobStore, self._port("blobs"))

    @property
    def warehouse(self) -> Warehouse:
        return cast(Warehouse, self._port("warehouse"))

    @property
    def builds(self) -> BuildService:
        return cast(BuildService, self._port("builds"))

    @property
    def pipelines(self) -> PipelineService:
        return cast(PipelineService, self._port("pipelines"))

    @property
    def logs(self) -> LogStore:
        return cast(LogStore, self._port("logs"))

    @property
    def tracker(self) -> ExperimentTracker:
        return cast(ExperimentTracker, self._port("tracker"))

    @property
    def statistics_parser(self) -> StatisticsParser:
        return cast(StatisticsParser, self._port("statistics_parser"))

    @property
    def artifact_reader(self) -> ArtifactReader:
        return cast(ArtifactReader, self._port("artifact_reader"))

    def experiment_artifacts_uri(self, experiment_id: str, name: str = "") -> str:
        """``{artifacts root}/experiments/{experiment_id}/{name}`` (spec.json, metrics.json, ...)."""
        base = f"{self.settings.resolved_artifacts_uri.rstrip('/')}/experiments/{experiment_id}"
        return f"{base}/{name}" if name else base

    def close(self) -> None:
        """Close every adapter built so far that can be closed (bus threads, database handles).

        The bus closes first, outside the lock: its running handlers finish with the other ports still
        open (they may reach for one not built yet); the rest close in reverse build order.
        """
        with self._lock:
            built = list(self._ports.items())
        bus = [adapter for port, adapter in built if port == "bus"]
        rest = [adapter for port, adapter in reversed(built) if port != "bus"]
        for adapter in bus + rest:
            closer = getattr(adapter, "close", None)
            if callable(closer):
                closer()
