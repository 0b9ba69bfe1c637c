"""A full training's last step: register the pushed model in MLflow and write ``model.json`` (decision 072).

After TFX's Pusher copied the SavedModel to ``{registry.uri}/{version}/``, the Registrar registers
it as a new version of the MLflow registered model (``registry.model_name``), tags the MLflow run
``run_kind=full_training``, and writes ``model.json`` (``ArtifactUris.model``): where the model is,
its signature, its MLflow version and whether it is production. The alias (``production``) is pointed
at the model's first version only; later ones are promoted by a user (``domain.registration``, decision
079). MLflow unreachable does not fail the run (the push is what serves): ``model.json`` then says
``registration: "pending"`` with the reason, the MLflow fields are null, and reconcile registers it once
MLflow answers.
"""

# No `from __future__ import annotations`: the @component decorator reads real type annotations.

import json
import os
import tempfile
from datetime import datetime, timezone
from typing import Any

import tensorflow as tf
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact
from tfx.types.standard_artifacts import PushedModel

from experiments_platform.domain.pipeline_spec import QuickTestSpec
from experiments_platform.domain.registration import PENDING, register_version
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.pipeline.evaluator import uri_path
from experiments_platform.pipeline.tracking import TrackedRun, tracker_for

log = get_logger(__name__)


class ModelRegistration(artifact.Artifact):
    """The Registrar's output in ML Metadata: a folder holding the ``model.json`` it wrote."""

    TYPE_NAME = "experiments.ModelRegistration"
    """A custom type name Vertex AI accepts (`namespace.Name`)."""


def _as_uri(location: str) -> str:
    return location if "://" in location else "file://" + os.path.abspath(location)


def _copy_dir(source: str, target: str) -> None:
    for folder, _, files in tf.io.gfile.walk(source):
        relative = folder[len(source):].lstrip("/")
        os.makedirs(os.path.join(target, relative), exist_ok=True)
        for name in files:
            tf.io.gfile.copy(f"{folder.rstrip('/')}/{name}", os.path.join(target, relative, name), overwrite=True)


def model_record(spec: QuickTestSpec, pushed_uri: str, pushed_destination: str, pushed_version: str,
                 serving_signature: dict[str, Any]) -> dict[str, Any]:
    """``model.json`` without its MLflow fields."""
    from experiments_platform.pipeline.full_training import EMBEDDINGS_FILE, SIGNATURE

    assert spec.full_training is not None and spec.registry is not None
    destination = _as_uri(pushed_destination)
    return {
        "experiment_id": spec.experiment_id,
        "run_kind": spec.run_kind,
        "source_experiment_id": spec.full_training.source_experiment_id,
        "serving_model_uri": _as_uri(pushed_uri),
        "pushed_model_uri": destination,
        "pushed_version": pushed_version,
        "candidate_embeddings_uri": f"{destination.rstrip('/')}/{EMBEDDINGS_FILE}",
        "signature": SIGNATURE,
        "top_k": spec.full_training.top_k,
        "inputs": serving_signature,
        "outputs": {"ids": "string [batch, top_k]", "scores": "float32 [batch, top_k]"},
        "registry_uri": spec.registry.uri,
        "mlflow_model_name": spec.registry.model_name,
        "mlflow_model_version": None,
        "alias": spec.registry.alias,
        "mlflow_run_id": None,
        "registration": PENDING,
        "registration_error": None,
        "production": False,
        "pushed_at": datetime.now(timezone.utc).isoformat(),
    }


def signature_inputs(saved_model_dir: str) -> dict[str, str]:
    """Input name → dtype of the SavedModel's serving signature (read from the model itself)."""
    from experiments_platform.pipeline.full_training import SIGNATURE

    loaded = tf.saved_model.load(saved_model_dir)
    _, inputs = loaded.signatures[SIGNATURE].structured_input_signature
    return {name: spec.dtype.name for name, spec in sorted(inputs.items())}


def register(spec: QuickTestSpec, pushed_uri: str, pushed_destination: str, pushed_version: str) -> dict[str, Any]:
    """Register the pushed model in MLflow (when it answers) and write ``model.json``; the record written."""
    assert spec.registry is not None
    record = model_record(spec, pushed_uri, pushed_destination, pushed_version, signature_inputs(pushed_uri))
    run_id = TrackedRun.resume(spec.artifacts.tracking).run_id
    record["mlflow_run_id"] = run_id
    with tempfile.TemporaryDirectory() as scratch:
        local = pushed_uri if "://" not in pushed_uri or pushed_uri.startswith("file://") else None
        if local is None and run_id is not None:
            local = os.path.join(scratch, "model")
            _copy_dir(pushed_uri, local)
        record = register_version(tracker_for(spec.mlflow), record, uri_path(local or pushed_uri))  # type: ignore[arg-type]
    if record["registration"] == PENDING:
        log.warning("model registration pending", extra=fields(error=record["registration_error"]))
    target = uri_path(spec.artifacts.model)
    tf.io.gfile.makedirs(os.path.dirname(target))
    with tf.io.gfile.GFile(target, "w") as out:
        out.write(json.dumps(record, indent=2))
    return record


@component
def Registrar(  # noqa: N802
    pushed_model: InputArtifact[PushedModel],
    registration: OutputArtifact[ModelRegistration],
    spec_json: Parameter[str],
) -> None:
    spec = QuickTestSpec.from_json(spec_json)
    if not pushed_model.get_int_custom_property("pushed"):
        raise RuntimeError(f"the Pusher did not push the model ({pushed_model.uri}); nothing to register")
    record = register(spec, pushed_model.uri, pushed_model.get_string_custom_property("pushed_destination"),
                      pushed_model.get_string_custom_property("pushed_version"))
    tf.io.gfile.makedirs(registration.uri)
    with tf.io.gfile.GFile(f"{registration.uri}/model.json", "w") as out:
        out.write(json.dumps(record, indent=2))
