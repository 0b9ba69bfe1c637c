"""Test support for the lifecycle handlers: tiny experiments and a platform around them.

The document store and warehouse are the real local adapters (SQLite, DuckDB). Builds and
pipelines are recorded (``fakes``: the handlers' calls are what these tests check); the
end-to-end tests run the real local runners instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain.dataset import Column, Dataset, TableSource
from experiments_platform.domain.experiment import Experiment, QuickTestParameters
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.repositories.experiments import COLLECTION
from fakes import recording_ports

ROWS = [
    ("u1", "i1", 5, "2024-01-01"), ("u1", "i2", 3, "2024-01-02"), ("u2", "i1", 4, "2024-01-03"),
    ("u2", "i3", 2, "2024-01-04"), ("u3", "i2", 5, "2024-01-05"), ("u3", "i3", 1, "2024-01-06"),
]


def write_interactions(folder: Path) -> str:
    path = folder / "interactions.csv"
    path.write_text("user_id,item_id,rating,ts\n" + "".join(f"{u},{i},{r},{d}\n" for u, i, r, d in ROWS))
    return path.as_uri()


def make_experiment(uri: str, *, number: int = 1, query_column: str = "user_id", **overrides: Any) -> Experiment:
    dataset = Dataset(
        id="ds1", name="tiny", source=TableSource(kind="file", uri=uri), row_count=len(ROWS),
        columns=[Column(name="user_id", type="string"), Column(name="item_id", type="string"),
                 Column(name="rating", type="integer"), Column(name="ts", type="date"),
                 Column(name=query_column, type="string")] if query_column != "user_id" else
                [Column(name="user_id", type="string"), Column(name="item_id", type="string"),
                 Column(name="rating", type="integer"), Column(name="ts", type="date")],
        query_id_column="user_id", candidate_id_column="item_id",
    )
    features = FeatureConfig(
        id="fc1", name="ids",
        query_features=[{"kind": "id", "column": "user_id"}, {"kind": "categorical", "column": query_column}]
        if query_column != "user_id" else [{"kind": "id", "column": "user_id"}],
        candidate_features=[{"kind": "id", "column": "item_id"}],
    )
    model = ModelConfig(id="mc1", name="small", query_tower_layers=[16], candidate_tower_layers=[16])
    values: dict[str, Any] = {
        "number": number, "name": f"exp {number}", "dataset_id": "ds1", "feature_config_id": "fc1",
        "model_config_id": "mc1", "dataset_snapshot": dataset, "feature_config_snapshot": features,
        "model_config_snapshot": model, "parameters": QuickTestParameters(sample_percent=100),
    }
    values.update(overrides)
    return Experiment(**values)


def make_platform(tmp: Path) -> Platform:
    from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
    from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore

    settings = Settings(data_dir=tmp)
    return Platform(
        settings,
        documents=SqliteDocumentStore(tmp / "documents.sqlite"),
        warehouse=DuckDBWarehouse(),
        **recording_ports(),
    )


def store(platform: Platform, experiment: Experiment) -> Experiment:
    platform.documents.create(COLLECTION, experiment.id, experiment.to_document())
    return experiment


def stored(platform: Platform, experiment_id: str) -> dict[str, Any]:
    document = platform.documents.get(COLLECTION, experiment_id)
    assert document is not None
    return document
