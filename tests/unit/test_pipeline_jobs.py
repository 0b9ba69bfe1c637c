"""Pipeline job identity (issue 13 item 4): the job id is the identity, whatever project form names it."""

from __future__ import annotations

import pytest
from experiments_platform.domain import pipeline_jobs

JOB = "qt-exp1-20260101120000"
BY_ID = f"projects/demo-project/locations/europe-west1/pipelineJobs/{JOB}"
BY_NUMBER = f"projects/123456789012/locations/europe-west1/pipelineJobs/{JOB}"


@pytest.mark.parametrize("name", [BY_ID, BY_NUMBER, JOB, f"{BY_NUMBER}/", f" {JOB} "])
def test_every_form_of_a_job_name_has_the_same_job_id(name: str) -> None:
    assert pipeline_jobs.job_id(name) == JOB


def test_the_names_vertex_the_platform_and_the_log_sink_use_are_one_job() -> None:
    assert pipeline_jobs.same_job(BY_NUMBER, BY_ID)  # GetPipelineJob's answer vs the AlreadyExists path
    assert pipeline_jobs.same_job(JOB, BY_NUMBER)  # resource.labels.pipeline_job_id vs the stored name
    assert not pipeline_jobs.same_job(BY_ID, BY_ID.replace("120000", "120001"))
    assert not pipeline_jobs.same_job(None, BY_ID)
    assert not pipeline_jobs.same_job(BY_ID, "")


def test_api_names_are_rebuilt_from_the_configured_project_and_region() -> None:
    for name in (BY_NUMBER, JOB):
        assert pipeline_jobs.rebuild("demo-project", "europe-west1", name) == BY_ID


def test_an_invalid_job_id_is_refused_with_the_rule() -> None:
    with pytest.raises(ValueError, match=r"must match \[a-z0-9\]"):
        pipeline_jobs.full_name("demo-project", "europe-west1", "Not_Valid")


def test_the_experiments_job_is_recognised_under_each_of_its_names() -> None:
    from experiments_platform.domain import lifecycle
    from experiments_platform.domain.experiment import Experiment

    experiment = Experiment.model_construct(pipeline_job_name=BY_NUMBER)
    assert lifecycle.is_own_job(experiment, BY_ID) and lifecycle.is_own_job(experiment, JOB)
    assert not lifecycle.is_own_job(experiment, BY_ID.replace("120000", "120001"))
