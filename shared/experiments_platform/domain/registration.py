"""Registering a pushed model in the model registry, and which version is production (decisions 072, 079).

Shared by both environments: the pipeline's Registrar registers a push when it happens; reconcile
(``handlers.full_training.retry_pending_registrations``) registers the pushes MLflow was down for. A
``model.json`` record says ``registration: "pending"`` until a version exists, then ``"registered"``.

Production: the first version of a registered model becomes production on its own (there is nothing
to compare it with); a later push is registered as a new version and becomes production only when a
user promotes it (``POST /api/experiments/{id}/promote``). A completed full training is not a deployment.
"""

from __future__ import annotations

from typing import Any, Protocol

from experiments_platform.domain.full_training import PRODUCTION_ALIAS
from experiments_platform.errors import PlatformError

PENDING = "pending"
REGISTERED = "registered"


class ModelRegistry(Protocol):
    """The MLflow tracker's registry calls (``adapters.mlflow_tracker.MlflowTracker``)."""

    def model_alias(self, name: str, alias: str) -> dict[str, Any] | None: ...

    def register_model(self, run_id: str, name: str, model_dir: str, *, alias: str | None,
                       tags: dict[str, str]) -> str: ...

    def set_model_alias(self, name: str, alias: str, version: str) -> None: ...


def register_version(registry: ModelRegistry, record: dict[str, Any], model_dir: str) -> dict[str, Any]:
    """``record`` (a ``model.json``) after registering ``model_dir`` as a new version of its model: registered,
    with its version and whether it became production (the model's first version does); still pending, with
    the reason, when the registry does not answer or the MLflow run does not exist yet."""
    updated = dict(record)
    run_id = updated.get("mlflow_run_id")
    if not run_id:
        updated["registration_error"] = "the MLflow run does not exist yet (MLflow did not answer the trainer)"
        return updated
    name = updated["mlflow_model_name"]
    alias = updated.get("alias") or PRODUCTION_ALIAS
    try:
        first = registry.model_alias(name, alias) is None
        version = registry.register_model(
            run_id, name, model_dir, alias=alias if first else None,
            tags={"run_kind": "full_training", "experiment_id": str(updated["experiment_id"]),
                  "pushed_model_uri": str(updated["pushed_model_uri"]),
                  "pushed_version": str(updated["pushed_version"])})
    except PlatformError as exc:
        updated["registration_error"] = exc.message
        return updated
    updated.update(mlflow_model_version=version, registration=REGISTERED, registration_error=None, production=first)
    return updated
