"""The pipeline's last step: publish the evaluation as the experiment's metrics artifact.

Reads the Trainer's ``evaluation.json`` (exact recall, baseline, per-epoch history, OOV), checks
that every number the platform shows is present and finite, writes it as ``metrics.json`` at the
spec's URI (what the status watcher reads), records the final metrics in MLflow in one batch with
the file as an artifact, and closes the MLflow run.
"""

# No `from __future__ import annotations`: the @component decorator reads real type annotations.

import json
import math
import os
import tempfile
from typing import Any

import tensorflow as tf
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import ModelEvaluation, ModelRun

from experiments_platform.domain.pipeline_spec import QuickTestSpec
from experiments_platform.pipeline.trainer import EVALUATION_FILE

REQUIRED_FINAL = ("test_loss", "recall_at_10", "recall_at_50", "recall_at_100", "popularity_recall_at_100")


def uri_path(uri: str) -> str:
    """A path tf.io.gfile understands (``file://`` stripped; ``gs://`` kept)."""
    return uri[len("file://"):] if uri.startswith("file://") else uri


def check_evaluation(evaluation: dict[str, Any]) -> None:
    final = evaluation.get("final", {})
    missing = [name for name in REQUIRED_FINAL if name not in final]
    if missing:
        raise ValueError(f"evaluation.json lacks final metrics {missing}")
    bad = {k: v for k, v in final.items() if not math.isfinite(v)}
    if bad:
        raise ValueError(f"evaluation.json has non-finite final metrics {bad}")
    if not evaluation.get("history"):
        raise ValueError("evaluation.json has no per-epoch history")


def publish_metrics(spec: QuickTestSpec, evaluation: dict[str, Any], local_copy: str) -> None:
    """Write metrics.json and close the MLflow run with the final metrics."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    metrics = {**evaluation, "pipeline_name": spec.pipeline_name, "experiment_number": spec.experiment_number}
    text = json.dumps(metrics, indent=2)
    target = uri_path(spec.artifacts.metrics)
    tf.io.gfile.makedirs(os.path.dirname(target))
    with tf.io.gfile.GFile(target, "w") as out:
        out.write(text)
    with open(local_copy, "w") as out:
        out.write(text)
    client = MlflowClient(tracking_uri=spec.mlflow.tracking_uri)
    run_id = evaluation["mlflow_run_id"]
    step = len(evaluation["history"])
    stamp = int(tf.timestamp().numpy() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, float(v), stamp, step) for k, v in sorted(evaluation["final"].items())])
    client.log_artifact(run_id, local_copy)
    client.set_terminated(run_id, status="FINISHED")


@component
def QuickTestEvaluator(  # noqa: N802
    model_run: InputArtifact[ModelRun],
    evaluation: OutputArtifact[ModelEvaluation],
    spec_json: Parameter[str],
) -> None:
    spec = QuickTestSpec.from_json(spec_json)
    with tf.io.gfile.GFile(f"{model_run.uri}/{EVALUATION_FILE}") as source:
        result = json.loads(source.read())
    check_evaluation(result)
    tf.io.gfile.makedirs(evaluation.uri)
    with tempfile.TemporaryDirectory() as scratch:
        local_copy = os.path.join(scratch, "metrics.json")
        publish_metrics(spec, result, local_copy)
        tf.io.gfile.copy(local_copy, f"{evaluation.uri}/metrics.json", overwrite=True)
