"""Full-training benchmark: one full training end to end (all eight components) and one served request.

    .venv-tfx/bin/python benchmarks/full_training.py                       # MovieLens 100k
    .venv-tfx/bin/python benchmarks/full_training.py --dataset b2b --transactions 1000000 --work W
    .venv-tfx/bin/python benchmarks/full_training.py --trainer-only --work W   # the Trainer alone, fresh process

The pipeline is compiled to the local IR and run by ``run_local.run_compiled`` in this process (what the
local pipeline worker does), so the peak resident memory of this process is the run's; it is also given
per component (the largest resident set while it ran: memory a stage keeps, e.g. TensorFlow's, counts
for the stages after it too). Protocol:
random split 80/10/10 by hash with seed 42, 100 % of the data; 32-d id embeddings; Adagrad 0.1, batch
1024; early stopping on exact validation recall@100 with patience 3, at most ``--max-epochs`` epochs.
MLflow: a real server from ``.venv`` (SQLite). Serving: the pushed SavedModel loaded in a fresh
process holding only TensorFlow, p50 of 50 one-buyer top-k requests. The last line printed is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from experiments_platform.data.movielens import movielens_dataset  # noqa: E402
from experiments_platform.data.synthetic_b2b import B2BConfig, synthetic_b2b_dataset  # noqa: E402
from experiments_platform.domain.experiment import QuickTestParameters, RandomSplit  # noqa: E402
from experiments_platform.domain.features import FeatureConfig  # noqa: E402
from experiments_platform.domain.full_training import FullTrainingParameters  # noqa: E402
from experiments_platform.domain.model import ModelConfig  # noqa: E402
from experiments_platform.domain.pipeline_spec import (  # noqa: E402
    ArtifactUris,
    MlflowTarget,
    ModelRegistryTarget,
    QuickTestSpec,
    SplitQueries,
    data_pipeline_name,
    registry_model_name,
)
from experiments_platform.sql import render_split_queries  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from quicktest import start_mlflow  # noqa: E402

SERVE = """
import json, sys, time
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
serve = model.signatures["serving_default"]
check = json.load(open(sys.argv[1] + "/assets.extra/serving_check.json"))
_, inputs = serve.structured_input_signature
request = {n: tf.constant([check["inputs"][n]], dtype=s.dtype) for n, s in inputs.items()}
ids = [i.decode() for i in serve(**request)["ids"].numpy()[0][:10]]
times = []
for _ in range(50):
    started = time.perf_counter()
    serve(**request)
    times.append(time.perf_counter() - started)
