"""Seed the document store (and optionally MLflow) with finished experiments for UI tests and benchmarks.

The experiments are real domain documents (``Experiment.to_document()``, validated by the domain
model) written through the platform's document store, the way the status watcher leaves them: a
spread of feature configs (id embedding sizes, crosses), model configs (towers) and parameters, with
final metrics, the per-epoch history and vocabularies in the pipeline's ``metrics.json`` shape. With
``mlflow_uri`` each completed run also gets an MLflow run holding the per-epoch metrics (one
``log_batch`` per run), so the Training tab reads real tracker data.

The metric values are synthetic (a smooth function of the configuration plus noise); they stand in
for results only where a UI screen needs many finished experiments. Real quick tests are launched by
the browser tests through the UI.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from experiments_platform.domain.dataset import Dataset
from experiments_platform.domain.experiment import ClassifiedError, Experiment, QuickTestParameters, StageState
from experiments_platform.domain.features import CrossFeature, FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.status import STAGE_ORDER, Stage, StageStatus, Status
from experiments_platform.ports.documents import DocumentStore
from experiments_platform.repositories.experiments import ExperimentRepository

DIMS = (16, 32, 64, 128)
TOWERS = ((64, 32), (128, 64), (256, 128, 64))
CROSSES: tuple[tuple[str, ...], ...] = ((), ("occupation", "gender"))
EPOCHS = (1, 2, 3, 5)
LEARNING_RATES = (0.05, 0.1, 0.2)
BATCH_SIZES = (256, 512, 1024)
SAMPLES = (5, 10, 25, 100)


@dataclass(frozen=True)
class Seeded:
    ids: list[str]
    completed: list[str]
    feature_configs: list[dict[str, Any]]
    model_configs: list[dict[str, Any]]


def feature_config(dataset_id: str, dim: int, cross: Sequence[str]) -> FeatureConfig:
    crosses = [CrossFeature(tower="query", columns=list(cross), hash_buckets=200, embedding_dim=8)] if cross else []
    return FeatureConfig(
        name=f"user/item {dim}d" + (f" + {'×'.join(cross)}" if cross else ""),
        dataset_id=dataset_id,
        query_features=[
            {"column": "user_id", "kind": "id", "embedding_dim": dim},
            {"column": "occupation", "kind": "categorical", "embedding_dim": 8},
            {"column": "gender", "kind": "categorical", "embedding_dim": 4},
            {"column": "age", "kind": "numeric", "transform": "bucketize", "buckets": 8, "embedding_dim": 4},
        ],
        candidate_features=[
            {"column": "item_id", "kind": "id", "embedding_dim": dim},
            {"column": "genres", "kind": "text", "embedding_dim": 8},
        ],
        cross_features=crosses,
    )


def model_config(layers: Sequence[int]) -> ModelConfig:
    return ModelConfig(name="towers " + "→".join(map(str, layers)), query_tower_layers=list(layers),
                       candidate_tower_layers=list(layers), epochs=3, batch_size=512, learning_rate=0.1)


def _history(rng: random.Random, epochs: int, quality: float) -> list[dict[str, float]]:
    rows = []
    for epoch in range(1, epochs + 1):
        loss = 1800 * math.exp(-0.35 * epoch * quality) + rng.uniform(0, 20)
        reg = 0.8 + 0.1 * epoch + rng.uniform(0, 0.05)
        rows.append({
            "epoch": epoch,
            "loss": loss, "regularization_loss": reg, "total_loss": loss + reg,
            "val_loss": loss * 1.08 + rng.uniform(0, 15), "val_regularization_loss": reg,
            "val_total_loss": loss * 1.08 + reg,
            "weight_norm": 12 + 3 * epoch, "query_weight_norm": 8 + 2 * epoch, "candidate_weight_norm": 9 + 2.1 * epoch,
            "query_weights_mean": 0.001 * epoch, "query_weights_std": 0.05 + 0.01 * epoch,
            "query_weights_min": -0.2 - 0.03 * epoch, "query_weights_max": 0.21 + 0.03 * epoch,
            "candidate_weights_mean": -0.001 * epoch, "candidate_weights_std": 0.06 + 0.01 * epoch,
            "candidate_weights_min": -0.25 - 0.03 * epoch, "candidate_weights_max": 0.24 + 0.03 * epoch,
        })
    return rows


def results(rng: random.Random, dim: int, cross: bool, layers: Sequence[int], epochs: int, lr: float,
            run_id: str | None) -> dict[str, Any]:
    """A ``metrics.json``-shaped results document whose recall depends smoothly on the configuration."""
    quality = 0.6 + 0.08 * math.log2(dim / 16) + (0.05 if cross else 0) + 0.02 * (len(layers) - 2)
    quality -= 0.02 * abs(epochs - 3)
    quality -= 0.4 * abs(math.log10(lr / 0.1))
    recall_100 = max(0.05, min(0.7, 0.25 + 0.22 * quality + rng.gauss(0, 0.015)))
    final = {"test_loss": 1500 * (1.2 - quality) + rng.uniform(0, 30)}
    final["test_loss_per_example"] = final["test_loss"] / 1024  # what ranks (decision 079)
    for variant, lift in (("", 1.0), ("_excluding_train_items", 1.5)):
        for k, share in ((10, 0.3), (50, 0.75), (100, 1.0)):
            final[f"recall_at_{k}{variant}"] = round(min(0.95, recall_100 * share * lift), 4)
            final[f"popularity_recall_at_{k}{variant}"] = round(min(0.95, 0.295 * share * lift), 4)
    return {
        "mlflow_run_id": run_id,
        "final": final,
        "history": _history(rng, epochs, quality),
        "recall": {"random_recall_at_100": 100 / 1682},
        "vocabularies": {
            "query.user_id": {"tower": "query", "column": "user_id", "kind": "id", "vocab_size": 50, "oov_rate": 0.0},
            "query.occupation": {"tower": "query", "column": "occupation", "kind": "categorical", "vocab_size": 19,
                                 "oov_rate": 0.0},
            "candidate.item_id": {"tower": "candidate", "column": "item_id", "kind": "id", "vocab_size": 1203,
                                  "oov_rate": round(rng.uniform(0.02, 0.09), 4)},
            "candidate.genres": {"tower": "candidate", "column": "genres", "kind": "text", "vocab_size": 19,
                                 "oov_rate": 0.0},
        },
        "protocol": {"split_strategy": "random", "corpus_size": 1682, "test_interactions": 540,
                     "sampling_bias_correction": True},
    }


FAILURES = (
    ClassifiedError(code="OUT_OF_MEMORY", title="Out of memory", stage=Stage.TRANSFORM,
                    suggestion="Reduce the batch size or the sample, or choose a larger hardware tier.",
                    excerpt="ResourceExhaustedError: OOM when allocating tensor with shape[65536,128]"),
    ClassifiedError(code="EMPTY_SPLIT", title="A split is empty after sampling", stage=Stage.EXAMPLES,
                    suggestion="Use a larger sample percent or a longer time window.",
                    excerpt="ValueError: test split has 0 rows after sampling 5%"),
)


def _stages(status: Status, started: datetime, failed_at: int, rng: random.Random) -> dict[Stage, StageState]:
    stages = {}
    clock = started
    for index, stage in enumerate(STAGE_ORDER):
        took = timedelta(seconds=rng.uniform(3, 25))
        if status == Status.COMPLETED or index < failed_at:
            stages[stage] = StageState(status=StageStatus.SUCCEEDED, started_at=clock, finished_at=clock + took)
        elif index == failed_at:
            final = StageStatus.FAILED if status == Status.FAILED else StageStatus.CANCELLED
            stages[stage] = StageState(status=final, started_at=clock, finished_at=clock + took)
        else:
            stages[stage] = StageState()
        clock += took
    return stages


def log_mlflow_runs(mlflow_uri: str, docs: Sequence[dict[str, Any]], workers: int = 4) -> None:
    """One MLflow run per document with its per-epoch history and final metrics (``log_batch``)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=mlflow_uri)
    experiment = client.get_experiment_by_name("ui-seeded")
    experiment_id = experiment.experiment_id if experiment else client.create_experiment("ui-seeded")

    def one(doc: dict[str, Any]) -> None:
        run = client.create_run(experiment_id, run_name=f"Exp #{doc['number']}")
        stamp = 1_700_000_000_000
        metrics = [Metric(name, float(value), stamp, row["epoch"])
                   for row in doc["results"]["history"] for name, value in row.items() if name != "epoch"]
        metrics += [Metric(name, float(value), stamp, 0) for name, value in doc["results"]["final"].items()]
        params = [Param(k, str(v)) for k, v in doc["parameters"].items() if k != "split"]
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        client.set_terminated(run.info.run_id)
        doc["mlflow_run_id"] = run.info.run_id
        doc["results"]["mlflow_run_id"] = run.info.run_id

    with ThreadPoolExecutor(max_workers=workers) as pool, contextlib.redirect_stdout(io.StringIO()):
        list(pool.map(one, docs))


