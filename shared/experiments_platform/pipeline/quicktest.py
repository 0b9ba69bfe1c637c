"""Run one quick test directly, in this process, with a live per-stage progress display.

    .venv-tfx/bin/python -m experiments_platform.pipeline.quicktest \\
        --dataset movielens-100k --features features.json --model model.json --params params.json

``--dataset`` is ``movielens-100k``, ``movielens-sample`` (first 50 users) or a Dataset JSON file;
``--features``/``--model``/``--params`` are JSON files of a FeatureConfig, ModelConfig and
QuickTestParameters (defaults: user and item id embeddings, the default ModelConfig and
parameters). The spec is written under ``{data_dir}/artifacts/experiments/{id}/``; the pipeline
runs with LocalDagRunner (MLMD and outputs under ``{data_dir}/pipelines/``); the last line
printed is the metrics summary as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any, TextIO

from experiments_platform.config import load_settings
from experiments_platform.domain.dataset import Dataset
from experiments_platform.domain.experiment import QuickTestParameters
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.pipeline_spec import (
    ArtifactUris,
    MlflowTarget,
    QuickTestSpec,
    SplitQueries,
    data_pipeline_name,
)
from experiments_platform.pipeline.definition import COMPONENT_IDS

DEFAULT_FEATURES = {
    "name": "ids",
    "query_features": [{"kind": "id", "column": "user_id", "embedding_dim": 32}],
    "candidate_features": [{"kind": "id", "column": "item_id", "embedding_dim": 32}],
}
SYMBOLS = {"PENDING": "○", "RUNNING": "◐", "SUCCEEDED": "✓", "SKIPPED": "✓", "FAILED": "✗"}


class Progress:
    """One status line per change: every stage with its symbol and seconds, plus the elapsed time."""

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out = out
        self.started = time.monotonic()
        self.states = {c: "PENDING" for c in COMPONENT_IDS}
        self.began: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        component, state = event["component"], event["state"]
        now = time.monotonic()
        if state == "RUNNING":
            self.began[component] = now
        else:
            self.seconds[component] = now - self.began.get(component, now)
        self.states[component] = state
        cells = []
        for name in COMPONENT_IDS:
            cell = f"{SYMBOLS.get(self.states[name], '?')} {name}"
            if name in self.seconds:
                cached = " cached" if self.states[name] == "SKIPPED" else ""
                cell += f" {self.seconds[name]:.1f}s{cached}"
            cells.append(cell)
        self.out.write(f"[{now - self.started:6.1f}s] " + "  ".join(cells) + "\n")
        self.out.flush()


def load_dataset(name: str, data_dir: Path) -> Dataset:
    from experiments_platform.data.movielens import movielens_dataset, movielens_sample

    if name == "movielens-100k":
        return movielens_dataset(data_dir)
    if name == "movielens-sample":
        return movielens_sample(data_dir, users=50)
    return Dataset.model_validate_json(Path(name).read_text())


def make_spec(dataset: Dataset, features: FeatureConfig, model: ModelConfig, parameters: QuickTestParameters,
              data_dir: Path, mlflow_uri: str, experiment_id: str) -> QuickTestSpec:
    from experiments_platform.sql import render_split_queries

    queries = SplitQueries.from_rendered(render_split_queries(dataset, features, parameters, "duckdb"))
    name = data_pipeline_name(dataset.id, queries)
    root = data_dir.resolve()
    return QuickTestSpec(
        experiment_id=experiment_id, experiment_number=1, pipeline_name=name, dataset_id=dataset.id,
        queries=queries, query_id_column=dataset.query_id_column, candidate_id_column=dataset.candidate_id_column,
        features=features, model=model, parameters=parameters,
        pipeline_root=(root / "pipelines" / name).as_uri(),
        artifacts=ArtifactUris.under((root / "artifacts").as_uri(), experiment_id),
        mlflow=MlflowTarget(tracking_uri=mlflow_uri, experiment_name=f"quick-tests/{dataset.name}",
                            run_name=f"cli {experiment_id}"),
    )


def run(spec: QuickTestSpec, data_dir: Path, progress: Progress) -> dict[str, Any]:
    from experiments_platform.pipeline.compile import compile_local, write_text
    from experiments_platform.pipeline.evaluator import uri_path
    from experiments_platform.pipeline.run_local import run_compiled

    write_text(spec.artifacts.spec, spec.to_json())
    ir = compile_local(spec)
    write_text(spec.artifacts.pipeline, ir)
    run_compiled(ir, data_dir.resolve() / "logs" / spec.experiment_id, Path(uri_path(spec.artifacts.artifacts)),
                 on_task=progress)
    return json.loads(Path(uri_path(spec.artifacts.metrics)).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="movielens-sample")
    parser.add_argument("--features", type=Path, help="FeatureConfig JSON file")
    parser.add_argument("--model", type=Path, help="ModelConfig JSON file")
    parser.add_argument("--params", type=Path, help="QuickTestParameters JSON file")
    settings = load_settings()
    parser.add_argument("--data-dir", type=Path, default=settings.data_dir)
    parser.add_argument("--mlflow-uri", default=settings.mlflow_tracking_uri)
    parser.add_argument("--experiment-id", default=None)
    args = parser.parse_args(argv)
    features = FeatureConfig.model_validate_json(args.features.read_text()) if args.features \
        else FeatureConfig.model_validate(DEFAULT_FEATURES)
    model = ModelConfig.model_validate_json(args.model.read_text()) if args.model else ModelConfig(name="default")
    parameters = QuickTestParameters.model_validate_json(args.params.read_text()) if args.params \
        else QuickTestParameters()
    dataset = load_dataset(args.dataset, args.data_dir)
    experiment_id = args.experiment_id or f"cli{uuid.uuid4().hex[:12]}"
    spec = make_spec(dataset, features, model, parameters, args.data_dir, args.mlflow_uri, experiment_id)
    metrics = run(spec, args.data_dir, Progress())
    print(json.dumps({"experiment_id": experiment_id, **metrics["final"], "protocol": metrics["protocol"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
