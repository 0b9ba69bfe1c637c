"""A pipeline worker that dies without reporting a failure: the failure text says how and shows its log.

Killed for real (SIGKILL, as ``kill -9`` or the kernel's out-of-memory killer send it), with a
stand-in worker process that speaks the worker's protocol (reads a request, writes a line to
the request's log as the real worker's output does, reports Trainer RUNNING) and then waits, so
the test needs no TensorFlow. The real worker killed mid-Train is in the failure corpus
(``tests/fixtures/failures/worker_killed``).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from experiments_platform.adapters.local_builds import LocalBuildService
from experiments_platform.adapters.local_jobs import wait_until
from experiments_platform.adapters.local_pipelines import LocalPipelineService
from experiments_platform.adapters.local_workers import how_it_ended, log_tail
from experiments_platform.config import Settings
from experiments_platform.domain.error_patterns import classify
from experiments_platform.domain.status import Stage
from experiments_platform.events.google_events import job_id_of
from experiments_platform.events.messages import BuildFinished, PipelineJobStateChanged, Topics
from experiments_platform.pipeline.run_local import failure_text
from fakes import RecordingBus

LAST_WORDS = "2026-12-03 21:31:33,120 INFO absl: Training model."

STAND_IN = f"""#!{sys.executable}
import json, sys, time
request = json.loads(sys.stdin.readline())
with open(request["log"], "a") as log:
    log.write("INFO:absl:Running component\\n{LAST_WORDS}\\n")
if request["kind"] == "run":
    print(json.dumps({{"type": "task", "component": "Trainer", "state": "RUNNING",
                      "time": "2026-01-01T00:00:00+00:00"}}), flush=True)
time.sleep(120)
"""


def services(tmp_path: Path) -> tuple[LocalPipelineService, LocalBuildService]:
    worker = tmp_path / "stand-in-worker"
    worker.write_text(STAND_IN)
    worker.chmod(0o755)
    settings = Settings(data_dir=tmp_path, tfx_python=str(worker), pipeline_idle_workers=0)
    pipelines = LocalPipelineService(settings, RecordingBus())
    return pipelines, LocalBuildService(settings, pipelines.bus, pipelines)


def test_how_a_worker_ended_in_words(tmp_path: Path):
    assert how_it_ended(-9) == "was killed by SIGKILL (signal 9)"
    assert how_it_ended(-6) == "was killed by SIGABRT (signal 6)"
    assert how_it_ended(1) == "exited with code 1"
    assert "without a result" in how_it_ended(None)
    log = tmp_path / "pipeline.log"
    assert log_tail(log) == ""
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert log_tail(log, lines=3) == "line 97\nline 98\nline 99"
    log.write_text("x" * 100_000 + "\nlast line\n")
    assert log_tail(log) == "x" * 200 + " …\nlast line", "one huge line does not hide the last ones"


def test_a_worker_killed_in_train_fails_the_job_with_the_signal_the_task_and_its_last_words(tmp_path: Path):
    pipelines, _ = services(tmp_path)
    compiled = tmp_path / "pipeline.json"
    compiled.write_text("{}")
    name = pipelines.submit("exp1", compiled.as_uri())
    key = job_id_of(name)
    wait_until(lambda: (pipelines.jobs.read(key) or {}).get("running_task") == "Trainer", 30, 0.05)
    os.kill(int(pipelines.jobs.read(key)["pid"]), signal.SIGKILL)
    assert pipelines.wait(name, timeout=30) == "PIPELINE_STATE_FAILED"

    error = pipelines.jobs.read(key)["error"]
    assert "running Trainer was killed by SIGKILL (signal 9)" in error
    assert error.endswith(LAST_WORDS), "the worker's last log lines travel with the failure"
    failed = [m for m in pipelines.bus.typed(Topics.PIPELINE_STATE)
              if isinstance(m, PipelineJobStateChanged) and m.state == "PIPELINE_STATE_FAILED"]
    assert [m.error_message for m in failed] == [error]
    assert classify(error, Stage.TRAIN).code == "WORKER_KILLED", "a killed worker is no longer UNKNOWN"


def test_a_worker_killed_while_compiling_fails_the_build_with_the_signal(tmp_path: Path):
    pipelines, builds = services(tmp_path)
    spec = tmp_path / "spec.json"
    spec.write_text("{}")
    build_id = builds.start("exp1", spec.as_uri())
    compile_log = tmp_path / "logs" / "exp1" / "Compile.log"
    wait_until(lambda: compile_log.exists() and LAST_WORDS in compile_log.read_text(), 30, 0.05)
    os.kill(int(builds.builds.read(build_id)["process"]["pid"]), signal.SIGKILL)
    assert builds.wait(build_id, timeout=30) == "FAILURE"

    excerpt = builds.result(build_id).log_excerpt
    assert "compile step: the pipeline worker" in excerpt and "killed by SIGKILL (signal 9)" in excerpt
    assert excerpt.endswith(LAST_WORDS)
    finished = [m for m in pipelines.bus.typed(Topics.BUILDS) if isinstance(m, BuildFinished)]
    assert [m.status for m in finished] == ["WORKING", "FAILURE"]
    assert classify(excerpt, Stage.COMPILE).code == "WORKER_KILLED"


def test_a_task_failure_names_where_it_was_raised():
    def preprocessing_fn(inputs: dict[str, int]) -> int:
        return inputs["user_id"]

    try:
        preprocessing_fn({})
    except KeyError as exc:
        text = failure_text(exc)
    assert text == "KeyError: 'user_id'\n  raised in preprocessing_fn (test_worker_failures.py:" + \
        text.rsplit(":", 1)[1]
    long = failure_text(ValueError("x" * 5000), limit=100)
    assert len(long) == 100 and long.startswith("x") and long.endswith("x"), "no frame: the end of the message"
