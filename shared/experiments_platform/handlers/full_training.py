"""Full trainings as the services see them (issue 12, decisions 075-077): a run's lineage and pushed model,
the Full Trains and Currently deployed cards, and the quick-test vs full-training agreement.

A full training is an experiment with ``full_training`` set (``handlers.experiments.start_full_training``);
its pipeline writes ``model.json`` beside ``metrics.json`` (decision 070). Lineage is read from the run's
ML Metadata store through ``adapters.mlmd_lineage`` (local SQLite; Vertex ML Metadata is decision 073's
unbuilt half, answered as such). "Currently deployed" is the MLflow registered model's ``production``
alias; with MLflow unreachable, the newest completed full training's ``model.json`` stands in and says so.
The first registered version of a model is production on its own; a later one when a user promotes it
(``promote``); reconcile registers the pushes MLflow was down for (``retry_pending_registrations``);
``domain.registration``, decision 079.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.domain.agreement import Pair, agreement
from experiments_platform.domain.full_training import PRODUCTION_ALIAS
from experiments_platform.domain.metrics import PRIMARY_METRIC
from experiments_platform.domain.metrics_report import final_metrics
from experiments_platform.domain.pipeline_spec import MODEL_FILE, QuickTestSpec, registry_model_name
from experiments_platform.domain.registration import PENDING, REGISTERED, ModelRegistry, register_version
from experiments_platform.domain.status import Status
from experiments_platform.errors import Conflict, NotFound, PlatformError
from experiments_platform.handlers.experiments import summarize
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.documents import Doc, Filter, Order
from experiments_platform.repositories.experiments import ExperimentRepository

log = get_logger(__name__)


def _read_json(platform: Platform, uri: str) -> dict[str, Any] | None:
    try:
        value = json.loads(platform.blobs.read_bytes(uri))
    except NotFound:
        return None
    return value if isinstance(value, dict) else None


def pushed_model(platform: Platform, experiment_id: str) -> dict[str, Any] | None:
    """The run's ``model.json`` (where its model was pushed and registered), None before the Registrar wrote it."""
    return _read_json(platform, platform.experiment_artifacts_uri(experiment_id, MODEL_FILE))


def lineage(platform: Platform, experiment_id: str) -> dict[str, Any]:
    """The artifacts that produced the run's model, their URIs and the executions that made them (ML Metadata),
    and, for a full training, its pushed model. ``lineage`` is None with a ``reason`` when there is none yet."""
    experiment = ExperimentRepository(platform.documents).get(experiment_id)
    answer: dict[str, Any] = {"experiment_id": experiment.id, "run_kind": experiment.run_kind, "lineage": None,
                              "reason": None, "model": None}
    if experiment.full_training is not None:
        answer["model"] = pushed_model(platform, experiment.id)
    raw = _read_json(platform, platform.experiment_artifacts_uri(experiment.id, "spec.json"))
    if raw is None:
        answer["reason"] = f"{experiment.label} has no pipeline spec yet (it is {experiment.status.value})"
        return answer
    from experiments_platform.adapters.mlmd_lineage import lineage_of_spec

    spec = QuickTestSpec.model_validate(raw)
    if spec.pipeline_root.startswith("file://"):
        found = lineage_of_spec(spec)
    elif experiment.pipeline_job_name is None:
        answer["reason"] = f"{experiment.label} has no Vertex AI pipeline job yet (it is {experiment.status.value})"
        return answer
    else:
        found = _vertex_lineage(platform, experiment.pipeline_job_name, experiment.id, answer)
        if answer["reason"]:
            return answer
    if found is None:
        answer["reason"] = (f"ML Metadata holds no Trainer execution of {experiment.label} yet "
                            f"(it is {experiment.status.value})")
        return answer
    answer["lineage"] = found.to_document()
    return answer


def _vertex_lineage(platform: Platform, job_name: str, experiment_id: str, answer: dict[str, Any]) -> Any:
    """The run's lineage from Vertex ML Metadata; an unreadable store sets ``answer["reason"]`` (and None)."""
    from functools import partial

    from experiments_platform.adapters.vertex_lineage import default_client, read_vertex_lineage

    client = partial(default_client, api_endpoint=platform.settings.vertex_metadata_endpoint)
    try:
        return read_vertex_lineage(job_name, experiment_id, client)
    except Exception as exc:  # permission denied, no credentials, Vertex AI unreachable: said, not raised
        log.warning("Vertex ML Metadata unreadable", extra=fields(experiment_id=experiment_id, error=str(exc)[:300]))
        answer["reason"] = f"Vertex ML Metadata could not be read ({type(exc).__name__}: {str(exc)[:200]})"
        return None


def _completed_full(docs: Sequence[Doc]) -> list[Doc]:
    return [d for d in docs if d.get("full_training") is not None and d.get("status") == Status.COMPLETED.value]


def _recall(doc: Doc) -> float | None:
    value = final_metrics(doc.get("results")).get(PRIMARY_METRIC)
    return value if isinstance(value, (int, float)) else None


