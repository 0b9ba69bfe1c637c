"""Small, valid quick-test specs for the pipeline tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from experiments_platform.data.movielens import movielens_sample
from experiments_platform.domain.experiment import QuickTestParameters, RandomSplit
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.pipeline_spec import (
    ArtifactUris,
    MlflowTarget,
    QuickTestSpec,
    SplitQueries,
    data_pipeline_name,
)
from experiments_platform.sql import render_split_queries


def id_features(query_dim: int = 8, candidate_dim: int = 8) -> FeatureConfig:
    return FeatureConfig(
        name="ids",
        query_features=[{"kind": "id", "column": "user_id", "embedding_dim": query_dim}],
        candidate_features=[{"kind": "id", "column": "item_id", "embedding_dim": candidate_dim}],
    )


def make_spec(tmp: Path, queries: SplitQueries | None = None, **overrides: Any) -> QuickTestSpec:
    queries = queries or SplitQueries(
        dialect="duckdb", train="SELECT 1", eval="SELECT 2", test="SELECT 3", candidates="SELECT 4"
    )
    values: dict[str, Any] = {
        "experiment_id": "exp1",
        "experiment_number": 1,
        "pipeline_name": "qt-test",
        "dataset_id": "ds1",
        "queries": queries,
        "query_id_column": "user_id",
        "candidate_id_column": "item_id",
        "features": id_features(),
        "model": ModelConfig(name="m", query_tower_layers=[], candidate_tower_layers=[]),
        "parameters": QuickTestParameters(split=RandomSplit(train_percent=80, val_percent=10)),
        "pipeline_root": (tmp / "pipelines" / "qt-test").as_uri(),
        "artifacts": ArtifactUris.under((tmp / "artifacts").as_uri(), "exp1"),
        "mlflow": MlflowTarget(tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}", experiment_name="t", run_name="r"),
    }
    values.update(overrides)
    return QuickTestSpec(**values)


SAMPLE_FEATURES = FeatureConfig(
    name="movielens rich",
    query_features=[
        {"kind": "id", "column": "user_id", "embedding_dim": 16},
        {"kind": "categorical", "column": "occupation", "embedding_dim": 4},
        {"kind": "categorical", "column": "gender", "embedding_dim": 2},
        {"kind": "numeric", "column": "age", "transform": "bucketize", "buckets": 5, "embedding_dim": 4},
        {"kind": "timestamp", "column": "timestamp", "buckets": 4, "embedding_dim": 4},
        {"kind": "history", "column": "genres", "max_values": 8},
    ],
    candidate_features=[
        {"kind": "id", "column": "item_id", "embedding_dim": 16},
        {"kind": "text", "column": "title", "embedding_dim": 8, "max_tokens": 6},
        {"kind": "numeric", "column": "release_year", "transform": "normalize"},
        {"kind": "categorical", "column": "genres", "embedding_dim": 4},
    ],
    cross_features=[{"tower": "query", "columns": ["occupation", "gender"], "hash_buckets": 64, "embedding_dim": 4}],
)


def sample_spec(data_dir: Path, cache: Path, mlflow_uri: str, experiment_id: str, model: ModelConfig,
                epochs: int = 3) -> QuickTestSpec:
    """A spec on the first 50 users of MovieLens 100k (rich features), written to its spec.json."""
    dataset = movielens_sample(data_dir, users=50, cache_dir=cache)
    parameters = QuickTestParameters(sample_percent=100, split=RandomSplit(train_percent=80, val_percent=10),
                                     epochs=epochs, batch_size=256, learning_rate=0.1)
    queries = SplitQueries.from_rendered(render_split_queries(dataset, SAMPLE_FEATURES, parameters, "duckdb"))
    name = data_pipeline_name(dataset.id, queries)
    spec = QuickTestSpec(
        experiment_id=experiment_id, experiment_number=1, pipeline_name=name, dataset_id=dataset.id,
        queries=queries, query_id_column="user_id", candidate_id_column="item_id", features=SAMPLE_FEATURES,
        model=model, parameters=parameters, pipeline_root=(data_dir / "pipelines" / name).as_uri(),
        artifacts=ArtifactUris.under((data_dir / "artifacts").as_uri(), experiment_id),
        mlflow=MlflowTarget(tracking_uri=mlflow_uri, experiment_name="e2e", run_name=experiment_id),
    )
    path = data_dir / "artifacts" / "experiments" / experiment_id / "spec.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_json())
    return spec


def rows_read(component_log: Path) -> list[dict[str, Any]]:
    """The trainer's ``split read`` records of a component log, as the local runner writes it."""
    marker = "experiments_platform.pipeline.trainer_data: split read "
    return [json.loads(line.split(marker, 1)[1]) for line in component_log.read_text().splitlines() if marker in line]


def example_rows(split_folder: Path) -> int:
    """The examples of one split of an Examples artifact (``…/Split-train``), counted one by one."""
    import tensorflow as tf

    files = [str(f) for f in sorted(split_folder.glob("*.gz"))]
    return sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))