def seed_experiments(documents: DocumentStore, dataset: Dataset, count: int, *, seed: int = 7,
                     mlflow_uri: str | None = None, name_prefix: str = "Seeded run") -> Seeded:
    """Write ``count`` finished experiments (numbers continue the store's Exp #N counter); one in twelve
    failed with a classified error and one in twelve cancelled, the rest completed."""
    rng = random.Random(seed)
    feature_configs = {(d, c): feature_config(dataset.id, d, c) for d in DIMS for c in CROSSES}
    model_configs = {t: model_config(t) for t in TOWERS}
    for fc_doc in feature_configs.values():
        documents.set("feature_configs", fc_doc.id, fc_doc.to_document())
    for mc_doc in model_configs.values():
        documents.set("model_configs", mc_doc.id, mc_doc.to_document())

    def reserve(tx: Any) -> int:
        counter = tx.get("counters", "experiments") or {}
        first = int(counter.get("last_number", 0)) + 1
        tx.set("counters", "experiments", {**counter, "last_number": first + count - 1})
        return first

    first = documents.run_transaction(reserve)
    now = datetime.now(timezone.utc)
    docs = []
    for i in range(count):
        dim, cross, layers = rng.choice(DIMS), rng.choice(CROSSES), rng.choice(TOWERS)
        epochs, lr = rng.choice(EPOCHS), rng.choice(LEARNING_RATES)
        status = {5: Status.FAILED, 9: Status.CANCELLED}.get(i % 12, Status.COMPLETED)
        created = now - timedelta(minutes=10 * (count - i) + rng.uniform(0, 5))
        started = created + timedelta(seconds=rng.uniform(1, 4))
        failed_at = rng.randrange(1, 6)
        stages = _stages(status, started, failed_at, rng)
        finished = max((s.finished_at for s in stages.values() if s.finished_at), default=started)
        fc, mc = feature_configs[(dim, cross)], model_configs[layers]
        experiment = Experiment(
            number=first + i,
            name=f"{name_prefix} {first + i}: {dim}d ids, {'crossed' if cross else 'no crosses'}, "
                 f"{'→'.join(map(str, layers))}",
            description=f"lr {lr}, {epochs} epochs; seeded for the dashboard",
            dataset_id=dataset.id, feature_config_id=fc.id, model_config_id=mc.id,
            dataset_snapshot=dataset, feature_config_snapshot=fc, model_config_snapshot=mc,
            parameters=QuickTestParameters(sample_percent=rng.choice(SAMPLES), epochs=epochs, learning_rate=lr,
                                           batch_size=rng.choice(BATCH_SIZES),
                                           hardware_tier=rng.choice(("small", "small", "medium"))),
            status=status, stages=stages,
            results=results(rng, dim, bool(cross), layers, epochs, lr, None) if status == Status.COMPLETED else None,
            error=FAILURES[i % len(FAILURES)] if status == Status.FAILED else None,
            created_at=created, updated_at=finished, started_at=started, finished_at=finished,
        )
        docs.append(experiment.to_document())
    completed = [d for d in docs if d["status"] == Status.COMPLETED.value]
    if mlflow_uri and completed:
        log_mlflow_runs(mlflow_uri, completed)
    ExperimentRepository(documents).save(*docs)
    return Seeded(ids=[d["id"] for d in docs], completed=[d["id"] for d in completed],
                  feature_configs=[c.to_document() for c in feature_configs.values()],
                  model_configs=[c.to_document() for c in model_configs.values()])
