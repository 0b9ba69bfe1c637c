"""Provoke each failure class for real and keep what the error classifier received as a fixture.

    .venv/bin/python scripts/provoke_failures.py --list
    .venv/bin/python scripts/provoke_failures.py [--case NAME ...] [--data-dir /tmp/provoke-failures]
        [--port 18090] [--mlflow-port 15090] [--out tests/fixtures/failures] [--cache-dir var/cache]

Every case runs a real quick test through the path a user takes: the all-in-one local stack
(``local.stack.LocalStack``: gateway API, submitter, local build and pipeline runners with their
pipeline-environment worker, status watcher), on the 50-user MovieLens sample or a copy of it,
and breaks it the way it breaks in life: a learning rate that diverges, towers of different
widths, a time split with an empty window, ``kill -9`` of the pipeline worker, an address-space
limit on the worker (``prlimit --as``), MLflow stopped, the worker killed while compiling, a
column dropped or retyped in the data file after the experiment was submitted, a full disk (a
small tmpfs as the pipeline root; needs ``mount``, i.e. root).

The script listens on the stack's bus like the status watcher does and records every failure
event (Cloud Build FAILURE notification, task FAILED, job FAILED) with its text. The text the
classifier received is the one whose ``classify(text, stage)`` reproduces the error stored on the
experiment; it is written with the case to ``{out}/{class}/{case}.json``:

``case``, ``class``, ``how``, ``date``, ``commit``, ``stage``, ``source`` (which event), ``text``
(exactly what ``domain.error_patterns.classify`` received), ``expected_code``, ``recorded`` (the
experiment's status and error as the platform showed them at recording time), ``events`` (every
failure event with its text) and ``logs`` (the tails of the component logs, pipeline.log and
Compile.log, for the features that need more than the event text).

One case at a time (each is a real TFX run; the machine is shared): about 30-90 s each, the
MLflow outage cases a few minutes (the trainer's and MLflow's own retries).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "failures"
TERMINAL = {"completed", "failed", "cancelled"}
LOG_TAIL_LINES = 60
LOG_TAIL_CHARS = 6000
SAMPLE_USERS = 50

# --- the running platform -----------------------------------------------------------------------


@dataclass
class FailureEvent:
    kind: str  # build | task | job
    state: str
    text: str
    task: str | None = None
    stage: str | None = None
    at: float = field(default_factory=time.monotonic)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in {"kind": self.kind, "state": self.state, "task": self.task, "stage": self.stage,
                                  "text": self.text}.items() if v is not None}


class Recorder:
    """Subscribed to the builds and pipeline-state topics: every failure event, per experiment."""

    def __init__(self) -> None:
        self.events: dict[str, list[FailureEvent]] = {}
        self._lock = threading.Lock()

    def subscribe(self, bus: Any, suffix: str) -> None:
        from experiments_platform.events.messages import Topics

        bus.subscribe(Topics.BUILDS, f"failure-recorder-builds-{suffix}", self.on_delivery)
        bus.subscribe(Topics.PIPELINE_STATE, f"failure-recorder-pipeline-{suffix}", self.on_delivery)

    def on_delivery(self, delivery: Any) -> None:
        from experiments_platform.events.google_events import to_message
        from experiments_platform.events.messages import (
            BuildFinished,
            PipelineJobStateChanged,
            PipelineTaskStateChanged,
        )

        message = to_message(delivery.data, delivery.attributes)
        event: FailureEvent | None = None
        if isinstance(message, BuildFinished) and message.status not in ("QUEUED", "WORKING", "SUCCESS", "CANCELLED"):
            event = FailureEvent("build", message.status, message.log_excerpt, stage="compile")
        elif isinstance(message, PipelineTaskStateChanged) and message.state == "FAILED":
            event = FailureEvent("task", message.state, message.error_message, task=message.task_name,
                                 stage=message.stage.value if message.stage else None)
        elif isinstance(message, PipelineJobStateChanged) and message.state == "PIPELINE_STATE_FAILED":
            event = FailureEvent("job", message.state, message.error_message)
        if event is not None and message is not None:
            with self._lock:
                self.events.setdefault(message.experiment_id, []).append(event)

    def of(self, experiment_id: str) -> list[FailureEvent]:
        with self._lock:
            return list(self.events.get(experiment_id, []))


@dataclass
class Run:
    """One case's stack and the helpers a case needs to drive and break it."""

    stack: Any
    recorder: Recorder
    mlflow: Any
    data_dir: Path
    sample: dict[str, Any]
    case: str

    @property
    def url(self) -> str:
        return str(self.stack.url)

    def api(self, method: str, path: str, body: Any = None, expect: int | tuple[int, ...] = (200, 201, 202)) -> Any:
        answer = requests.request(method, f"{self.url}{path}", json=body, timeout=60)
        wanted = (expect,) if isinstance(expect, int) else expect
        if answer.status_code not in wanted:
            raise RuntimeError(f"{method} {path} answered {answer.status_code}: {answer.text[:2000]}")
        return answer.json()

    # datasets ------------------------------------------------------------------------------------

    def sample_dataset(self) -> str:
        """The 50-user MovieLens sample, registered as it is (cached data stages are reused)."""
        return str(self.sample["id"])

    def copy_of_sample(self, select: str = "*", suffix: str = "") -> Path:
        """A fresh Parquet copy of the sample's interactions (its own path: no cached data stages)."""
        import duckdb

        folder = self.data_dir / "warehouse" / "provoke"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{self.case}{suffix}-{datetime.now(timezone.utc):%Y%m%d%H%M%S%f}.parquet"
        source = self.sample["source"]["uri"].removeprefix("file://")
        duckdb.sql(f"COPY (SELECT {select} FROM read_parquet('{source}')) TO '{target}' (FORMAT PARQUET)")
        return target

    def register(self, path: Path, name: str, date_column: str | None = "timestamp") -> str:
        body = {"name": name, "source": {"kind": "file", "uri": path.as_uri()}, "query_id_column": "user_id",
                "candidate_id_column": "item_id", "date_column": date_column}
        return str(self.api("POST", "/api/datasets", body)["id"])

    # experiments ---------------------------------------------------------------------------------

    def start(self, dataset_id: str, *, query_features: list[dict[str, Any]] | None = None,
              candidate_features: list[dict[str, Any]] | None = None, model: dict[str, Any] | None = None,
              parameters: dict[str, Any] | None = None, gateway: str | None = None) -> str:
        """Create the configs and start the experiment (through ``gateway``, default this run's stack)."""
        features = self.api("POST", "/api/feature-configs", {
            "name": f"{self.case} features", "dataset_id": dataset_id,
            "query_features": query_features or [{"column": "user_id", "kind": "id", "embedding_dim": 16}],
            "candidate_features": candidate_features or [{"column": "item_id", "kind": "id", "embedding_dim": 16}],
        })
        params = {"sample_percent": 100, "epochs": 2, "batch_size": 256, "learning_rate": 0.1, **(parameters or {})}
        model_body = {"name": f"{self.case} model", "query_tower_layers": [16], "candidate_tower_layers": [16],
                      "epochs": params["epochs"], "batch_size": params["batch_size"],
                      "learning_rate": params["learning_rate"], **(model or {})}
        model_doc = self.api("POST", "/api/model-configs", model_body)
        answer = requests.post(f"{gateway or self.url}/api/experiments", json={
            "name": f"provoke {self.case}", "dataset_id": dataset_id, "feature_config_id": features["id"],
            "model_config_id": model_doc["id"], "parameters": params,
        }, timeout=60)
        if answer.status_code != 202:
            raise RuntimeError(f"POST /api/experiments answered {answer.status_code}: {answer.text[:2000]}")
        return str(answer.json()["id"])

    def experiment(self, experiment_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/api/experiments/{experiment_id}"))

    def wait_for(self, experiment_id: str, condition: Callable[[dict[str, Any]], bool], what: str,
                 timeout_s: float = 900) -> dict[str, Any]:
        """Poll the experiment until ``condition``; fail when it ends first or the time runs out."""
        deadline = time.monotonic() + timeout_s
        doc: dict[str, Any] = {}
        while time.monotonic() < deadline:
            doc = self.experiment(experiment_id)
            if condition(doc):
                return doc
            if doc.get("status") in TERMINAL:
                raise RuntimeError(f"{self.case}: the experiment ended {doc['status']} before {what}: "
                                   f"{json.dumps(doc.get('error'))[:2000]}")
            time.sleep(0.3)
        raise RuntimeError(f"{self.case}: timed out waiting for {what}; last status {doc.get('status')}")

    def wait_stage(self, experiment_id: str, stage: str, status: str = "running",
                   timeout_s: float = 900) -> dict[str, Any]:
        return self.wait_for(experiment_id, lambda d: d["stages"][stage]["status"] == status,
                             f"stage {stage} {status}", timeout_s)

    def wait_end(self, experiment_id: str, timeout_s: float = 1200) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            doc = self.experiment(experiment_id)
            if doc.get("status") in TERMINAL:
                return doc
            time.sleep(0.5)
        raise RuntimeError(f"{self.case}: experiment {experiment_id} did not end within {timeout_s:.0f} s")

    # processes -----------------------------------------------------------------------------------

    def build_worker_pid(self, experiment_id: str) -> int:
        """The pid of the worker compiling the experiment (from the local build record)."""
        from experiments_platform.adapters.local_jobs import RecordStore

        def pid() -> int | None:
            build_id = self.experiment(experiment_id).get("cloud_build_id")
            record = RecordStore(self.data_dir.resolve() / "builds").read(build_id) if build_id else None
            process = (record or {}).get("process") or {}
            return int(process["pid"]) if process.get("pid") else None

        return wait_value(pid, "the build's worker pid")

    def job_worker_pid(self, experiment_id: str) -> int:
        """The pid of the worker running the experiment's pipeline (from the local job record)."""
        from experiments_platform.adapters.local_jobs import RecordStore
        from experiments_platform.events.google_events import job_id_of

        def pid() -> int | None:
            name = self.experiment(experiment_id).get("pipeline_job_name")
            record = RecordStore(self.data_dir.resolve() / "pipelines" / "jobs").read(job_id_of(name)) if name else None
            return int(record["pid"]) if record and record.get("pid") else None

        return wait_value(pid, "the pipeline job's worker pid")

    def logs_dir(self, experiment_id: str) -> Path:
        return self.data_dir.resolve() / "logs" / experiment_id

    @contextlib.contextmanager
    def stack_process(self) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
        """A second all-in-one stack as its own process on the same data dir (documents, records, logs).

        Its runners are the ones a case kills; this run's stack (same documents) stays up, and its
        reconcile sweep is what notices the experiment whose runner is gone.
        """
        from experiments_platform.local.stack import wait_for_http

        port = self.stack.port + 1
        env = {**os.environ, "PLATFORM_DATA_DIR": str(self.data_dir), "PLATFORM_MLFLOW_TRACKING_URI": self.mlflow.url,
               "PLATFORM_TFX_PYTHON": str(ROOT / ".venv-tfx" / "bin" / "python"),
               "PLATFORM_PIPELINE_IDLE_WORKERS": "0"}
        with (self.data_dir / f"stack-process-{self.case}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "experiments_platform.local.stack", "--port", str(port), "--no-mlflow",
                 "--no-data"], cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", 120, process)
            yield process, f"http://127.0.0.1:{port}"
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=60)


