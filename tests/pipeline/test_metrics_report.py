"""The metrics report as the pipeline writes it, read back by the services environment.

A tiny two-tower model trains for two epochs (the trainer's ``EpochLogger`` records its history in
the run's tracking journal and MLflow), is ranked exactly by ``recall_report``, assembled by
``evaluation_report`` and published by the evaluator's ``publish_metrics``; the services
environment's Python then parses the file.
``tests/fixtures/metrics/metrics.json`` (read by the services' tests) must keep the shape written
here: ``QT_UPDATE_FIXTURES=1`` rewrites it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf
from experiments_platform.domain.metrics_report import MetricsReport
from experiments_platform.domain.pipeline_spec import MlflowTarget
from experiments_platform.pipeline.evaluation import evaluation_report, recall_report, vocabulary_report
from experiments_platform.pipeline.evaluator import publish_metrics, uri_path
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY, tower_inputs
from experiments_platform.pipeline.model import SAMPLING_PROBABILITY, build_model
from experiments_platform.pipeline.tracking import TrackedRun
from experiments_platform.pipeline.trainer import EpochLogger

from .factories import make_spec

ROOT = Path(__file__).resolve().parents[2]
SERVICES_PYTHON = ROOT / ".venv" / "bin" / "python"
FIXTURE = ROOT / "tests" / "fixtures" / "metrics" / "metrics.json"
USERS, ITEMS = 40, 200


def interactions(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    users = rng.integers(0, USERS, rows)
    items = (users * 2 + rng.integers(0, 4, rows)) % ITEMS
    return {QUERY_KEY: users.astype(str).astype(object), CANDIDATE_KEY: items.astype(str).astype(object),
            "query__user_id": users, "candidate__item_id": items,
            SAMPLING_PROBABILITY: np.full(rows, 1 / ITEMS, dtype=np.float32)}


def shape(value: Any) -> Any:
    """Keys all the way down (values and list lengths left out): what must stay as written."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value and isinstance(value[0], dict) else "list"
    return type(value).__name__ if not isinstance(value, int | float) or isinstance(value, bool) else "number"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> MetricsReport:
    tmp_path = tmp_path_factory.mktemp("report")
    spec = make_spec(tmp_path, mlflow=MlflowTarget(tracking_uri=mlflow_server, experiment_name="metrics-report",
                                                   run_name="tiny"))
    rng = np.random.default_rng(11)
    splits = {"train": interactions(rng, 192), "eval": interactions(rng, 32), "test": interactions(rng, 32)}
    items = np.arange(ITEMS)
    corpus = {CANDIDATE_KEY: items.astype(str).astype(object), "candidate__item_id": items}
    sizes = {"query__user_id": USERS, "candidate__item_id": ITEMS}
    query_inputs = tower_inputs(spec.features, "query", sizes)
    candidate_inputs = tower_inputs(spec.features, "candidate", sizes)
    names = [i.name for i in query_inputs + candidate_inputs] + [SAMPLING_PROBABILITY]

    def batches(split: dict[str, np.ndarray]) -> tf.data.Dataset:
        return tf.data.Dataset.from_tensor_slices({n: split[n] for n in names}).batch(64)

    tf.keras.utils.set_random_seed(3)
    tracker = TrackedRun.start(spec.mlflow, spec.artifacts.tracking, key=spec.experiment_id,
                               tags={"experiment_id": spec.experiment_id}, params={"epochs": 2})
    model = build_model(query_inputs, candidate_inputs, spec.model, learning_rate=0.1)
    epochs = EpochLogger(tracker)
    model.fit(batches(splits["train"]), validation_data=batches(splits["eval"]), epochs=2, callbacks=[epochs],
              verbose=0)
    test = model.evaluate(batches(splits["test"]), return_dict=True, verbose=0)
    assert tracker.close(wait_s=30), tracker.journal.last_error
    query_embeddings = model.query_tower({"query__user_id": splits["test"]["query__user_id"]}).numpy()
    candidate_embeddings = model.candidate_tower({"candidate__item_id": items}).numpy()
    recall = recall_report(query_embeddings, candidate_embeddings, splits["test"], splits["train"], corpus,
                           val=splits["eval"])
    report = evaluation_report(
        spec, mlflow_run_id=tracker.run_id, mlflow_experiment_id=tracker.experiment_id, test_loss=test["loss"],
        test_loss_per_example=test["loss_per_example"], history=epochs.history, recall=recall,
        vocabularies=vocabulary_report(spec.features, sizes, splits["eval"]),
        splits=splits, corpus=corpus, timings={"load_s": 0.1, "fit_s": 93.4, "evaluate_s": 0.2, "trainer_s": 95.0},
    )
    publish_metrics(spec, report, str(tmp_path / "metrics-copy.json"))
    return MetricsReport.model_validate_json(Path(uri_path(spec.artifacts.metrics)).read_text())


def test_the_services_read_what_the_evaluator_writes(written: MetricsReport, tmp_path: Path):
    path = tmp_path / "metrics.json"
    path.write_text(written.to_json())
    reader = (
        "import json, sys; from experiments_platform.domain.metrics_report import parse_report;"
        "r = parse_report(open(sys.argv[1], 'rb').read(), sys.argv[1]); r.check_complete();"
        "print(json.dumps({'final': r.final, 'epochs': len(r.history), 'corpus': r.protocol.corpus_size}))"
    )
    out = subprocess.run([str(SERVICES_PYTHON), "-c", reader, str(path)], capture_output=True, text=True, timeout=120,
                         check=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    read = json.loads(out.stdout.strip().splitlines()[-1])
    assert read == {"final": written.final, "epochs": 2, "corpus": ITEMS}
    assert set(written.history[0].values()) >= {"loss", "val_loss", "regularization_loss", "weight_norm"}
    assert written.recall is not None and written.recall.excluding_train_items is not None


def test_the_services_fixture_keeps_the_written_shape(written: MetricsReport):
    document = json.loads(written.to_json())
    if os.environ.get("QT_UPDATE_FIXTURES"):
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(document, indent=2) + "\n")
    assert shape(json.loads(FIXTURE.read_text())) == shape(document), (
        f"{FIXTURE} no longer has the shape the evaluator writes: rerun this test with QT_UPDATE_FIXTURES=1")


def test_the_evaluator_ends_the_mlflow_run_with_the_final_metrics(written: MetricsReport, mlflow_server: str):
    from experiments_platform.adapters.mlflow_tracker import MlflowTracker

    run = MlflowTracker(mlflow_server).run(str(written.mlflow_run_id))
    assert run["status"] == "FINISHED"
    assert {k: run["metrics"][k] for k in written.final} == written.final
