"""Cloud Build adapter of ``ports.builds.BuildService``: the compile-and-submit build.

Every build runs the same two steps as ``cloudbuild/compile-and-submit.yaml`` (a test keeps the
two identical): ``compile`` turns the quick-test spec into a Vertex AI pipeline job JSON with the
pipeline environment's TFX, ``submit`` hands it to Vertex AI (``adapters.vertex_pipelines``) and
writes the job name to ``$BUILDER_OUTPUT/output``. The step definitions are a fixed template;
only the substitutions vary, so no value from a request can become part of a command line.

The build carries the experiment id in its ``_EXPERIMENT_ID`` substitution and an
``experiment-{id}`` tag, which ``google_events.parse_build`` reads from the notification.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from experiments_platform.adapters._shared import API_TIMEOUT_S, call_with_retries
from experiments_platform.config import Settings
from experiments_platform.errors import ConfigurationError, InvalidInput
from experiments_platform.events.google_events import (
    EXPERIMENT_SUBSTITUTION,
    EXPERIMENT_TAG_PREFIX,
    MalformedEvent,
    parse_build,
)
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.builds import BuildResult

if TYPE_CHECKING:
    from google.cloud.devtools.cloudbuild_v1 import Build, CloudBuildClient

COMPILE_MODULE = "experiments_platform.pipeline.compile"
SUBMIT_MODULE = "experiments_platform.adapters.vertex_pipelines"
COMPILED_PATH = "/workspace/pipeline.json"
PLATFORM_TAG = "experiments-platform"
BUILD_TIMEOUT_S = 1800
QUEUE_TTL_S = 3600

STEPS: tuple[dict[str, Any], ...] = (
    {
        "id": "compile",
        "name": "${_COMPILER_IMAGE}",
        "entrypoint": "python",
        "args": ["-m", COMPILE_MODULE, "--spec-uri", "${_SPEC_URI}", "--output", COMPILED_PATH],
    },
    {
        "id": "submit",
        "name": "${_COMPILER_IMAGE}",
        "entrypoint": "python",
        "args": ["-m", SUBMIT_MODULE, "submit", "--experiment-id", "${_EXPERIMENT_ID}", "--compiled", COMPILED_PATH],
        "wait_for": ["compile"],
    },
)
"""The build steps (Cloud Build field names in snake case), with ``${_NAME}`` substitutions."""

STEP_ENV: tuple[str, ...] = (
    "TF_USE_LEGACY_KERAS=1",
    "PLATFORM_SERVICE=cloud-build",
    "PLATFORM_GCP_PROJECT=${PROJECT_ID}",
    "PLATFORM_GCP_REGION=${_REGION}",
    "PLATFORM_PIPELINE_SERVICE=vertex",
    "PLATFORM_BLOB_STORE=gcs",
    "PLATFORM_WAREHOUSE=bigquery",
    "PLATFORM_PIPELINE_ROOT=${_PIPELINE_ROOT}",
    "PLATFORM_ARTIFACTS_URI=${_ARTIFACTS_URI}",
    "PLATFORM_STAGING_URI=${_STAGING_URI}",
    "PLATFORM_PIPELINE_IMAGE=${_PIPELINE_IMAGE}",
    "PLATFORM_PIPELINE_SERVICE_ACCOUNT=${_PIPELINE_SERVICE_ACCOUNT}",
    "PLATFORM_MLFLOW_TRACKING_URI=${_MLFLOW_TRACKING_URI}",
)
"""Environment of every step: the ``PLATFORM_*`` settings the compile and submit steps read."""

_SPEC_URI = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,221}/[^\s\"'$`\\]+$")
_EXPERIMENT_ID = re.compile(r"^[a-z0-9]{1,63}$")

log = get_logger(__name__)


def _default_client() -> CloudBuildClient:
    from google.cloud.devtools import cloudbuild_v1

    return cloudbuild_v1.CloudBuildClient()


class CloudBuildService:
    """Builds in ``projects/{project}/locations/{region}``, run as the build service account."""

    def __init__(
        self,
        *,
        project: str,
        region: str,
        service_account: str,
        substitutions: dict[str, str],
        client_factory: Callable[[], CloudBuildClient] | None = None,
        retry_first_wait_s: float = 0.5,
    ) -> None:
        self.project = project
        self.region = region
        self.service_account = service_account
        self.substitutions = dict(substitutions)
        self._client_factory = client_factory or _default_client
        self._client: CloudBuildClient | None = None
        self.retry_first_wait_s = retry_first_wait_s

    @classmethod
    def from_settings(
        cls, settings: Settings, client_factory: Callable[[], CloudBuildClient] | None = None
    ) -> CloudBuildService:
        required = {
            "PLATFORM_GCP_PROJECT": settings.gcp_project,
            "PLATFORM_COMPILER_IMAGE": settings.compiler_image,
            "PLATFORM_PIPELINE_IMAGE": settings.pipeline_image,
            "PLATFORM_PIPELINE_ROOT": settings.pipeline_root,
            "PLATFORM_ARTIFACTS_URI": settings.artifacts_uri,
            "PLATFORM_STAGING_URI": settings.staging_uri,
            "PLATFORM_PIPELINE_SERVICE_ACCOUNT": settings.pipeline_service_account,
            "PLATFORM_BUILD_SERVICE_ACCOUNT": settings.build_service_account,
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ConfigurationError(f"the Cloud Build service needs {', '.join(missing)}")
        for name in ("PLATFORM_PIPELINE_ROOT", "PLATFORM_ARTIFACTS_URI", "PLATFORM_STAGING_URI"):
            if not str(required[name]).startswith("gs://"):
                raise ConfigurationError(f"{name} must be a gs:// URI for Cloud Build, got {required[name]!r}")
        return cls(
            project=str(settings.gcp_project),
            region=settings.gcp_region,
            service_account=str(settings.build_service_account),
            substitutions={
                "_REGION": settings.gcp_region,
                "_COMPILER_IMAGE": str(settings.compiler_image),
                "_PIPELINE_IMAGE": str(settings.pipeline_image),
                "_PIPELINE_ROOT": str(settings.pipeline_root),
                "_ARTIFACTS_URI": str(settings.artifacts_uri),
                "_STAGING_URI": str(settings.staging_uri),
                "_PIPELINE_SERVICE_ACCOUNT": str(settings.pipeline_service_account),
                "_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
            },
            client_factory=client_factory,
        )

    @property
    def client(self) -> CloudBuildClient:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    def build_name(self, build_id: str) -> str:
        return f"{self.parent}/builds/{build_id}"

    def build(self, experiment_id: str, spec_uri: str) -> Build:
        """The ``Build`` request message for one experiment."""
        from google.cloud.devtools import cloudbuild_v1
        from google.protobuf import duration_pb2

        if not _EXPERIMENT_ID.match(experiment_id):
            raise InvalidInput(
                f"experiment id {experiment_id!r} cannot tag a build: use 1-63 lowercase letters or digits",
                field="experiment_id",
            )
        if not _SPEC_URI.match(spec_uri):
            raise InvalidInput(f"spec URI {spec_uri!r} must be a gs:// object URI", field="spec_uri")
        Logging = cloudbuild_v1.BuildOptions.LoggingMode  # noqa: N806
        return cloudbuild_v1.Build(
            steps=[cloudbuild_v1.BuildStep(**step) for step in STEPS],
            substitutions={**self.substitutions, EXPERIMENT_SUBSTITUTION: experiment_id, "_SPEC_URI": spec_uri},
            tags=[PLATFORM_TAG, f"{EXPERIMENT_TAG_PREFIX}{experiment_id}"],
            service_account=f"projects/{self.project}/serviceAccounts/{self.service_account}",
            options=cloudbuild_v1.BuildOptions(env=list(STEP_ENV), logging=Logging.CLOUD_LOGGING_ONLY),
            timeout=duration_pb2.Duration(seconds=BUILD_TIMEOUT_S),
            queue_ttl=duration_pb2.Duration(seconds=QUEUE_TTL_S),
        )

    def start(self, experiment_id: str, spec_uri: str) -> str:
        from google.api_core import exceptions

        build = self.build(experiment_id, spec_uri)
        operation = call_with_retries(
            lambda: self.client.create_build(
                parent=self.parent, project_id=self.project, build=build, retry=None, timeout=API_TIMEOUT_S
            ),
            f"start the compile build of experiment {experiment_id}",
            first_wait_s=self.retry_first_wait_s,
            retry_on=(exceptions.ServiceUnavailable, exceptions.TooManyRequests),
        )
        build_id = str(operation.metadata.build.id)
        log.info("compile build started", extra=fields(experiment_id=experiment_id, cloud_build_id=build_id))
        return build_id

    def cancel(self, build_id: str) -> None:
        from google.api_core import exceptions

        def cancel() -> None:
            try:
                self.client.cancel_build(
                    name=self.build_name(build_id),
                    project_id=self.project,
                    id=build_id,
                    retry=None,
                    timeout=API_TIMEOUT_S,
                )
            except (exceptions.FailedPrecondition, exceptions.NotFound) as exc:
                log.info("build not cancellable", extra=fields(cloud_build_id=build_id, reason=str(exc)))

        call_with_retries(cancel, f"cancel build {build_id}", first_wait_s=self.retry_first_wait_s)

    def _get(self, build_id: str) -> Build:
        return call_with_retries(
            lambda: self.client.get_build(
                name=self.build_name(build_id), project_id=self.project, id=build_id, retry=None, timeout=API_TIMEOUT_S
            ),
            f"read build {build_id}",
            first_wait_s=self.retry_first_wait_s,
        )

    def status(self, build_id: str) -> str:
        return str(self._get(build_id).status.name)

    def result(self, build_id: str) -> BuildResult:
        """GetBuild, read as its notification is (``google_events.parse_build`` on the Build JSON)."""
        from google.protobuf import json_format

        build = self._get(build_id)
        resource = json_format.MessageToDict(type(build).pb(build))
        try:
            finished = parse_build(resource, {"buildId": build_id})
        except MalformedEvent:
            finished = None
        if finished is None:
            return BuildResult(status=str(build.status.name))
        return BuildResult(status=finished.status, pipeline_job_name=finished.pipeline_job_name,
                           log_excerpt=finished.log_excerpt)
