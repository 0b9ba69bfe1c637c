"""Quick-test benchmark: full MovieLens 100k through the local build and pipeline runners.

    .venv-tfx/bin/python benchmarks/quicktest.py            # both models, each on a cold pipeline root
                                                            # with a pipeline worker started on demand
    .venv-tfx/bin/python benchmarks/quicktest.py --warm     # tutorial model first, then the default
                                                            # model on the cached data stages

Protocol: random split by hash of (user, item) with seed 42: train 80 % / eval 10 % / test 10 %
(the training set is the tutorial's 80 %; eval gives the validation loss); 32-d user id and item
id embeddings only, no tower layers; Adagrad, learning rate 0.1, 3 epochs, batch 1024; exact
recall@k over all 1,682 items. Two models: the TFRS basic-retrieval tutorial's (no sampling-bias
correction) and the platform default (correction on). Each run is the product's path: the local
build runner compiles the spec in a pipeline worker (a pipeline-environment process of this
interpreter that has imported TensorFlow, TFX, Beam and TFRS), the local pipeline service runs
LocalDagRunner in the same worker; stage times come from the task events they publish.

What was pre-warmed, stated in the output (``worker``): in the cold case nothing, every model
gets fresh runners whose worker starts when the build starts, so the wall time includes the
imports, as for the first quick test after a stack starts without ``prewarm``. In the warm case
the tutorial model runs first (cold, worker started on demand) and the default model then finds
the spare worker the pool started (imports at idle CPU priority) while the tutorial model ran, as
a user's next quick test does, and the cached data stages; while it runs, the pool's next spare
imports beside it, as in the stack. ``waited_for_worker_s`` is how long a build waited for its
worker's imports. Peak memory: the largest resident set of any child process, and the largest
sum of the pipeline workers alive at one moment (a busy and a spare worker). The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from experiments_platform.adapters.local_builds import LocalBuildService  # noqa: E402
from experiments_platform.adapters.local_pipelines import LocalPipelineService  # noqa: E402
from experiments_platform.adapters.local_workers import WORKER_MODULE  # noqa: E402
from experiments_platform.config import Settings  # noqa: E402
from experiments_platform.data.movielens import movielens_dataset  # noqa: E402
from experiments_platform.domain.experiment import QuickTestParameters, RandomSplit  # noqa: E402
from experiments_platform.domain.features import FeatureConfig  # noqa: E402
from experiments_platform.domain.model import ModelConfig  # noqa: E402
from experiments_platform.domain.pipeline_spec import (  # noqa: E402
    ArtifactUris,
    MlflowTarget,
    QuickTestSpec,
    SplitQueries,
    data_pipeline_name,
)
from experiments_platform.events.messages import Topics  # noqa: E402
from experiments_platform.sql import render_split_queries  # noqa: E402

FEATURES = FeatureConfig(
    name="tutorial ids",
    query_features=[{"kind": "id", "column": "user_id", "embedding_dim": 32}],
    candidate_features=[{"kind": "id", "column": "item_id", "embedding_dim": 32}],
)
PARAMETERS = QuickTestParameters(sample_percent=100, split=RandomSplit(train_percent=80, val_percent=10), epochs=3,
                                 batch_size=1024, learning_rate=0.1, seed=42)
MODELS = {
    "tutorial": ModelConfig(name="TFRS basic retrieval tutorial", query_tower_layers=[], candidate_tower_layers=[],
                            optimizer="adagrad", learning_rate=0.1, epochs=3, batch_size=1024,
                            sampling_bias_correction=False),
    "default": ModelConfig(name="platform default", query_tower_layers=[], candidate_tower_layers=[],
                           optimizer="adagrad", learning_rate=0.1, epochs=3, batch_size=1024,
                           sampling_bias_correction=True),
}


class StageClock:
    """A bus that keeps the pipeline-state log entries and derives per-stage wall times."""

    def __init__(self) -> None:
        self.entries: list[dict] = []

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        if topic == Topics.PIPELINE_STATE:
            self.entries.append(json.loads(data))
        return str(len(self.entries))

    def stages(self, job_name: str) -> dict[str, dict]:
        began: dict[str, datetime] = {}
        out: dict[str, dict] = {}
        for entry in self.entries:
            payload = entry["jsonPayload"]
            if payload.get("pipelineJobName") != job_name or "taskName" not in payload:
                continue
            when = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
            task, state = payload["taskName"], payload["state"]
            if state == "RUNNING":
                began[task] = when
            elif task in began:
                out[task] = {"seconds": round((when - began[task]).total_seconds(), 2), "state": state}
        return out


class WorkerMemory:
    """Samples the resident sets of this process's pipeline workers; keeps the largest sum."""

    def __init__(self, every_s: float = 0.25) -> None:
        self.peak_bytes = 0
        self.every_s = every_s
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _workers_rss() -> int:
        total = 0
        me = str(os.getpid())
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
                if stat[1] != me or WORKER_MODULE.encode() not in (entry / "cmdline").read_bytes():
                    continue
                total += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, IndexError):
                continue
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak_bytes = max(self.peak_bytes, self._workers_rss())

    def __enter__(self) -> WorkerMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()


