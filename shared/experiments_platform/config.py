"""Configuration from environment variables, validated once at start-up.

Every setting is read here and nowhere else. A missing or malformed variable fails fast with a
message naming the variable. The defaults are the embedded local stack (no cloud account).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from experiments_platform.errors import ConfigurationError

ENV_PREFIX = "PLATFORM_"
MiB = 1024 * 1024
PUBSUB_MAX_PUSH_BYTES = 10 * 1000 * 1000
"""Pub/Sub's limit on a message (10 MB): a push request above it cannot come from Pub/Sub."""
VERTEX_CONCURRENT_RUNS = 4
"""Vertex AI runs a deployment runs at once unless PLATFORM_MAX_CONCURRENT_RUNS says otherwise."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str = Field(default="all-in-one", description="service name in logs")
    data_dir: Path = Field(default=Path("var"), description="root of every local store")
    ui_dir: Path = Field(
        default=Path("ui"), description="the web UI's folder (index.html, css/, js/, node_modules/) the gateway serves")

    document_store: Literal["sqlite", "firestore"] = "sqlite"
    event_bus: Literal["embedded", "pubsub"] = "embedded"
    blob_store: Literal["local", "gcs"] = "local"
    warehouse: Literal["duckdb", "bigquery"] = "duckdb"
    build_service: Literal["local", "cloudbuild"] = "local"
    pipeline_service: Literal["local", "vertex"] = "local"
    log_store: Literal["local", "cloudlogging"] = "local"

    gcp_project: str | None = Field(default=None, description="Google Cloud project id")
    gcp_region: str = "europe-west1"
    vertex_metadata_endpoint: str | None = Field(
        default=None, description="host of Vertex ML Metadata's REST API; default {region}-aiplatform.googleapis.com "
                                  "(the lineage of a Vertex run is read there, decision 073)")
    pipeline_root: str | None = Field(default=None, description="gs:// or file:// root of pipeline runs")
    artifacts_uri: str | None = Field(default=None, description="gs:// or file:// root of experiment artifacts")
    pipeline_image: str | None = Field(default=None, description="TFX pipeline image (Vertex AI)")
    compiler_image: str | None = Field(default=None, description="compiler image (Cloud Build)")
    pipeline_service_account: str | None = Field(
        default=None, description="service account Vertex AI pipeline jobs run as")
    build_service_account: str | None = Field(
        default=None, description="service account the Cloud Build compile step runs as")
    staging_uri: str | None = Field(default=None, description="gs:// scratch root (Dataflow staging and temp files)")
    tfx_python: str = Field(default=".venv-tfx/bin/python", description="python of the pipeline environment")
    pipeline_idle_workers: int = Field(
        default=1, ge=0, le=4, description="pre-imported spare pipeline workers kept ready by the local runners"
    )

    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    mlflow_ui_url: str | None = Field(
        default=None, description="public MLflow UI link, if different from the tracking URI")
    mlflow_http_max_retries: int = Field(
        default=2, ge=0, le=10, description="retries of one MLflow request by the services' MLflow client")
    mlflow_http_timeout_s: int = Field(
        default=10, ge=1, le=600, description="seconds one MLflow request of the services may take")
    tfdv_parser_url: str | None = Field(default=None, description="tfdv_parser service URL; None parses in-process")
    artifact_reader_url: str | None = Field(
        default=None, description="artifact_reader service URL; None reads in-process")

    warehouse_roots: tuple[Path, ...] = Field(
        default=(), description="folders whose CSV/Parquet files datasets may name, besides {data_dir}/warehouse "
        "and the uploads folder (comma-separated)")
    uploads_uri: str | None = Field(
        default=None, description="where uploaded dataset files are stored: gs://bucket/prefix (then loaded into "
        "BigQuery) or a local folder; default {data_dir}/warehouse/uploads")
    upload_max_bytes: int = Field(default=512 * MiB, ge=1, description="largest dataset file an upload may send")
    gateway_max_in_flight: int = Field(
        default=8, ge=0, le=1024, description="requests one gateway worker process serves at once; beyond it the "
        "gateway answers 503 with Retry-After at once instead of queueing (0: no limit; decision 058)")
    gateway_max_queued: int = Field(
        default=16, ge=0, le=4096, description="connections a local gateway worker lets wait for a thread; beyond "
        "it the worker answers 503 with Retry-After as it accepts them (0: gunicorn's unbounded queue; decision 097)")
    api_max_body_bytes: int = Field(
        default=1 * MiB, ge=1024, le=PUBSUB_MAX_PUSH_BYTES, description="largest request body of the API "
        "(uploads excepted)")
    bigquery_sources: tuple[str, ...] = Field(
        default=(), description="projects or project.dataset whose tables datasets may name (comma-separated); "
        "default the platform's project")
    bigquery_uploads_dataset: str | None = Field(
        default=None, description="project.dataset uploaded files are loaded into; default {gcp_project}.uploads")

    max_concurrent_runs: int | None = Field(
        default=None, ge=1, le=1000, description="quick tests the deployment runs at once (Vertex AI runs on GCP: "
        "cost control); beyond it experiments wait queued (decision 052). Default: locally one per 2 cores and "
        "8 GiB of memory (at least 1), on Vertex AI 4")
    local_run_memory_gib: float | None = Field(
        default=None, gt=0, description="memory one local run's worker processes may hold; beyond it the memory "
        "guard stops the run as out of memory. Default: 80 % of the machine's memory shared by the run slots")
    max_queued_runs: int = Field(
        default=100, ge=0, le=100000, description="experiments that may wait for a run slot; beyond it starting "
        "one answers 429 with Retry-After")

    oidc_audience: str | None = Field(
        default=None, description="audience of the Google-signed OIDC tokens Pub/Sub pushes and Cloud Scheduler "
        "send (the service's URL); set, push and reconcile requests without such a token are refused (decision 053)")
    push_service_account: str | None = Field(
        default=None, description="the service account Pub/Sub push tokens must name")
    scheduler_service_account: str | None = Field(
        default=None, description="the service account the reconcile scheduler's tokens must name")
    eventarc_service_account: str | None = Field(
        default=None, description="the service account the data-source Eventarc triggers' tokens must name "
        "(audience PLATFORM_OIDC_AUDIENCE, the service's URL)")
    iap_audience: str | None = Field(
        default=None, description="audience of IAP's signed header (/projects/NUMBER/global/backendServices/ID "
        "or /projects/NUMBER/apps/PROJECT); set, gateway requests without a valid assertion are refused")
    google_certs_url: str = Field(
        default="https://www.googleapis.com/oauth2/v1/certs", description="Google's OIDC token certificates")
    iap_certs_url: str = Field(
        default="https://www.gstatic.com/iap/verify/public_key", description="IAP's assertion certificates")

    preflight_min_interactions: int = Field(
        default=100, ge=1, description="fewest interactions a quick test's train, eval or test split may hold; "
        "below it the launch is refused (decision 061)")
    preflight_min_buyers: int = Field(
        default=40, ge=1, description="fewest distinct buyers a quick test's train, eval or test split may hold")

    @field_validator("warehouse_roots", "bigquery_sources", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _gcp_needs_project(self) -> Settings:
        cloud = {
            "PLATFORM_DOCUMENT_STORE=firestore": self.document_store == "firestore",
            "PLATFORM_EVENT_BUS=pubsub": self.event_bus == "pubsub",
            "PLATFORM_BLOB_STORE=gcs": self.blob_store == "gcs",
            "PLATFORM_WAREHOUSE=bigquery": self.warehouse == "bigquery",
            "PLATFORM_BUILD_SERVICE=cloudbuild": self.build_service == "cloudbuild",
            "PLATFORM_PIPELINE_SERVICE=vertex": self.pipeline_service == "vertex",
            "PLATFORM_LOG_STORE=cloudlogging": self.log_store == "cloudlogging",
        }
        needing = [name for name, used in cloud.items() if used]
        if needing and not self.gcp_project:
            raise ValueError(f"PLATFORM_GCP_PROJECT is required by {', '.join(needing)}")
        return self

    def local_uri(self, *parts: str) -> str:
        return (self.data_dir.resolve().joinpath(*parts)).as_uri()

    @property
    def resolved_max_concurrent_runs(self) -> int:
        """``max_concurrent_runs``, else 4 on Vertex AI and what this machine's cores and memory hold locally."""
        if self.max_concurrent_runs is not None:
            return self.max_concurrent_runs
        if self.pipeline_service == "vertex":
            return VERTEX_CONCURRENT_RUNS
        from experiments_platform.domain.admission import local_run_limit

        return local_run_limit(os.cpu_count() or 1, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))

    @property
    def resolved_local_run_memory_bytes(self) -> int:
        """``local_run_memory_gib`` in bytes, else 80 % of this machine's memory over the run slots."""
        if self.local_run_memory_gib is not None:
            return int(self.local_run_memory_gib * 1024 ** 3)
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return int(total * 0.8 / self.resolved_max_concurrent_runs)

    @property
    def resolved_uploads_uri(self) -> str:
        return self.uploads_uri or self.local_uri("warehouse", "uploads")

    @property
    def resolved_warehouse_roots(self) -> tuple[Path, ...]:
        """Folders the DuckDB warehouse may read (symlinks resolved): the warehouse, the uploads, the extra roots."""
        roots = [self.data_dir / "warehouse", *self.warehouse_roots]
        if not self.resolved_uploads_uri.startswith("gs://"):
            roots.append(Path(_path_of(self.resolved_uploads_uri)))
        return tuple(dict.fromkeys(root.resolve() for root in roots))

    @property
    def resolved_bigquery_sources(self) -> tuple[str, ...]:
        return self.bigquery_sources or ((self.gcp_project,) if self.gcp_project else ())

    @property
    def resolved_bigquery_uploads_dataset(self) -> str | None:
        return self.bigquery_uploads_dataset or (f"{self.gcp_project}.uploads" if self.gcp_project else None)

    @property
    def resolved_pipeline_root(self) -> str:
        return self.pipeline_root or self.local_uri("pipelines")

    @property
    def resolved_artifacts_uri(self) -> str:
        return self.artifacts_uri or self.local_uri("artifacts")


def _path_of(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path) if uri.startswith("file://") else uri


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate ``PLATFORM_*`` variables; raise ``ConfigurationError`` naming each bad one."""
    env = os.environ if environ is None else environ
    values = {k[len(ENV_PREFIX):].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX) and v != ""}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{ENV_PREFIX}{loc.upper()}: {message}" if loc else message)
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
