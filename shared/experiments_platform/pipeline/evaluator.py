"""The pipeline's last step: publish the evaluation as the experiment's metrics artifact.

Reads the Trainer's ``evaluation.json`` as a ``MetricsReport``, checks that it is complete (every
number the platform shows present, finite and catalogued, the per-epoch history there), writes it
as ``metrics.json`` at the spec's URI (what the status watcher reads), then records the final
metrics, the file as an artifact and the run's end in the run's tracking journal, which MLflow gets
when it answers (``pipeline.tracking``): a pipeline never fails or waits because MLflow is down.
"""

# No `from __future__ import annotations`: the @component decorator reads real type annotations.

import os
import tempfile

import tensorflow as tf
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import ModelEvaluation, ModelRun

from experiments_platform.domain.metrics_report import MetricsReport, parse_report
from experiments_platform.domain.pipeline_spec import QuickTestSpec
from experiments_platform.pipeline.tracking import TrackedRun
from experiments_platform.pipeline.trainer import EVALUATION_FILE, TRACKING_WAIT_S


def uri_path(uri: str) -> str:
    """A path tf.io.gfile understands (``file://`` stripped; ``gs://`` kept)."""
    return uri[len("file://"):] if uri.startswith("file://") else uri


def publish_metrics(spec: QuickTestSpec, report: MetricsReport, local_copy: str) -> MetricsReport:
    """Check the report complete, write metrics.json, and end the tracked run with the final metrics.

    The report names the MLflow run when the trainer's delivery created it (else reconcile records it).
    """
    report.check_complete()
    tracked = TrackedRun.resume(spec.artifacts.tracking)
    if tracked.run_id and not report.mlflow_run_id:
        report = report.model_copy(update={"mlflow_run_id": tracked.run_id,
                                           "mlflow_experiment_id": tracked.experiment_id})
    text = report.to_json()
    target = uri_path(spec.artifacts.metrics)
    tf.io.gfile.makedirs(os.path.dirname(target))
    with tf.io.gfile.GFile(target, "w") as out:
        out.write(text)
    with open(local_copy, "w") as out:
        out.write(text)
    tracked.log_final(report.final, step=len(report.history))
    tracked.add_artifact(spec.artifacts.metrics)
    tracked.end("FINISHED")
    tracked.close(TRACKING_WAIT_S)
    return report


@component
def QuickTestEvaluator(  # noqa: N802
    model_run: InputArtifact[ModelRun],
    evaluation: OutputArtifact[ModelEvaluation],
    spec_json: Parameter[str],
) -> None:
    spec = QuickTestSpec.from_json(spec_json)
    source_uri = f"{model_run.uri}/{EVALUATION_FILE}"
    with tf.io.gfile.GFile(source_uri) as source:
        report = parse_report(source.read(), source_uri)
    tf.io.gfile.makedirs(evaluation.uri)
    with tempfile.TemporaryDirectory() as scratch:
        local_copy = os.path.join(scratch, "metrics.json")
        publish_metrics(spec, report, local_copy)
        tf.io.gfile.copy(local_copy, f"{evaluation.uri}/metrics.json", overwrite=True)
