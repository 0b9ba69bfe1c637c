"""MLflow adapter of ``ports.tracker.ExperimentTracker`` (``MlflowClient`` on the configured tracking URI).

``history`` fetches the run once and then the per-step history of its metrics, a few metrics at a
time in parallel (one ``metrics/get-history`` request each; MLflow has no endpoint returning every
metric of a run in one request). The MLflow client retries HTTP failures itself
(MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_TIMEOUT); ``check_reachable`` does not rely on
that and probes ``/health`` with its own short, bounded backoff.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import requests
import tenacity

from ..config import Settings
from ..errors import InvalidInput, NotFound, TransientError

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

HISTORY_PARALLELISM = 4


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
    ) -> None:
        self.tracking_uri = tracking_uri.rstrip("/")
        self.ui_base_url = (ui_base_url or self.tracking_uri).rstrip("/")
        self.reach_attempts = reach_attempts
        self.reach_initial_wait_s = reach_initial_wait_s
        self.reach_max_wait_s = reach_max_wait_s
        self.probe_timeout_s = probe_timeout_s
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> MlflowTracker:
        return cls(settings.mlflow_tracking_uri, settings.mlflow_ui_url)

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    @property
    def is_http(self) -> bool:
        return urlparse(self.tracking_uri).scheme in ("http", "https")

    def _probe(self) -> None:
        if self.is_http:
            response = requests.get(f"{self.tracking_uri}/health", timeout=self.probe_timeout_s)
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
            raise TransientError(f"MLflow {what} failed at {self.tracking_uri}: {exc.message}") from exc
        except (requests.RequestException, OSError) as exc:
            raise TransientError(f"MLflow tracking server {self.tracking_uri} failed on {what}: {exc}") from exc

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
        return f"{self.ui_base_url}/#/experiments/{experiment_id}/runs/{run_id}"

    def ui_url(self, run_id: str | None = None) -> str:
        if not run_id:
            return self.ui_base_url + "/"
        return self._run_url(self._run(run_id).info.experiment_id, run_id)