def wait_value(read: Callable[[], int | None], what: str, timeout_s: float = 120) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = read()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def wait_for_file_text(path: Path, text: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{path} did not show {text!r} within {timeout_s:.0f} s")


def kill(pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    """``kill -9`` of one process (the pipeline worker the platform recorded), nothing else."""
    os.kill(pid, sig)


# --- the cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    failure_class: str
    expected_code: str
    how: str
    provoke: Callable[[Run], str]
    settings: dict[str, Any] = field(default_factory=dict)
    needs_root: bool = False
    mounts_tmpfs: str | None = None  # size of a tmpfs mounted as the pipeline root


def huge_learning_rate(run: Run) -> str:
    return run.start(run.sample_dataset(), model={"optimizer": "sgd", "query_tower_layers": [64, 32],
                                                  "candidate_tower_layers": [64, 32]},
                     parameters={"learning_rate": 10.0, "epochs": 5})


def towers_of_different_widths(run: Run) -> str:
    return run.start(run.sample_dataset(), model={"query_tower_layers": [32], "candidate_tower_layers": [16]})


def strict_time_split(train_days: int, val_days: int, test_days: int) -> Callable[[Run], str]:
    def provoke(run: Run) -> str:
        dataset = run.register(run.copy_of_sample(), f"{run.case} sample")
        return run.start(dataset, parameters={"split": {
            "strategy": "strict_time", "date_column": "timestamp", "train_days": train_days, "val_days": val_days,
            "test_days": test_days}})

    return provoke


def worker_killed_in(stage: str, fresh_data: bool, sig: signal.Signals = signal.SIGKILL) -> Callable[[Run], str]:
    def provoke(run: Run) -> str:
        dataset = run.register(run.copy_of_sample(), f"{run.case} sample") if fresh_data else run.sample_dataset()
        experiment_id = run.start(dataset, parameters={"epochs": 60})
        run.wait_stage(experiment_id, stage)
        kill(run.job_worker_pid(experiment_id), sig)
        return experiment_id

    return provoke


def worker_killed_in_compile(run: Run) -> str:
    experiment_id = run.start(run.sample_dataset())
    run.wait_stage(experiment_id, "compile")
    kill(run.build_worker_pid(experiment_id))
    return experiment_id


def address_space_limit_in(stage: str, fresh_data: bool, limit: str, layers: tuple[int, ...] = (512, 256),
                           ) -> Callable[[Run], str]:
    """``prlimit --as`` on the busy worker when ``stage`` starts: its next large allocations fail."""

    def provoke(run: Run) -> str:
        dataset = run.register(run.copy_of_sample(), f"{run.case} sample") if fresh_data else run.sample_dataset()
        experiment_id = run.start(dataset, parameters={"epochs": 20}, model={
            "query_tower_layers": list(layers), "candidate_tower_layers": list(layers)})
        run.wait_stage(experiment_id, stage)
        pid = run.job_worker_pid(experiment_id)
        size = current_address_space(pid)
        new_limit = size + parse_size(limit)
        subprocess.run(["prlimit", f"--pid={pid}", f"--as={new_limit}"], check=True)
        print(f"  worker {pid}: address space {size / 2**30:.2f} GiB, limit set to {new_limit / 2**30:.2f} GiB",
              flush=True)
        return experiment_id

    return provoke


def current_address_space(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmSize for {pid}")


def parse_size(text: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def runner_and_worker_killed_in_train(run: Run) -> str:
    """The stack that submitted the job is killed (kill -9), then its worker: no runner is left to see it end."""
    with run.stack_process() as (process, gateway):
        experiment_id = run.start(run.sample_dataset(), parameters={"epochs": 100}, gateway=gateway)
        run.wait_stage(experiment_id, "train")
        worker = run.job_worker_pid(experiment_id)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        kill(worker)
    return experiment_id


def runner_killed_during_compile(run: Run) -> str:
    """The stack running the build is killed (kill -9) while Compile runs; its worker ends on its own."""
    with run.stack_process() as (process, gateway):
        experiment_id = run.start(run.sample_dataset(), gateway=gateway)
        run.wait_stage(experiment_id, "compile")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return experiment_id


def mlflow_down_before(run: Run) -> str:
    run.mlflow.stop()
    return run.start(run.sample_dataset())


def mlflow_down_after(log_line: str) -> Callable[[Run], str]:
    """Stop MLflow as soon as the Trainer's log shows ``log_line`` (the health check passed, an epoch ended)."""

    def provoke(run: Run) -> str:
        experiment_id = run.start(run.sample_dataset(), parameters={"epochs": 100})
        run.wait_stage(experiment_id, "train")
        wait_for_file_text(run.logs_dir(experiment_id) / "Trainer.log", log_line)
        run.mlflow.stop()
        return experiment_id

    return provoke


def broken_pipeline_environment(run: Run) -> str:
    return run.start(run.sample_dataset())


def change_file_during_compile(select: str, feature: dict[str, Any] | None = None,
                               split: dict[str, Any] | None = None) -> Callable[[Run], str]:
    """Register a copy, submit, and rewrite the file while Compile runs (the submitter already checked it)."""

    def provoke(run: Run) -> str:
        path = run.copy_of_sample()
        dataset = run.register(path, f"{run.case} sample")
        experiment_id = run.start(dataset, query_features=[{"column": "user_id", "kind": "id", "embedding_dim": 16},
                                                           *([feature] if feature else [])],
                                  parameters={"split": split} if split else None)
        run.wait_stage(experiment_id, "compile")
        changed = run.copy_of_sample(select, suffix="-changed")
        os.replace(changed, path)
        return experiment_id

    return provoke


def change_file_before_submit(select: str, feature: dict[str, Any] | None = None,
                              split: dict[str, Any] | None = None) -> Callable[[Run], str]:
    """Register a copy, rewrite the file, then start: the submitter reads the file's real schema."""

    def provoke(run: Run) -> str:
        path = run.copy_of_sample()
        dataset = run.register(path, f"{run.case} sample")
        changed = run.copy_of_sample(select, suffix="-changed")
        os.replace(changed, path)
        return run.start(dataset, query_features=[{"column": "user_id", "kind": "id", "embedding_dim": 16},
                                                  *([feature] if feature else [])],
                         parameters={"split": split} if split else None)

    return provoke


def fresh_sample_run(layers: tuple[int, ...] = (16,)) -> Callable[[Run], str]:
    def provoke(run: Run) -> str:
        dataset = run.register(run.copy_of_sample(), f"{run.case} sample")
        return run.start(dataset, model={"query_tower_layers": list(layers), "candidate_tower_layers": list(layers)})

    return provoke


RATING = {"column": "rating", "kind": "numeric", "transform": "normalize"}
STRICT = {"strategy": "strict_time", "date_column": "timestamp", "train_days": 200, "val_days": 7, "test_days": 7}
WITHOUT_RATING = "user_id, item_id, timestamp"
RATING_AS_TEXT = "user_id, item_id, CAST(rating AS VARCHAR) || ' stars' AS rating, timestamp"
TIMESTAMP_AS_TEXT = "user_id, item_id, rating, strftime(timestamp, '%d/%m/%Y %H:%M') AS timestamp"

CASES: tuple[Case, ...] = (
    Case("huge_learning_rate", "nan_loss", "NAN_LOSS",
         "SGD with learning rate 10 (the API's maximum), towers 64→32, 5 epochs on the 50-user sample",
         huge_learning_rate),
    Case("towers_of_different_widths", "tower_mismatch", "TOWER_WIDTH_MISMATCH",
         "query tower [32], candidate tower [16], no output_dim: the towers' embeddings differ in width",
         towers_of_different_widths),
    Case("strict_time_empty_eval", "empty_split", "EMPTY_SPLIT",
         "strict_time split train 60 / val 2 / test 1 days on the sample: no rating in the two days before the "
         "last day, so the eval split has no rows", strict_time_split(60, 2, 1)),
    Case("strict_time_empty_train", "empty_split", "EMPTY_SPLIT",
         "strict_time split train 2 / val 9 / test 5 days on the sample: the train window (1998-04-03..04) has "
         "no ratings", strict_time_split(2, 9, 5)),
    Case("kill_worker_in_train", "worker_killed", "WORKER_KILLED",
         "kill -9 of the pipeline worker (the job record's pid) as soon as Train runs (60 epochs, cached data "
         "stages)", worker_killed_in("train", fresh_data=False)),
    Case("kill_worker_in_transform", "worker_killed", "WORKER_KILLED",
         "kill -9 of the pipeline worker as soon as Transform runs (a fresh copy of the sample: no cache)",
         worker_killed_in("transform", fresh_data=True)),
    Case("address_space_limit_in_train", "out_of_memory", "OUT_OF_MEMORY",
         "prlimit --as = the worker's current address space + 64 MiB, applied when Train starts (towers "
         "512→256): the trainer's next large allocations fail", address_space_limit_in("train", False, "64M")),
    Case("address_space_limit_in_examples", "out_of_memory", "OUT_OF_MEMORY",
         "prlimit --as = the worker's current address space + 16 MiB, applied when ExampleGen starts (fresh "
         "copy of the sample)", address_space_limit_in("examples", True, "16M")),
    Case("mlflow_stopped_before_run", "mlflow_unreachable", "MLFLOW_UNREACHABLE",
         "the stack's MLflow server stopped before the experiment starts; the trainer waits 60 s for /health",
         mlflow_down_before),
    Case("mlflow_stopped_after_health_check", "mlflow_unreachable", "MLFLOW_UNREACHABLE",
         "the MLflow server stopped right after the trainer logged 'MLflow tracking server ready': its first "
         "MLflow request (get-by-name) fails after MLflow's own retries (about 4 minutes)",
         mlflow_down_after("MLflow tracking server ready")),
    Case("mlflow_stopped_during_train", "mlflow_unreachable", "MLFLOW_UNREACHABLE",
         "the MLflow server stopped after the trainer logged its first 'epoch finished' (100 epochs): the next "
         "epoch's log_batch fails after MLflow's own retries", mlflow_down_after("epoch finished")),
    Case("runner_and_worker_killed_in_train", "worker_killed", "RUNNER_LOST",
         "a second stack process submits (100 epochs); once Train runs, kill -9 of that stack's process group, "
         "then of its pipeline worker; the first stack's reconcile sweep (2 min quiet) finds the job",
         runner_and_worker_killed_in_train),
    Case("runner_killed_during_compile", "compile_crash", "RUNNER_LOST",
         "a second stack process (no spare worker) submits; kill -9 of that stack's process group while Compile "
         "runs; the first stack's reconcile sweep (2 min quiet) finds the build", runner_killed_during_compile),
    Case("kill_worker_in_compile", "compile_crash", "WORKER_KILLED",
         "kill -9 of the build's worker while Compile runs (no spare worker: Compile includes the imports)",
         worker_killed_in_compile, settings={"pipeline_idle_workers": 0}),
    Case("pipeline_environment_without_tensorflow", "compile_crash", "MISSING_MODULE",
         "PLATFORM_TFX_PYTHON pointed at the services' Python (.venv, no TensorFlow): the worker's imports fail "
         "and the compile step fails", broken_pipeline_environment,
         settings={"tfx_python": str(ROOT / ".venv" / "bin" / "python"), "pipeline_idle_workers": 0}),
    Case("column_dropped_during_compile", "missing_column", "UNKNOWN_COLUMN",
         "a numeric feature on 'rating'; the data file rewritten without 'rating' while Compile runs (after the "
         "submitter checked the schema)", change_file_during_compile(WITHOUT_RATING, RATING),
         settings={"pipeline_idle_workers": 0}),
    Case("column_dropped_before_submit", "missing_column", "UNKNOWN_COLUMN",
         "a numeric feature on 'rating'; the data file rewritten without 'rating' after the dataset was "
         "registered, before the experiment starts (the submitter reads the real schema)",
         change_file_before_submit(WITHOUT_RATING, RATING)),
    Case("numeric_column_retyped_during_compile", "retyped_column", "COLUMN_TYPE_MISMATCH",
         "a numeric feature on 'rating'; the file rewritten while Compile runs with rating as text ('4.0 stars')",
         change_file_during_compile(RATING_AS_TEXT, RATING), settings={"pipeline_idle_workers": 0}),
    Case("numeric_column_retyped_before_submit", "retyped_column", "COLUMN_TYPE_MISMATCH",
         "a numeric feature on 'rating'; the file rewritten with rating as text ('4.0 stars') after registration, "
         "before the experiment starts", change_file_before_submit(RATING_AS_TEXT, RATING)),
    Case("date_column_retyped_during_compile", "retyped_column", "COLUMN_TYPE_MISMATCH",
         "a strict_time split on 'timestamp'; the file rewritten while Compile runs with timestamp as text "
         "('20/09/1997 19:37')", change_file_during_compile(TIMESTAMP_AS_TEXT, split=STRICT),
         settings={"pipeline_idle_workers": 0}),
    Case("date_column_retyped_before_submit", "retyped_column", "COLUMN_TYPE_MISMATCH",
         "a strict_time split on 'timestamp'; the file rewritten with timestamp as text after registration, "
         "before the experiment starts", change_file_before_submit(TIMESTAMP_AS_TEXT, split=STRICT)),
    Case("terminate_worker_in_train", "worker_killed", "WORKER_KILLED",
         "kill -TERM of the pipeline worker as soon as Train runs (what a shutdown or a preempted machine sends)",
         worker_killed_in("train", fresh_data=False, sig=signal.SIGTERM)),
    Case("address_space_limit_big_towers", "out_of_memory", "OUT_OF_MEMORY",
         "towers 4096→4096 (two 64 MiB kernels per tower, Adagrad slots as large); prlimit --as = the worker's "
         "address space + 256 MiB when Train starts", address_space_limit_in("train", False, "256M", (4096, 4096))),
    Case("address_space_limit_huge_towers", "out_of_memory", "OUT_OF_MEMORY",
         "towers 8192→8192 (256 MiB kernels: 0.5 GiB of weights, as much again of Adagrad slots and of "
         "gradients); prlimit --as = the worker's address space + 1 GiB when Train starts",
         address_space_limit_in("train", False, "1G", (8192, 8192))),
    Case("id_column_retyped_before_submit", "retyped_column", "COLUMN_TYPE_MISMATCH",
         "the file rewritten with item_id as a DOUBLE after registration, before the experiment starts",
         change_file_before_submit("user_id, CAST(item_id AS DOUBLE) AS item_id, rating, timestamp")),
    Case("pipeline_root_on_tiny_tmpfs", "disk_full", "DISK_FULL",
         "the pipeline root on a 64 KiB tmpfs (mount -t tmpfs), a fresh copy of the sample: the first writes fail",
         fresh_sample_run(), needs_root=True, mounts_tmpfs="64k"),
    Case("pipeline_root_full_in_train", "disk_full", "DISK_FULL",
         "the pipeline root on a 1 MiB tmpfs, towers 1024→512 (a checkpoint of several MiB), a fresh copy of the "
         "sample: the data stages fit, the Trainer's model does not", fresh_sample_run((1024, 512)),
         needs_root=True, mounts_tmpfs="1m"),
)

# --- recording ----------------------------------------------------------------------------------


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    text = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return text[-LOG_TAIL_CHARS:]


def classified_input(doc: dict[str, Any], events: list[FailureEvent]) -> tuple[FailureEvent | None, str]:
    """The failure event whose text the classifier turned into the experiment's error, and a note."""
    from experiments_platform.domain.error_patterns import classify
    from experiments_platform.domain.status import Stage

    error = doc.get("error") or {}
    stage = Stage(error["stage"]) if error.get("stage") else None
    for event in events:
        for text in (event.text, event.text or f"{'task' if event.kind == 'task' else 'pipeline'} failed"):
            got = classify(text, stage)
            if (got.code, got.title, got.excerpt) == (error.get("code"), error.get("title"), error.get("excerpt")):
                return FailureEvent(event.kind, event.state, text, event.task, event.stage), "classified"
    return None, "not from the classifier (set by a handler directly)" if error else "no error on the experiment"


def record(run: Run, case: Case, experiment_id: str, doc: dict[str, Any], out: Path) -> Path:
    from experiments_platform.domain.error_patterns import classify
    from experiments_platform.domain.status import Stage

    events = run.recorder.of(experiment_id)
    chosen, note = classified_input(doc, events)
    error = doc.get("error") or {}
    if chosen is None and error:
        # the handler set the error itself (the submitter's rejection): its excerpt is the raw text
        chosen = FailureEvent("handler", doc.get("status", ""), str(error.get("excerpt", "")), stage=error.get("stage"))
    logs: dict[str, str] = {}
    folder = run.logs_dir(experiment_id)
    if folder.is_dir():
        for log in sorted(folder.glob("*.log")):
            logs[log.name] = tail(log)
    stage = error.get("stage")
    text = chosen.text if chosen else ""
    now_says = classify(text, Stage(stage) if stage else None)
    fixture = {
        "case": case.name,
        "class": case.failure_class,
        "how": case.how,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_head(),
        "stage": stage,
        "source": f"{chosen.kind} {chosen.state}" + (f" ({chosen.task})" if chosen and chosen.task else "")
        if chosen else None,
        "source_note": note,
        "text": text,
        "expected_code": case.expected_code,
        "recorded": {"status": doc.get("status"), "error": error,
                     "stages": {k: v.get("status") for k, v in (doc.get("stages") or {}).items()}},
        "events": [e.as_json() for e in events],
        "logs": logs,
    }
    path = out / case.failure_class / f"{case.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n")
    print(f"  {doc.get('status')}: recorded {error.get('code')} ({error.get('title')}); classify now says "
          f"{now_says.code}; expected {case.expected_code} -> {path}", flush=True)
    return path


def git_head() -> str:
    """The commit of the platform code that ran: the checkout's HEAD, or a ``git archive`` export's ``COMMIT``."""
    exported = ROOT / "COMMIT"
    if exported.is_file():
        return exported.read_text().strip()
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    return ""


# --- driving ------------------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        for _ in range(20):
            if subprocess.run(["umount", str(path)], check=False).returncode == 0:
                break
            time.sleep(0.5)


@contextlib.contextmanager
def case_stack(case: Case, args: argparse.Namespace, mlflow: Any, sample: dict[str, Any]) -> Iterator[Run]:
    from experiments_platform.config import Settings
    from experiments_platform.local.stack import LocalStack

    with contextlib.ExitStack() as cleanup:
        extra = dict(case.settings)
        if case.mounts_tmpfs:
            root = cleanup.enter_context(tmpfs(args.data_dir / "tmpfs" / case.name, case.mounts_tmpfs))
            extra["pipeline_root"] = root.resolve().as_uri()
        values = {"data_dir": args.data_dir, "mlflow_tracking_uri": mlflow.url,
                  "tfx_python": str(ROOT / ".venv-tfx" / "bin" / "python"), **extra}
        settings = Settings(**values)
        stack = LocalStack(settings, port=args.port, with_mlflow=False, load_data=False, reconcile_every_s=10)
        recorder = Recorder()
        recorder.subscribe(stack.platform.bus, case.name)
        stack.start()
        cleanup.callback(stack.stop)
        stack.platform.documents.set("datasets", sample["id"], sample)
        yield Run(stack=stack, recorder=recorder, mlflow=mlflow, data_dir=args.data_dir, sample=sample,
                  case=case.name)


def provoke(case: Case, args: argparse.Namespace, mlflow: Any, sample: dict[str, Any]) -> Path:
    print(f"{case.name} ({case.failure_class}): {case.how}", flush=True)
    if not mlflow.already_running():
        mlflow.start()
    started = time.monotonic()
    with case_stack(case, args, mlflow, sample) as run:
        experiment_id = case.provoke(run)
        doc = run.wait_end(experiment_id)
        if doc.get("status") != "failed":
            raise RuntimeError(f"the experiment ended {doc.get('status')}, it did not fail: the platform no longer "
                               f"fails this way; the case's fixture (if any) is kept as recorded at its commit")
        # the job's terminal event may follow the task's by a moment: wait until both are in
        time.sleep(1.0)
        path = record(run, case, experiment_id, doc, args.out)
    print(f"  {time.monotonic() - started:.0f} s", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="a case name (repeatable); default: every case")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/provoke-failures"),  # noqa: S108 - a scratch dir of this script's own
                        help="the stack's data dir (documents, logs, pipeline roots, MLflow)")
    parser.add_argument("--port", type=int, default=18090, help="the stack's gateway port")
    parser.add_argument("--mlflow-port", type=int, default=15090)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "var" / "cache",
                        help="where the MovieLens (recbole) wheel is, or is downloaded to")
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            print(f"{case.failure_class:20} {case.name:40} {case.how}")
        return 0
    chosen = [c for c in CASES if not args.case or c.name in args.case]
    unknown = set(args.case or ()) - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}; --list shows them")
    import logging

    from experiments_platform.config import Settings
    from experiments_platform.data.movielens import movielens_sample
    from experiments_platform.local.stack import MlflowServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per API poll otherwise
    args.data_dir = args.data_dir.resolve()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    sample = movielens_sample(args.data_dir, SAMPLE_USERS, cache_dir=args.cache_dir)
    mlflow = MlflowServer(Settings(data_dir=args.data_dir, mlflow_tracking_uri=f"http://127.0.0.1:{args.mlflow_port}"))
    failures = []
    try:
        for case in chosen:
            if case.needs_root and os.geteuid() != 0:
                print(f"{case.name}: skipped (mounting a tmpfs needs root)", flush=True)
                continue
            try:
                provoke(case, args, mlflow, sample.to_document())
            except Exception as exc:  # noqa: BLE001 - report and go on with the next case
                failures.append(case.name)
                print(f"  {case.name} could not be recorded: {exc}", flush=True)
    finally:
        mlflow.stop()
    if failures:
        print(f"not recorded: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