print(json.dumps({"same_top10": ids == check["top_ids"], "p50_ms": sorted(times)[25] * 1000}))
"""


class PeakMemory:
    """The largest resident set of this process, sampled every 0.2 s (and ru_maxrss at the end)."""

    def __init__(self) -> None:
        self.peak = 0
        self.timeline: list[tuple[float, int]] = []
        self.stage: str | None = None
        self.per_stage: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def event(self, event: dict) -> None:
        """A task event of ``run_compiled``: the peak from here on is charged to its component."""
        self.stage = event["component"] if event["state"] == "RUNNING" else None

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1]) * 1024
                        self.peak = max(self.peak, rss)
                        self.timeline.append((time.time(), rss))
                        if self.stage:
                            self.per_stage[self.stage] = max(self.per_stage.get(self.stage, 0), rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def make_spec(work: Path, dataset_name: str, transactions: int, mlflow_uri: str, max_epochs: int) -> QuickTestSpec:
    if dataset_name == "movielens":
        dataset = movielens_dataset(work / "data")
        query, candidate = "user_id", "item_id"
    else:
        dataset = synthetic_b2b_dataset(work / "data", B2BConfig(
            transactions=transactions, buyers=max(1000, transactions // 50), products=max(500, transactions // 100)))
        query, candidate = "customer_id", "product_id"
    features = FeatureConfig(
        name="ids",
        query_features=[{"kind": "id", "column": query, "embedding_dim": 32}],
        candidate_features=[{"kind": "id", "column": candidate, "embedding_dim": 32}],
    )
    parameters = QuickTestParameters(sample_percent=100, split=RandomSplit(train_percent=80, val_percent=10),
                                     batch_size=1024, learning_rate=0.1, seed=42)
    queries = SplitQueries.from_rendered(render_split_queries(dataset, features, parameters, "duckdb"))
    name = data_pipeline_name(dataset.id, queries)
    experiment_id = f"full-{dataset_name}"
    spec = QuickTestSpec(
        experiment_id=experiment_id, experiment_number=1, pipeline_name=name, dataset_id=dataset.id,
        queries=queries, query_id_column=query, candidate_id_column=candidate, features=features,
        model=ModelConfig(name="ids", query_tower_layers=[], candidate_tower_layers=[]), parameters=parameters,
        pipeline_root=(work / "pipelines" / name).as_uri(),
        artifacts=ArtifactUris.under((work / "artifacts").as_uri(), experiment_id),
        mlflow=MlflowTarget(tracking_uri=mlflow_uri, experiment_name="benchmark", run_name=experiment_id),
        full_training=FullTrainingParameters(max_epochs=max_epochs, patience=3),
        registry=ModelRegistryTarget(uri=(work / "registry").as_uri(), model_name=registry_model_name(dataset.id)),
    )
    path = Path(spec.artifacts.spec.removeprefix("file://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_json())
    return spec


def trainer_only(work: Path, max_epochs: int | None = None) -> dict:
    """The Trainer of the full training in ``work`` again, alone in this fresh process (as a Vertex AI custom
    job runs it): its wall time and this process's peak resident memory."""
    from experiments_platform.pipeline.full_training import train_full

    spec_path = next((work / "artifacts" / "experiments").glob("*/spec.json"))
    spec = QuickTestSpec.from_json(spec_path.read_text())
    artifacts = json.loads((work / "artifacts.json").read_text())
    examples = artifacts["ExampleGen"]["examples"][0].removeprefix("file://")
    transform = artifacts["Transform"]["transform_graph"][0].removeprefix("file://")
    scratch = Path(tempfile.mkdtemp(prefix="trainer-only-"))
    update: dict = {"artifacts": ArtifactUris.under(scratch.as_uri(), spec.experiment_id)}
    if max_epochs and spec.full_training:
        update["full_training"] = spec.full_training.model_copy(update={"max_epochs": max_epochs})
    spec = spec.model_copy(update=update)
    started = time.monotonic()
    with PeakMemory() as memory:
        report = train_full(spec, transform, [f"{examples}/Split-train/*"], str(scratch / "serving"),
                            str(scratch / "run"))
    timeline = [(time.strftime("%H:%M:%S", time.gmtime(t)), round(rss / 2**30, 2)) for t, rss in memory.timeline[::25]]
    (work / "trainer_only_memory.json").write_text(json.dumps(timeline))
    return {"trainer_only_s": round(time.monotonic() - started, 1),
            "trainer_only_peak_memory_gib": round(memory.peak / 2**30, 3),
            "trainer_only_best_epoch": report.training.best_epoch if report.training else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainer-only", action="store_true",
                        help="run only the Trainer again, in this process, on the artifacts of --work's full run")
    parser.add_argument("--dataset", choices=("movielens", "b2b"), default="movielens")
    parser.add_argument("--transactions", type=int, default=1_000_000, help="rows of the synthetic B2B set")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a new temporary one)")
    args = parser.parse_args()
    from experiments_platform.pipeline.compile import compile_local
    from experiments_platform.pipeline.run_local import run_compiled

    if args.trainer_only:
        if not args.work:
            parser.error("--trainer-only needs --work, the folder of a finished run")
        print(json.dumps(trainer_only(args.work, args.max_epochs if args.max_epochs != 30 else None)))
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="full-training-bench-"))
    (work / "mlflow").mkdir(parents=True, exist_ok=True)
    mlflow_uri, server = start_mlflow(work / "mlflow")
    try:
        spec = make_spec(work, args.dataset, args.transactions, mlflow_uri, args.max_epochs)
        events: list[dict] = []
        started = time.monotonic()
        with PeakMemory() as memory:
            def record(event: dict) -> None:
                events.append(event)
                memory.event(event)

            run_compiled(compile_local(spec), work / "logs", work / "artifacts.json", record)
        wall = time.monotonic() - started
    finally:
        server.terminate()
    metrics = json.loads(Path(spec.artifacts.metrics.removeprefix("file://")).read_text())
    model = json.loads(Path(spec.artifacts.model.removeprefix("file://")).read_text())
    served = subprocess.run([sys.executable, "-c", SERVE, model["pushed_model_uri"].removeprefix("file://")],
                            capture_output=True, text=True, check=True, env={"TF_CPP_MIN_LOG_LEVEL": "2"})
    serving = json.loads(served.stdout.strip().splitlines()[-1])
    result = {
        "dataset": args.dataset, "rows": sum(metrics["protocol"]["rows"].values()),
        "corpus_size": metrics["protocol"]["corpus_size"], "wall_s": round(wall, 1),
        "stages_s": {e["component"]: e.get("seconds") for e in events if e["state"] != "RUNNING"},
        "peak_memory_gib": round(memory.peak / 2**30, 3),
        "peak_memory_gib_by_stage": {k: round(v / 2**30, 3) for k, v in memory.per_stage.items()},
        "best_epoch": metrics["training"]["best_epoch"], "epochs_run": metrics["training"]["epochs_run"],
        "early_stopped": metrics["training"]["early_stopped"],
        "val_recall_at_100": [round(r["val_recall_at_100"], 4) for r in metrics["history"]],
        "recall_at_100": round(metrics["final"]["recall_at_100"], 4),
        "timings": {k: round(v, 1) for k, v in metrics["timings"].items()},
        "mlflow_model_version": model["mlflow_model_version"], "serving_same_top10": serving["same_top10"],
        "serving_p50_ms": round(serving["p50_ms"], 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
