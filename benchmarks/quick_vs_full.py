"""Quick test vs full training: does the quick test rank configurations the way full training does?

    .venv-tfx/bin/python benchmarks/quick_vs_full.py                    # six configurations, MovieLens 100k
    .venv-tfx/bin/python benchmarks/quick_vs_full.py --max-epochs 10 --configs ids-32,ids-64,towers

Six configurations a user would try (embedding dims, learning rate, side features, tower layers), each
run as a quick test (25 % sample, 3 epochs) and as a full training (100 %, early stopping on exact
validation recall@100 with patience 3, at most ``--max-epochs`` epochs, best epoch restored, exported,
pushed and registered), with the real TFX pipeline of the platform run in this process by
``run_local.run_compiled`` (what the local pipeline worker does). Split protocol: random 80/10/10 by
hash with seed 42, the same for both kinds (the quick test samples 25 % of the rows first). Test
recall@100 of each run; Spearman's ρ and Kendall's τ-b (with 95 % intervals, ``domain.agreement``)
between the quick tests' and the full trainings' recall@100; whether the quick-test winner is the
full-training winner; the full runs' peak resident memory; p50 of one top-10 request to the full
winner's pushed SavedModel in a fresh TensorFlow-only process. Progress lines go to stderr and to
``{work}/runs.jsonl``; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from experiments_platform.data.movielens import movielens_dataset  # noqa: E402
from experiments_platform.domain.agreement import Pair, agreement  # noqa: E402
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
from full_training import SERVE, PeakMemory  # noqa: E402
from quicktest import start_mlflow  # noqa: E402


def _ids(dim: int) -> dict[str, Any]:
    return {"query_features": [{"kind": "id", "column": "user_id", "embedding_dim": dim}],
            "candidate_features": [{"kind": "id", "column": "item_id", "embedding_dim": dim}]}


SIDE = {
    "query_features": [
        {"kind": "id", "column": "user_id", "embedding_dim": 32},
        {"kind": "numeric", "column": "age", "transform": "bucketize", "buckets": 8, "embedding_dim": 4},
        {"kind": "categorical", "column": "gender", "embedding_dim": 2},
        {"kind": "categorical", "column": "occupation", "embedding_dim": 4},
    ],
    "candidate_features": [
        {"kind": "id", "column": "item_id", "embedding_dim": 32},
        {"kind": "text", "column": "genres", "embedding_dim": 10},  # 42 = 32 + 4 + 2 + 4: towers of one width
    ],
}
NO_TOWERS = {"query_tower_layers": [], "candidate_tower_layers": []}

# name → (features, model fields, learning rate)
CONFIGS: dict[str, tuple[dict[str, Any], dict[str, Any], float]] = {
    "ids-16": (_ids(16), NO_TOWERS, 0.1),
    "ids-32": (_ids(32), NO_TOWERS, 0.1),
    "ids-64": (_ids(64), NO_TOWERS, 0.1),
    "ids-32-lr003": (_ids(32), NO_TOWERS, 0.03),
    "side-features": (SIDE, NO_TOWERS, 0.1),
    "towers-64-32": (_ids(32), {"query_tower_layers": [64, 32], "candidate_tower_layers": [64, 32]}, 0.1),
}


def make_spec(work: Path, config: str, kind: str, mlflow_uri: str, max_epochs: int) -> QuickTestSpec:
    feature_fields, model_fields, learning_rate = CONFIGS[config]
    dataset = movielens_dataset(work / "data")
    features = FeatureConfig(name=config, **feature_fields)
    full = kind == "full"
    parameters = QuickTestParameters(sample_percent=100 if full else 25, epochs=3,
                                     split=RandomSplit(train_percent=80, val_percent=10),
                                     batch_size=1024, learning_rate=learning_rate, seed=42)
    queries = SplitQueries.from_rendered(render_split_queries(dataset, features, parameters, "duckdb"))
    name = data_pipeline_name(dataset.id, queries)
    experiment_id = f"{kind}-{config}"
    spec = QuickTestSpec(
        experiment_id=experiment_id, experiment_number=1, pipeline_name=name, dataset_id=dataset.id,
        queries=queries, query_id_column="user_id", candidate_id_column="item_id", features=features,
        model=ModelConfig(name=config, learning_rate=learning_rate, **model_fields), parameters=parameters,
        pipeline_root=(work / "pipelines" / name).as_uri(),
        artifacts=ArtifactUris.under((work / "artifacts").as_uri(), experiment_id),
        mlflow=MlflowTarget(tracking_uri=mlflow_uri, experiment_name=f"benchmark-{kind}", run_name=experiment_id),
        full_training=FullTrainingParameters(max_epochs=max_epochs, patience=3) if full else None,
        registry=ModelRegistryTarget(uri=(work / "registry").as_uri(),
                                     model_name=registry_model_name(dataset.id)) if full else None,
    )
    path = Path(spec.artifacts.spec.removeprefix("file://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_json())
    return spec


def run(work: Path, config: str, kind: str, mlflow_uri: str, max_epochs: int) -> dict[str, Any]:
    from experiments_platform.pipeline.compile import compile_local
    from experiments_platform.pipeline.run_local import run_compiled

    spec = make_spec(work, config, kind, mlflow_uri, max_epochs)
    started = time.monotonic()
    with PeakMemory() as memory:
        run_compiled(compile_local(spec), work / "logs" / spec.experiment_id, work / f"{spec.experiment_id}.json",
                     memory.event)
    metrics = json.loads(Path(spec.artifacts.metrics.removeprefix("file://")).read_text())
    row: dict[str, Any] = {"config": config, "kind": kind, "wall_s": round(time.monotonic() - started, 1),
                           "recall_at_100": metrics["final"]["recall_at_100"],
                           "peak_memory_gib": round(memory.peak / 2**30, 3)}
    training = metrics.get("training") or {}
    row.update({k: training.get(k) for k in ("best_epoch", "epochs_run", "early_stopped")})
    if kind == "full":
        row["pushed_model_uri"] = json.loads(
            Path(spec.artifacts.model.removeprefix("file://")).read_text())["pushed_model_uri"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a new temporary one)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the runs already in {work}/runs.jsonl and run only the missing ones")
    args = parser.parse_args()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"--configs: unknown {unknown}; choose from {', '.join(CONFIGS)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="quick-vs-full-"))
    (work / "mlflow").mkdir(parents=True, exist_ok=True)
    mlflow_uri, server = start_mlflow(work / "mlflow")
    rows: list[dict[str, Any]] = []
    if args.resume and (work / "runs.jsonl").exists():
        rows = [json.loads(line) for line in (work / "runs.jsonl").read_text().splitlines() if line.strip()]
    done = {(r["config"], r["kind"]) for r in rows}
    try:
        for config in configs:
            for kind in ("quick", "full"):
                if (config, kind) in done:
                    continue
                row = run(work, config, kind, mlflow_uri, args.max_epochs)
                rows.append(row)
                with (work / "runs.jsonl").open("a") as out:
                    out.write(json.dumps(row) + "\n")
                print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        server.terminate()
    quick = {r["config"]: r for r in rows if r["kind"] == "quick"}
    full = {r["config"]: r for r in rows if r["kind"] == "full"}
    result = agreement([Pair(c, quick[c]["recall_at_100"], full[c]["recall_at_100"]) for c in configs])
    winner = full[result.full_winner or configs[0]]
    served = subprocess.run([sys.executable, "-c", SERVE, winner["pushed_model_uri"].removeprefix("file://")],
                            capture_output=True, text=True, check=True, env={"TF_CPP_MIN_LOG_LEVEL": "2"})
    serving = json.loads(served.stdout.strip().splitlines()[-1])
    print(json.dumps({
        "dataset": "movielens-100k", "configs": len(configs), "max_epochs": args.max_epochs,
        "spearman": result.spearman, "spearman_interval": result.spearman_interval,
        "kendall": result.kendall, "kendall_interval": result.kendall_interval,
        "quick_winner": result.quick_winner, "full_winner": result.full_winner,
        "quick_winner_is_full_winner": result.quick_winner_is_full_winner, "reading": result.reading,
        "per_config": {c: {"quick_recall_at_100": round(quick[c]["recall_at_100"], 4),
                           "full_recall_at_100": round(full[c]["recall_at_100"], 4),
                           "best_epoch": full[c]["best_epoch"], "epochs_run": full[c]["epochs_run"],
                           "quick_wall_s": quick[c]["wall_s"], "full_wall_s": full[c]["wall_s"]} for c in configs},
        "peak_memory_gib": max(full[c]["peak_memory_gib"] for c in configs),
        "serving_p50_ms": round(serving["p50_ms"], 2), "serving_same_top10": serving["same_top10"],
        "wall_s": round(sum(r["wall_s"] for r in rows if r["config"] in configs), 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
