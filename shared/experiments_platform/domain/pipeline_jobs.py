"""Pipeline job identity: one job under the three names it arrives by (issue 13 item 4).

A Vertex AI pipeline job is ``projects/{project}/locations/{region}/pipelineJobs/{job_id}``, but the
project part differs with who names it: ``CreatePipelineJob`` and ``GetPipelineJob`` answer with the
project *number*, the name the platform builds (and the AlreadyExists path of a retried submit) has
the project *id*, and a log-sink entry may carry only the bare job id (``resource.labels.pipeline_job_id``).
The job id is unique within a project and region, so it is the identity: every comparison goes
through ``same_job``, and every API call uses ``full_name`` rebuilt from the settings' project and
region (``rebuild``), whatever name was stored or received.
"""

from __future__ import annotations

import re

EXPERIMENT_LABEL = "experiment_id"
"""The label naming the experiment on its pipeline job and child jobs (custom jobs, Dataflow jobs)."""
JOB_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_FULL_NAME = re.compile(r"^projects/[^/]+/locations/[^/]+/pipelineJobs/(?P<job_id>[^/]+)$")


def job_id(job_name: str) -> str:
    """The job id of a full job name (any project form) or of a bare job id."""
    name = job_name.strip().rstrip("/")
    match = _FULL_NAME.match(name)
    return match.group("job_id") if match else name.rsplit("/", 1)[-1]


def same_job(first: str | None, second: str | None) -> bool:
    """Whether two names (full with project id or number, or bare ids) name the same job."""
    if not first or not second:
        return False
    return job_id(first) == job_id(second)


def full_name(project: str, location: str, job_id_: str) -> str:
    """``projects/{project}/locations/{location}/pipelineJobs/{job_id}``; the id must be Vertex-valid."""
    if not JOB_ID.match(job_id_):
        raise ValueError(f"pipeline job id {job_id_!r} must match [a-z0-9][a-z0-9-]{{0,127}}")
    return f"projects/{project}/locations/{location}/pipelineJobs/{job_id_}"


def rebuild(project: str, location: str, job_name: str) -> str:
    """The full name for an API call in ``project``/``location``, from any name of the job."""
    return full_name(project, location, job_id(job_name))