def start_mlflow(folder: Path) -> tuple[str, subprocess.Popen]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "mlflow"), "server", "--workers", "1", "--host", "127.0.0.1", "--port",
         str(port), "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}", "--artifacts-destination",
         str(folder / "artifacts")],
        stdout=(folder / "mlflow.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    return f"http://127.0.0.1:{port}", process


def make_spec(work: Path, data_dir: Path, model_key: str, mlflow_uri: str) -> QuickTestSpec:
    dataset = movielens_dataset(data_dir)
    queries = SplitQueries.from_rendered(render_split_queries(dataset, FEATURES, PARAMETERS, "duckdb"))
    name = data_pipeline_name(dataset.id, queries)
    experiment_id = f"bench{model_key}"
    spec = QuickTestSpec(
        experiment_id=experiment_id, experiment_number=1, pipeline_name=name, dataset_id=dataset.id,
        queries=queries, query_id_column="user_id", candidate_id_column="item_id", features=FEATURES,
        model=MODELS[model_key], parameters=PARAMETERS, pipeline_root=(work / "pipelines" / name).as_uri(),
        artifacts=ArtifactUris.under((work / "artifacts").as_uri(), experiment_id),
        mlflow=MlflowTarget(tracking_uri=mlflow_uri, experiment_name="benchmark", run_name=f"benchmark {model_key}"),
    )
    path = work / "artifacts" / "experiments" / experiment_id / "spec.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_json())
    return spec


class Runners:
    """The local build and pipeline services of one benchmark case, sharing one worker pool."""

    def __init__(self, work: Path) -> None:
        self.clock = StageClock()
        settings = Settings(data_dir=work, tfx_python=sys.executable)
        self.pipelines = LocalPipelineService(settings, self.clock)  # type: ignore[arg-type]
        self.builds = LocalBuildService(settings, self.clock, self.pipelines)  # type: ignore[arg-type]

    def close(self) -> None:
        self.pipelines.close()


def run_once(runners: Runners, work: Path, data_dir: Path, model_key: str, mlflow_uri: str) -> dict:
    clock, builds, pipelines = runners.clock, runners.builds, runners.pipelines
    spec = make_spec(work, data_dir, model_key, mlflow_uri)
    started = time.monotonic()
    started_at = datetime.now().astimezone()
    build_id = builds.start(spec.experiment_id, spec.artifacts.spec)
    if builds.wait(build_id, timeout=600) != "SUCCESS":
        raise SystemExit(f"compile failed; see {work / 'logs' / spec.experiment_id / 'Compile.log'}")
    compiled = time.monotonic()
    job = builds.result(build_id).pipeline_job_name
    assert job
    worker = (builds.builds.read(build_id) or {}).get("worker") or {}
    worker_started = datetime.fromisoformat(worker["started_at"])
    ready_at = worker_started.timestamp() + float(worker["import_s"] or 0)
    state = pipelines.wait(job, timeout=1800)
    finished = time.monotonic()
    if state != "PIPELINE_STATE_SUCCEEDED":
        raise SystemExit(f"pipeline {state}; see {work / 'logs' / spec.experiment_id}")
    metrics = json.loads((work / "artifacts" / "experiments" / spec.experiment_id / "metrics.json").read_text())
    return {
        "model": model_key,
        "worker": f"spare started by the pool {round(started_at.timestamp() - worker_started.timestamp(), 1)} s "
                  "before the build (imports at idle priority, finished)" if worker["spare"]
                  else "started on demand by the build (imports at normal priority)",
        "worker_import_s": worker["import_s"],
        "waited_for_worker_s": round(max(0.0, ready_at - started_at.timestamp()), 2),
        "compile_s": round(compiled - started, 2),
        "pipeline_s": round(finished - compiled, 2),
        "wall_s": round(finished - started, 2),
        "stages": clock.stages(job),
        "final": metrics["final"],
        "trainer_timings": metrics["timings"],
        "protocol": {k: metrics["protocol"][k] for k in ("split_strategy", "corpus_size", "test_interactions", "rows")},
    }


def show(result: dict) -> None:
    final = result["final"]
    print(f"\n== {result['model']} model: wall {result['wall_s']:.1f}s "
          f"(compile {result['compile_s']:.1f}s + pipeline {result['pipeline_s']:.1f}s)")
    print(f"   pipeline worker: {result['worker']}; its imports took {result['worker_import_s']:.1f}s, "
          f"the build waited {result['waited_for_worker_s']:.1f}s for them")
    for stage, info in result["stages"].items():
        print(f"   {stage:<14} {info['seconds']:6.1f}s  {info['state']}")
    print(f"   trainer inside: {json.dumps({k: round(v, 1) for k, v in result['trainer_timings'].items()})}")
    for variant, suffix in (("all items", ""), ("excluding training items", "_excluding_train_items")):
        model = "/".join(f"{final[f'recall_at_{k}{suffix}']:.3f}" for k in (10, 50, 100))
        popular = "/".join(f"{final[f'popularity_recall_at_{k}{suffix}']:.3f}" for k in (10, 50, 100))
        print(f"   recall@10/50/100 ({variant}): model {model}   popularity {popular}")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description="MovieLens 100k quick-test benchmark")
    parser.add_argument("--warm", action="store_true", help="run the default model on cached data stages")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var")
    parser.add_argument("--mlflow-uri", default=os.environ.get("QT_BENCH_MLFLOW_URI"))
    args = parser.parse_args()
    movielens_dataset(args.data_dir)
    with tempfile.TemporaryDirectory(prefix="qt-bench-") as scratch:
        base = Path(scratch)
        server = None
        uri = args.mlflow_uri
        if not uri:
            uri, server = start_mlflow(base)
        try:
            with WorkerMemory() as memory:
                if args.warm:
                    runners = Runners(base / "shared")
                    tutorial = run_once(runners, base / "shared", args.data_dir, "tutorial", uri)
                    default = run_once(runners, base / "shared", args.data_dir, "default", uri)
                    runners.close()
                else:
                    results = []
                    for key in ("tutorial", "default"):
                        runners = Runners(base / f"cold-{key}")
                        results.append(run_once(runners, base / f"cold-{key}", args.data_dir, key, uri))
                        runners.close()
                    tutorial, default = results
        finally:
            if server:
                server.terminate()
                server.wait(timeout=30)
    show(tutorial)
    show(default)
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    summary = {
        "case": "warm" if args.warm else "cold",
        "recall_at_10": default["final"]["recall_at_10"],
        "recall_at_50": default["final"]["recall_at_50"],
        "recall_at_100": default["final"]["recall_at_100"],
        "tutorial_recall_at_100": tutorial["final"]["recall_at_100"],
        "popularity_recall_at_100": default["final"]["popularity_recall_at_100"],
        "recall_at_100_excluding_train_items": default["final"]["recall_at_100_excluding_train_items"],
        "wall_s": default["wall_s"],
        "worker": default["worker"],
        "waited_for_worker_s": default["waited_for_worker_s"],
        "pipeline_s": default["pipeline_s"],
        "compile_s": default["compile_s"],
        "tutorial_wall_s": tutorial["wall_s"],
        "stages": {k: v["seconds"] for k, v in default["stages"].items()},
        "tutorial_stages": {k: v["seconds"] for k, v in tutorial["stages"].items()},
        "peak_memory_gib": round(peak_gib, 2),
        "peak_workers_memory_gib": round(memory.peak_bytes / 2**30, 2),
        "protocol": default["protocol"],
    }
    print(f"\npeak memory: largest child process {peak_gib:.2f} GiB, "
          f"pipeline workers alive at once {memory.peak_bytes / 2**30:.2f} GiB")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
