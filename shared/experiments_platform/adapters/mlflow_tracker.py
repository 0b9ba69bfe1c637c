"""MLflow adapter of ``ports.tracker.ExperimentTracker`` (``MlflowClient`` on the configured tracking URI).

``history`` fetches the run once and then the per-step history of its metrics, a few metrics at a
time in parallel (one ``metrics/get-history`` request each; MLflow has no endpoint returning every
metric of a run in one request). The MLflow client retries HTTP failures itself; its defaults
(7 retries with growing backoff, 120 s per request) would keep a UI request waiting for minutes
when MLflow is down, so the adapter sets MLflow's ``MLFLOW_HTTP_REQUEST_*`` variables of this
process from ``PLATFORM_MLFLOW_HTTP_MAX_RETRIES`` and ``PLATFORM_MLFLOW_HTTP_TIMEOUT_S`` (``HTTP_VARIABLES``;
subprocesses that want MLflow's defaults drop them). An unreachable server is a ``TransientError``
naming the URI and those limits. On an https tracking URI (Cloud Run) every request carries a
Google ID token (``mlflow_auth``). ``check_reachable`` probes ``/health`` with its own short,
bounded backoff. ``deliver`` hands MLflow a run's tracking journal (``domain.tracking``): the
trainer's background delivery and reconcile's sync both go through it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import requests
import tenacity

from experiments_platform.adapters import mlflow_auth
from experiments_platform.adapters.id_tokens import IdTokens
from experiments_platform.config import Settings
from experiments_platform.domain.tracking import RUN_KEY_TAG, JournalEntry, TrackingJournal
from experiments_platform.errors import ConfigurationError, InvalidInput, NotFound, PlatformError, TransientError
from experiments_platform.ports.tracker import DeliveryStopped

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

HISTORY_PARALLELISM = 4
BATCH_METRICS = 1000
"""MLflow's limit of metrics in one ``log_batch``."""
MAX_PARAM_LENGTH = 500
BACKOFF_FACTOR_S = 1
BACKOFF_JITTER_S = 0.5
ML_WORKFLOW = "workflowType=machine_learning"
"""MLflow 3's UI opens in its GenAI view (traces) unless asked for the machine-learning one."""
EXPERIMENT_KIND_TAG = {"mlflow.experimentKind": "custom_model_development"}
"""Marks the MLflow experiments the platform creates as model development, not GenAI, for MLflow's UI."""
HTTP_VARIABLES = ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT",
                  "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER")