def comparison_pairs(docs: Sequence[Doc]) -> list[dict[str, Any]]:
    """Per configuration, its quick test and its newest completed full training side by side: the full run's
    source quick test, or else (started from configs) the newest completed quick test of the same dataset,
    configs and split protocol apart from the sample."""
    quick = [d for d in docs if d.get("full_training") is None and d.get("status") == Status.COMPLETED.value]
    by_id = {d["id"]: d for d in quick}
    rows: dict[str, dict[str, Any]] = {}
    for full in sorted(_completed_full(docs), key=lambda d: d.get("created_at") or ""):
        source = by_id.get((full.get("full_training") or {}).get("source_experiment_id") or "")
        if source is None:
            same = [q for q in quick if all(q.get(k) == full.get(k) for k in
                                            ("dataset_id", "feature_config_id", "model_config_id"))
                    and (q.get("parameters") or {}).get("split") == (full.get("parameters") or {}).get("split")
                    and (q.get("parameters") or {}).get("seed") == (full.get("parameters") or {}).get("seed")]
            source = max(same, key=lambda q: q.get("created_at") or "", default=None)
        quick_value, full_value = (_recall(source) if source else None), _recall(full)
        if source is None or quick_value is None or full_value is None:
            continue
        rows[source["id"]] = {"key": source["id"], "quick": summarize(source), "full": summarize(full),
                              "quick_recall_at_100": quick_value, "full_recall_at_100": full_value,
                              "best_epoch": ((full.get("results") or {}).get("training") or {}).get("best_epoch")}
    return list(rows.values())


def agreement_panel(docs: Sequence[Doc]) -> dict[str, Any]:
    """The quick-vs-full rows and their rank agreement (``domain.agreement``) over the given experiments."""
    rows = comparison_pairs(docs)
    result = agreement([Pair(r["key"], r["quick_recall_at_100"], r["full_recall_at_100"]) for r in rows],
                       PRIMARY_METRIC)
    labels = {r["key"]: f"{r['quick']['label']} {r['quick']['name']}" for r in rows}
    return {**result.to_document(), "rows": rows,
            "quick_winner_label": labels.get(result.quick_winner or ""),
            "full_winner_label": labels.get(result.full_winner or "")}


def deployed(platform: Platform, docs: Sequence[Doc], dataset_id: str | None) -> dict[str, Any] | None:
    """What the registry's production alias points at, with the full training that made it and its recall."""
    full = sorted(_completed_full(docs), key=lambda d: d.get("finished_at") or "", reverse=True)
    dataset_ids = [dataset_id] if dataset_id else list(dict.fromkeys(d.get("dataset_id") for d in full))
    by_id = {d["id"]: d for d in full}
    model_alias = getattr(platform.tracker, "model_alias", None)
    for ds in dataset_ids:
        if not ds:
            continue
        name = registry_model_name(ds)
        version: dict[str, Any] | None = None
        source = "mlflow"
        if model_alias is not None:
            try:
                version = model_alias(name, PRODUCTION_ALIAS)
            except Exception as exc:  # MLflow down: the newest pushed model stands in (decision 077)
                log.warning("model registry unreachable", extra=fields(model=name, error=str(exc)[:300]))
                source = "model.json (MLflow unreachable)"
        experiment_id = ((version or {}).get("tags") or {}).get("experiment_id")
        doc = by_id.get(experiment_id or "")
        if version is None:
            doc = next((d for d in full if d.get("dataset_id") == ds), None)
            if doc is None:
                continue
            model = pushed_model(platform, doc["id"]) or {}
            version = {"name": model.get("mlflow_model_name") or name, "version": model.get("mlflow_model_version"),
                       "alias": model.get("alias") or PRODUCTION_ALIAS, "source": model.get("pushed_model_uri"),
                       "run_id": model.get("mlflow_run_id")}
            source = source if source != "mlflow" else "model.json (no production alias in MLflow)"
        return {"model_name": version.get("name"), "version": version.get("version"),
                "alias": version.get("alias"), "pushed_model_uri": version.get("source"),
                "mlflow_run_id": version.get("run_id"), "dataset_id": ds, "from": source,
                "experiment": summarize(doc) if doc else None, "recall_at_100": _recall(doc) if doc else None}
    return None


def summary(platform: Platform, docs: Sequence[Doc], dataset_id: str | None = None) -> dict[str, Any]:
    """The Full Trains and Currently deployed cards and the agreement panel, over every protocol of the dataset."""
    docs = [d for d in docs if not dataset_id or d.get("dataset_id") == dataset_id]
    full = [d for d in docs if d.get("full_training") is not None]
    completed = _completed_full(full)
    best = max(((v, d) for d in completed if (v := _recall(d)) is not None), key=lambda p: p[0], default=None)
    return {
        "quick_tests": len(docs) - len(full),
        "full_trains": {
            "total": len(full), "completed": len(completed),
            "active": sum(1 for d in full if d.get("status") not in ("completed", "failed", "cancelled")),
            "best": {"value": best[0], "experiment": summarize(best[1])} if best else None,
        },
        "currently_deployed": deployed(platform, docs, dataset_id),
        "agreement": agreement_panel(docs),
    }


