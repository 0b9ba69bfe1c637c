"""Small, valid quick-test specs for the pipeline tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments_platform.domain.experiment import QuickTestParameters, RandomSplit
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.pipeline_spec import ArtifactUris, MlflowTarget, QuickTestSpec, SplitQueries


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