class MlflowTracker:
    def __init__(
        self,
        tracking_uri: str,
        ui_base_url: str | None = None,
        reach_attempts: int = 5,
        reach_initial_wait_s: float = 0.5,
        reach_max_wait_s: float = 8.0,
        probe_timeout_s: float = 5.0,
        client: MlflowClient | None = None,
        http_max_retries: int = 2,
        http_timeout_s: int = 10,
        id_tokens: IdTokens | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri.rstrip("/")
        self.ui_base_url = (ui_base_url or self.tracking_uri).rstrip("/")
        self.reach_attempts = reach_attempts
        self.reach_initial_wait_s = reach_initial_wait_s
        self.reach_max_wait_s = reach_max_wait_s
        self.probe_timeout_s = probe_timeout_s
        self.http_max_retries = http_max_retries
        self.http_timeout_s = http_timeout_s
        self.id_tokens = id_tokens
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> MlflowTracker:
        return cls(settings.mlflow_tracking_uri, settings.mlflow_ui_url,
                   http_max_retries=settings.mlflow_http_max_retries, http_timeout_s=settings.mlflow_http_timeout_s)

    def _prepare_process(self) -> None:
        """MLflow reads its HTTP limits and auth provider from the environment on every request."""
        limits = (self.http_max_retries, self.http_timeout_s, BACKOFF_FACTOR_S, BACKOFF_JITTER_S)
        os.environ.update({name: str(value) for name, value in zip(HTTP_VARIABLES, limits, strict=True)})
        mlflow_auth.use_google_id_tokens(self.tracking_uri, self.id_tokens)

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._prepare_process()
            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    @property
    def is_http(self) -> bool:
        return urlparse(self.tracking_uri).scheme in ("http", "https")

    def _probe(self) -> None:
        if self.is_http:
            response = requests.get(f"{self.tracking_uri}/health", timeout=self.probe_timeout_s,
                                    auth=mlflow_auth.auth_for(self.tracking_uri, self.id_tokens))
            if response.status_code != 200:
                raise ConnectionError(f"/health answered HTTP {response.status_code}")
        else:
            self.client.search_experiments(max_results=1)

    def check_reachable(self) -> None:
        """Probe the tracking server with bounded exponential backoff; raise ``TransientError`` naming the URI."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.reach_attempts),
            wait=tenacity.wait_exponential(multiplier=self.reach_initial_wait_s, max=self.reach_max_wait_s),
            reraise=True,
        )
        try:
            retrying(self._probe)
        except Exception as exc:  # noqa: BLE001 - any failure to answer means unreachable
            raise TransientError(
                f"MLflow tracking server {self.tracking_uri} is not reachable after {self.reach_attempts} attempts: "
                f"{exc}; start it (mlflow server ...) or fix PLATFORM_MLFLOW_TRACKING_URI",
                details={"tracking_uri": self.tracking_uri},
            ) from exc

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return fn(*args)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
                raise NotFound(f"MLflow {what} does not exist at {self.tracking_uri}", field="run_id") from None
            if exc.error_code == "INVALID_PARAMETER_VALUE":
                raise InvalidInput(f"MLflow rejected {what}: {exc.message}", field="run_id") from None
            if exc.error_code in ("PERMISSION_DENIED", "UNAUTHENTICATED"):
                raise ConfigurationError(
                    f"MLflow tracking server {self.tracking_uri} refused {what} ({exc.error_code}): on Cloud Run "
                    "this service's account needs roles/run.invoker on the MLflow service"
                ) from None
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, (requests.RequestException, OSError)):
                raise self._unreachable(what, cause) from exc
            raise TransientError(f"MLflow {what} failed at {self.tracking_uri}: {exc.message}") from exc
        except (requests.RequestException, OSError) as exc:
            raise self._unreachable(what, exc) from exc

    def _unreachable(self, what: str, cause: BaseException) -> TransientError:
        return TransientError(
            f"MLflow tracking server {self.tracking_uri} did not answer ({type(cause).__name__}) for {what} in "
            f"{self.http_max_retries + 1} attempts of at most {self.http_timeout_s} s; start it or fix "
            "PLATFORM_MLFLOW_TRACKING_URI (limits: PLATFORM_MLFLOW_HTTP_MAX_RETRIES, PLATFORM_MLFLOW_HTTP_TIMEOUT_S)",
            details={"tracking_uri": self.tracking_uri},
        )

    def _run(self, run_id: str) -> Any:
        if not isinstance(run_id, str) or not run_id.isalnum():
            raise InvalidInput(f"MLflow run id {run_id!r} is invalid: expected letters and digits", field="run_id")
        return self._call(f"run {run_id}", self.client.get_run, run_id)

    def history(self, run_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every metric of a run: name → [{"step", "value", "timestamp"}] by step (the last value logged per step)."""
        keys = sorted(self._run(run_id).data.metrics)

        def series(key: str) -> list[dict[str, Any]]:
            metrics = self._call(f"history of {key} in run {run_id}", self.client.get_metric_history, run_id, key)
            by_step: dict[int, Any] = {}
            for metric in sorted(metrics, key=lambda m: (m.step, m.timestamp)):
                by_step[metric.step] = metric
            return [{"step": m.step, "value": m.value, "timestamp": m.timestamp} for m in by_step.values()]

        with ThreadPoolExecutor(max_workers=HISTORY_PARALLELISM) as pool:
            return dict(zip(keys, pool.map(series, keys), strict=True))

    def run(self, run_id: str) -> dict[str, Any]:
        run = self._run(run_id)
        return {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "name": run.info.run_name,
            "status": run.info.status,
            "start_time": run.info.start_time,
            "end_time": run.info.end_time,
            "params": dict(run.data.params),
            "metrics": dict(run.data.metrics),
            "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
            "ui_url": self._run_url(run.info.experiment_id, run.info.run_id),
        }

    def _run_url(self, experiment_id: str, run_id: str) -> str:
        # The run's "Model metrics" tab, in MLflow 3's machine-learning view (its default is the GenAI view).
        return f"{self.ui_base_url}/#/experiments/{experiment_id}/runs/{run_id}/model-metrics?{ML_WORKFLOW}"

    def ui_url(self, run_id: str | None = None, experiment_id: str | None = None) -> str:
        if not run_id:
            return f"{self.ui_base_url}/#/experiments?{ML_WORKFLOW}"
        if experiment_id:
            if not (run_id.isalnum() and experiment_id.isalnum()):
                raise InvalidInput(f"MLflow run {run_id!r} of experiment {experiment_id!r}: expected letters and "
                                   "digits", field="run_id")
            return self._run_url(experiment_id, run_id)
        return self._run_url(self._run(run_id).info.experiment_id, run_id)

    # --- delivery of a tracking journal -------------------------------------------------------

    def deliver(self, journal: TrackingJournal, read_blob: Callable[[str], bytes]) -> TrackingJournal:
        progress = journal.model_copy(deep=True)
        try:
            self._deliver(progress, read_blob)
        except PlatformError as exc:
            progress.last_error = exc.message
            raise DeliveryStopped(exc.message, progress) from exc
        progress.last_error = None
        return progress

    def _deliver(self, progress: TrackingJournal, read_blob: Callable[[str], bytes]) -> None:
        from mlflow.entities import Param

        done = progress.delivered
        if progress.run_id is None:
            progress.mlflow_experiment_id, progress.run_id = self._call(
                f"run {progress.key}", self._find_or_create_run, progress)
        run_id = progress.run_id
        if not done.params:
            params = [Param(k, _param_value(v)) for k, v in sorted(progress.params.items())]
            self._call(f"params of run {run_id}", self._log_batch, run_id, params, [])
            done.params = True
        for count, entries in _batches(progress.epochs, done.epochs):
            self._call(f"epochs of run {run_id}", self._log_batch, run_id, [], _metrics(entries))
            done.epochs = count
        if progress.final is not None and not done.final:
            self._call(f"final metrics of run {run_id}", self._log_batch, run_id, [], _metrics([progress.final]))
            done.final = True
        for uri in progress.artifacts:
            if uri not in done.artifacts:
                self._call(f"artifact {uri} of run {run_id}", self._log_blob, run_id, uri, read_blob(uri))
                done.artifacts = [*done.artifacts, uri]
        if progress.status != "RUNNING" and done.status != progress.status:
            self._call(f"end of run {run_id}", self.client.set_terminated, run_id, progress.status, progress.ended_ms)
            done.status = progress.status

    def _find_or_create_run(self, journal: TrackingJournal) -> tuple[str, str]:
        from mlflow.entities import ViewType
        from mlflow.exceptions import MlflowException

        experiment = self.client.get_experiment_by_name(journal.experiment_name)
        if experiment is not None:
            experiment_id = experiment.experiment_id
        else:
            try:
                experiment_id = self.client.create_experiment(journal.experiment_name, tags=EXPERIMENT_KIND_TAG)
            except MlflowException:
                experiment = self.client.get_experiment_by_name(journal.experiment_name)
                if experiment is None:
                    raise
                experiment_id = experiment.experiment_id
        found = self.client.search_runs([experiment_id], filter_string=f"tags.{RUN_KEY_TAG} = '{journal.key}'",
                                        run_view_type=ViewType.ALL, max_results=1)
        if found:
            return experiment_id, found[0].info.run_id
        run = self.client.create_run(experiment_id, start_time=journal.started_ms, run_name=journal.run_name,
                                     tags={**journal.tags, RUN_KEY_TAG: journal.key})
        return experiment_id, run.info.run_id

    # --- model registry ------------------------------------------------------------------------

    def register_model(self, run_id: str, name: str, model_dir: str, *, alias: str | None,
                       tags: Mapping[str, str]) -> str:
        """Log ``model_dir`` (a local SavedModel folder) as the run's ``model`` artifact, register it as a new
        version of ``name`` (created when missing), point ``alias`` at that version (when given), tag the run
        with ``tags``; the version number (decision 072).

        The source is ``runs:/{run}/model``: the tracking server accepts no local path outside a run's
        artifacts, so the version is a copy the registry owns, wherever the Pusher pushed."""
        from mlflow.exceptions import MlflowException

        self._run(run_id)
        self._call(f"model artifact of run {run_id}", self.client.log_artifacts, run_id, model_dir, "model")
        try:
            self.client.create_registered_model(name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                self._call(f"registered model {name}", self.client.get_registered_model, name)
        except (requests.RequestException, OSError) as exc:
            raise self._unreachable(f"registered model {name}", exc) from exc
        version = self._call(f"a version of {name}", self.client.create_model_version, name,
                             f"runs:/{run_id}/model", run_id, dict(tags))
        if alias is not None:
            self.set_model_alias(name, alias, str(version.version))
        for key, value in tags.items():
            self._call(f"tags of run {run_id}", self.client.set_tag, run_id, key, value)
        return str(version.version)

    def set_model_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` of registered model ``name`` at ``version`` (moving it from any other version)."""
        self._call(f"alias {alias} of {name}", self.client.set_registered_model_alias, name, alias, version)

    def model_alias(self, name: str, alias: str) -> dict[str, Any] | None:
        """The version ``alias`` of registered model ``name`` points at (version, source, run id, tags), None when
        the model or the alias does not exist."""
        from mlflow.exceptions import MlflowException

        def lookup() -> Any:
            try:
                return self.client.get_model_version_by_alias(name, alias)
            except MlflowException as exc:
                if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
                    return None
                raise

        version = self._call(f"alias {alias} of {name}", lookup)
        if version is None:
            return None
        return {"name": name, "version": str(version.version), "source": version.source, "run_id": version.run_id,
                "tags": dict(version.tags), "alias": alias}

    def _log_batch(self, run_id: str, params: list[Any], metrics: list[Any]) -> None:
        self.client.log_batch(run_id, metrics=metrics, params=params)

    def _log_blob(self, run_id: str, uri: str, data: bytes) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / uri.rstrip("/").rsplit("/", 1)[-1]
            path.write_bytes(data)
            self.client.log_artifact(run_id, str(path))


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 1] + "…"


def _metrics(entries: list[JournalEntry]) -> list[Any]:
    from mlflow.entities import Metric

    return [Metric(name, value, entry.timestamp_ms, entry.step)
            for entry in entries for name, value in sorted(entry.metrics.items())]


def _batches(epochs: list[JournalEntry], start: int) -> list[tuple[int, list[JournalEntry]]]:
    """The undelivered epochs from ``start`` in batches of whole epochs of at most ``BATCH_METRICS``
    metrics (an epoch with more is a batch of its own), each with the count delivered after it."""
    batches: list[tuple[int, list[JournalEntry]]] = []
    current: list[JournalEntry] = []
    size = 0
    for index in range(start, len(epochs)):
        entry = epochs[index]
        if current and size + len(entry.metrics) > BATCH_METRICS:
            batches.append((index, current))
            current, size = [], 0
        current.append(entry)
        size += len(entry.metrics)
    if current:
        batches.append((len(epochs), current))
    return batches