def _registry(platform: Platform) -> ModelRegistry:
    tracker = platform.tracker
    if not all(hasattr(tracker, name) for name in ("model_alias", "register_model", "set_model_alias")):
        raise Conflict("the configured tracker has no model registry (PLATFORM_TRACKER must be mlflow)")
    return tracker  # type: ignore[return-value]


def _write_model_record(platform: Platform, experiment_id: str, record: dict[str, Any]) -> None:
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment_id, MODEL_FILE),
                               json.dumps(record, indent=2).encode(), content_type="application/json")


def _local_copy(platform: Platform, uri: str, scratch: str) -> str:
    """A local folder holding the pushed SavedModel (the folder itself for ``file://``; a copy otherwise)."""
    if uri.startswith("file://") or "://" not in uri:
        return uri.removeprefix("file://")
    prefix = uri.rstrip("/") + "/"
    for blob in platform.blobs.list(prefix):
        target = os.path.join(scratch, blob[len(prefix):])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            out.write(platform.blobs.read_bytes(blob))
    return scratch


def retry_pending_registrations(platform: Platform, limit: int = 100) -> list[str]:
    """Register every pushed model whose registration is pending (MLflow was down when the Registrar ran), among
    the ``limit`` most recently updated completed experiments; the ids registered now. Run by every reconcile
    sweep (ordered by ``updated_at``: the index reconcile already uses)."""
    done: list[str] = []
    newest = ExperimentRepository(platform.documents).query(
        [Filter("status", "==", Status.COMPLETED.value)], [Order("updated_at", "desc")], limit=limit)
    for experiment in newest:
        if experiment.full_training is None:
            continue
        record = pushed_model(platform, experiment.id)
        if record is None or record.get("registration") != PENDING:
            continue
        if not record.get("mlflow_run_id") and experiment.mlflow_run_id:
            record["mlflow_run_id"] = experiment.mlflow_run_id  # delivered by the tracking sync since
        try:
            with tempfile.TemporaryDirectory() as scratch:
                model_dir = _local_copy(platform, str(record["pushed_model_uri"]), scratch)
                updated = register_version(_registry(platform), record, model_dir)
        except (PlatformError, OSError) as exc:
            log.warning("pending registration not retried", extra=fields(experiment_id=experiment.id, error=str(exc)))
            continue
        _write_model_record(platform, experiment.id, updated)
        if updated["registration"] == REGISTERED:
            _touch(platform, experiment.id)
            done.append(experiment.id)
            log.info("pending model registration done", extra=fields(
                experiment_id=experiment.id, version=updated["mlflow_model_version"], production=updated["production"]))
    return done


def promote(platform: Platform, experiment_id: str) -> dict[str, Any]:
    """Point the ``production`` alias of the run's registered model at the run's version; the Currently deployed
    card after it. Only a completed full training whose model is registered can be promoted."""
    experiment = ExperimentRepository(platform.documents).get(experiment_id)
    if experiment.full_training is None:
        raise Conflict(f"{experiment.label} is a quick test: only a full training pushes a model to promote; "
                       "run a full training of it first", field="experiment_id")
    if experiment.status is not Status.COMPLETED:
        raise Conflict(f"{experiment.label} is {experiment.status.value}: only a completed full training can be "
                       "promoted", field="experiment_id")
    record = pushed_model(platform, experiment.id)
    if record is None:
        raise Conflict(f"{experiment.label} has no pushed model (model.json is missing)", field="experiment_id")
    if record.get("registration") != REGISTERED or not record.get("mlflow_model_version"):
        raise Conflict(f"{experiment.label}'s model is not registered yet ({record.get('registration_error')}); "
                       "reconcile registers it once MLflow answers, then promote it", field="experiment_id")
    name, version = str(record["mlflow_model_name"]), str(record["mlflow_model_version"])
    _registry(platform).set_model_alias(name, str(record.get("alias") or PRODUCTION_ALIAS), version)
    _touch(platform, experiment.id)
    log.info("model promoted", extra=fields(experiment_id=experiment.id, model=name, version=version))
    docs = [d for d in _full_docs(platform) if d.get("dataset_id") == experiment.dataset_id]
    return {"experiment_id": experiment.id, "model_name": name, "version": version,
            "currently_deployed": deployed(platform, docs, experiment.dataset_id)}


def _touch(platform: Platform, experiment_id: str) -> None:
    """Stamp the experiment's ``updated_at``: the registry changed under it, so the cached Full Trains and
    Currently deployed cards (one view per change of the experiments) are computed again."""
    ExperimentRepository(platform.documents).update(experiment_id, lambda _: True)


def _full_docs(platform: Platform) -> list[Doc]:
    return [e.to_document() for e in ExperimentRepository(platform.documents).query(
        [Filter("status", "==", Status.COMPLETED.value)], [Order("updated_at", "desc")], limit=200)
        if e.full_training is not None]
