"""The compute a pipeline's tasks start outside the pipeline job (issue 13 item 6).

Cancelling a Vertex AI pipeline job stops its tasks' containers, not what they started: the
Trainer's Vertex AI custom job (``tfx.extensions.google_cloud_ai_platform.Trainer`` waits on it)
and the Dataflow jobs of the data stages when they run on Dataflow (decision 080). Both carry the
experiment id as a label (``pipeline.definition``: the custom job's ``labels``, Beam's ``--labels``),
so they are found by it and cancelled with the pipeline:

* custom jobs: ``JobService.ListCustomJobs`` with ``filter=labels.experiment_id="{id}"``, then
  ``CancelCustomJob`` for each active one (asynchronous: the job turns JOB_STATE_CANCELLING, then
  JOB_STATE_CANCELLED);
* Dataflow jobs: ``GET v1b3/projects/{p}/locations/{r}/jobs?filter=ACTIVE`` (the REST API; there is
  no Dataflow client among the services' requirements), matched by ``labels``, then ``PUT .../jobs/{id}``
  with ``requestedState: JOB_STATE_CANCELLED`` (needs ``dataflow.jobs.cancel``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from experiments_platform.adapters._shared import API_TIMEOUT_S, call_with_retries
from experiments_platform.events.google_events import EXPERIMENT_LABEL
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.pipelines import ChildJob

log = get_logger(__name__)

CUSTOM_JOB = "Vertex AI custom job"
DATAFLOW_JOB = "Dataflow job"
CUSTOM_JOB_ENDED = frozenset({"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED",
                              "JOB_STATE_PARTIALLY_SUCCEEDED"})
DATAFLOW_ENDED = frozenset({"JOB_STATE_DONE", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_UPDATED",
                            "JOB_STATE_DRAINED"})
STOPPING = frozenset({"JOB_STATE_CANCELLING", "JOB_STATE_DRAINING"})
"""Already asked to stop: listed as active until they end, not asked again."""
DATAFLOW_ENDPOINT = "https://dataflow.googleapis.com"


def _default_jobs_client(region: str) -> Any:
    from google.cloud import aiplatform_v1

    return aiplatform_v1.JobServiceClient(client_options={"api_endpoint": f"{region}-aiplatform.googleapis.com"})


def _default_session() -> Any:
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return AuthorizedSession(credentials)


class VertexChildJobs:
    """Child jobs of one project and region, by experiment label."""

    def __init__(self, project: str, region: str, *, jobs_client_factory: Callable[[], Any] | None = None,
                 session_factory: Callable[[], Any] | None = None, dataflow_endpoint: str = DATAFLOW_ENDPOINT,
                 retry_first_wait_s: float = 0.5) -> None:
        self.project = project
        self.region = region
        self._jobs_client_factory = jobs_client_factory or (lambda: _default_jobs_client(region))
        self._session_factory = session_factory or _default_session
        self._jobs_client: Any = None
        self._session: Any = None
        self.dataflow_endpoint = dataflow_endpoint.rstrip("/")
        self.retry_first_wait_s = retry_first_wait_s

    @property
    def jobs_client(self) -> Any:
        if self._jobs_client is None:
            self._jobs_client = self._jobs_client_factory()
        return self._jobs_client

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    def find(self, experiment_id: str) -> list[ChildJob]:
        return [*self._custom_jobs(experiment_id), *self._dataflow_jobs(experiment_id)]

    def cancel(self, experiment_id: str) -> list[ChildJob]:
        found = self.find(experiment_id)
        for child in found:
            if not child.active or child.state in STOPPING:
                continue
            log.info("cancelling a child job of the experiment", extra=fields(
                experiment_id=experiment_id, child_kind=child.kind, child_job=child.name, state=child.state))
            if child.kind == CUSTOM_JOB:
                self._cancel_custom_job(child.name)
            else:
                self._cancel_dataflow_job(child.name)
        return found

    def _custom_jobs(self, experiment_id: str) -> list[ChildJob]:
        parent = f"projects/{self.project}/locations/{self.region}"
        label_filter = f'labels.{EXPERIMENT_LABEL}="{experiment_id}"'
        jobs = call_with_retries(
            lambda: list(self.jobs_client.list_custom_jobs(request={"parent": parent, "filter": label_filter},
                                                           retry=None, timeout=API_TIMEOUT_S)),
            "list the experiment's Vertex AI custom jobs", first_wait_s=self.retry_first_wait_s)
        return [ChildJob(kind=CUSTOM_JOB, name=str(job.name), state=str(job.state.name),
                         active=str(job.state.name) not in CUSTOM_JOB_ENDED) for job in jobs]

    def _cancel_custom_job(self, name: str) -> None:
        from google.api_core import exceptions

        def cancel() -> None:
            try:
                self.jobs_client.cancel_custom_job(name=name, retry=None, timeout=API_TIMEOUT_S)
            except (exceptions.FailedPrecondition, exceptions.NotFound) as exc:
                log.info("custom job not cancellable", extra=fields(child_job=name, reason=str(exc)))

        call_with_retries(cancel, f"cancel Vertex AI custom job {name}", first_wait_s=self.retry_first_wait_s)

    def _jobs_url(self) -> str:
        return f"{self.dataflow_endpoint}/v1b3/projects/{self.project}/locations/{self.region}/jobs"

    def _dataflow_jobs(self, experiment_id: str) -> list[ChildJob]:
        found: list[ChildJob] = []
        token: str | None = None
        while True:
            params = {"filter": "ACTIVE", **({"pageToken": token} if token else {})}
            answer = self.session.get(self._jobs_url(), params=params, timeout=API_TIMEOUT_S)
            answer.raise_for_status()
            body = answer.json()
            for job in body.get("jobs") or []:
                if (job.get("labels") or {}).get(EXPERIMENT_LABEL) != experiment_id:
                    continue
                state = str(job.get("currentState", "JOB_STATE_UNKNOWN"))
                found.append(ChildJob(kind=DATAFLOW_JOB, name=str(job["id"]), state=state,
                                      active=state not in DATAFLOW_ENDED))
            token = body.get("nextPageToken")
            if not token:
                return found

    def _cancel_dataflow_job(self, job_id: str) -> None:
        answer = self.session.put(f"{self._jobs_url()}/{job_id}", json={"requestedState": "JOB_STATE_CANCELLED"},
                                  timeout=API_TIMEOUT_S)
        if answer.status_code in (400, 404, 409):  # ended meanwhile, or no longer known: nothing runs
            log.info("Dataflow job not cancellable", extra=fields(child_job=job_id, reason=answer.text[:300]))
            return
        answer.raise_for_status()
