"""MLflow tracking from the trainer: wait for the server, then batch every write.

The server may be cold (Cloud Run) or still starting: ``wait_for_tracking_server`` polls its
``/health`` endpoint with bounded exponential backoff and raises ``TrackingUnavailable`` naming
the URI when it never answers, so a run fails before training instead of training untracked.
Writes: one ``log_batch`` of params at the start, one per epoch, a few at the end.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from experiments_platform.adapters.mlflow_auth import auth_for, use_google_id_tokens
from experiments_platform.domain.pipeline_spec import MlflowTarget
from experiments_platform.errors import PlatformError
from experiments_platform.jsonlog import fields, get_logger

log = get_logger(__name__)
MAX_PARAM_LENGTH = 500


class TrackingUnavailable(PlatformError):
    code = "MLFLOW_UNREACHABLE"
    status = 503


def wait_for_tracking_server(tracking_uri: str, max_wait_s: float = 60.0, request_timeout_s: float = 10.0) -> float:
    """Block until an http(s) tracking server answers ``/health``; return the seconds waited.

    Other URIs (``file:``, ``sqlite:``) are local stores and need no waiting.
    """
    if not tracking_uri.startswith(("http://", "https://")):
        return 0.0
    started = time.monotonic()
    health = tracking_uri.rstrip("/") + "/health"

    def ping() -> None:
        response = requests.get(health, timeout=request_timeout_s, auth=auth_for(health))
        if response.status_code >= 500:
            raise requests.ConnectionError(f"HTTP {response.status_code}")
        response.raise_for_status()

    try:
        for attempt in Retrying(
            stop=stop_after_delay(max_wait_s),
            wait=wait_exponential(multiplier=0.5, max=8),
            retry=retry_if_exception_type((requests.ConnectionError, requests.Timeout)),
        ):
            with attempt:
                ping()
    except (RetryError, requests.RequestException) as exc:
        cause = exc.last_attempt.exception() if isinstance(exc, RetryError) else exc
        raise TrackingUnavailable(
            f"MLflow tracking server {tracking_uri} did not answer {health} within {max_wait_s:.0f} s "
            f"({cause}); start it (`mlflow server --workers 1 ...`) or fix PLATFORM_MLFLOW_TRACKING_URI",
            field="mlflow.tracking_uri",
        ) from None
    waited = time.monotonic() - started
    log.info("MLflow tracking server ready", extra=fields(tracking_uri=tracking_uri, waited_s=round(waited, 2)))
    return waited


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 1] + "…"


class RunLogger:
    """One MLflow run, written in batches."""

    def __init__(self, target: MlflowTarget, tags: Mapping[str, str], max_wait_s: float = 60.0) -> None:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        use_google_id_tokens(target.tracking_uri)
        wait_for_tracking_server(target.tracking_uri, max_wait_s)
        self.client = MlflowClient(tracking_uri=target.tracking_uri)
        experiment = self.client.get_experiment_by_name(target.experiment_name)
        if experiment is None:
            try:
                experiment_id = self.client.create_experiment(target.experiment_name)
            except MlflowException:
                experiment = self.client.get_experiment_by_name(target.experiment_name)
                if experiment is None:
                    raise
                experiment_id = experiment.experiment_id
        else:
            experiment_id = experiment.experiment_id
        run = self.client.create_run(experiment_id, run_name=target.run_name, tags=dict(tags))
        self.run_id: str = run.info.run_id
        self.experiment_id: str = experiment_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        self.client.log_batch(self.run_id, params=[Param(k, _param_value(v)) for k, v in sorted(params.items())])

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in sorted(metrics.items())]
        for start in range(0, len(batch), 1000):
            self.client.log_batch(self.run_id, metrics=batch[start:start + 1000])

    def log_artifact(self, path: str) -> None:
        self.client.log_artifact(self.run_id, path)

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status=status)
