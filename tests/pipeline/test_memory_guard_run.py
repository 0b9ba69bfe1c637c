"""The memory guard of local runs (issue 10 section 2) on a real quick test: a real pipeline worker
(TensorFlow, TFX and Beam imported) running a real compiled pipeline, under a memory limit lower than
the worker needs, is stopped by the guard, and the experiment fails as out of memory with its peak
(OUT_OF_MEMORY), not as an unknown SIGKILL. The run is tiny (50 MovieLens users, 1 epoch)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from experiments_platform.adapters.local_builds import LocalBuildService
from experiments_platform.adapters.local_pipelines import LocalPipelineService
from experiments_platform.adapters.memory_guard import group_rss_bytes
from experiments_platform.config import Settings
from experiments_platform.domain import error_codes
from experiments_platform.domain.error_patterns import classify
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.status import Stage
from experiments_platform.events.google_events import job_id_of
from experiments_platform.events.messages import PipelineJobStateChanged, Topics
from fakes import RecordingBus

from .factories import sample_spec

pytestmark = pytest.mark.e2e

LIMIT_GIB = 0.3
"""Below what a pipeline worker holds once TensorFlow and TFX are imported (about 0.8 GiB here)."""


def test_a_real_run_over_its_memory_limit_fails_as_out_of_memory_with_its_peak(tmp_path: Path, movielens_dir: Path,
                                                                                  wheel_cache: Path) -> None:
    bus = RecordingBus()
    settings = Settings(data_dir=movielens_dir, tfx_python=sys.executable, local_run_memory_gib=LIMIT_GIB,
                        pipeline_idle_workers=0)
    pipelines = LocalPipelineService(settings, bus)
    builds = LocalBuildService(settings, bus, pipelines)
    try:
        spec = sample_spec(movielens_dir, wheel_cache, "http://127.0.0.1:9", "oomguard1",
                           ModelConfig(name="ids"), epochs=1)
        build_id = builds.start(spec.experiment_id, spec.artifacts.spec)
        assert builds.wait(build_id, timeout=300) == "SUCCESS", builds.logs_root / spec.experiment_id
        job = builds.result(build_id).pipeline_job_name
        assert pipelines.wait(job, timeout=300) == "PIPELINE_STATE_FAILED"
        record = pipelines.jobs.read(job_id_of(job)) or {}
    finally:
        pipelines.close()

    assert record["exit_code"] == -9
    assert group_rss_bytes(int(record["pid"])) == 0, "the worker's whole process group was stopped"
    error = record["error"]
    assert "ran out of memory (peak " in error and f"a local run may hold {LIMIT_GIB:.1f} GiB" in error, error
    failed = [m for m in bus.typed(Topics.PIPELINE_STATE)
              if isinstance(m, PipelineJobStateChanged) and m.state == "PIPELINE_STATE_FAILED"]
    assert [m.error_message for m in failed] == [error]
    classified = classify(failed[0].error_message, Stage.EXAMPLES)  # as lifecycle.job_changed fails the experiment
    assert classified.code == error_codes.OUT_OF_MEMORY.code
    peak = float(classified.excerpt.split("ran out of memory (peak ", 1)[1].split(" GiB", 1)[0])
    assert peak > LIMIT_GIB
