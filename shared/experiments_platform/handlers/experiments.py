"""Service layer of experiments: start, get, list, cancel, selectable, and their summaries.

``start_experiment`` runs the launch check (``handlers.preflight``: refuses what cannot give a
meaningful result, counts the splits, warns), creates the experiment through the repository
(status pending, the next Exp #N taken in the same transaction, frozen snapshots of the dataset
and configs, its protocol, counts and warnings) and publishes ``SubmitExperiment``.
``start_full_training`` does the same for a full training of a completed quick test: its frozen
configs and split protocol, 100 % of the data, early stopping (decision 075); a full training
from configs directly is a start request with a ``full_training`` block.
``cancel_experiment`` sets ``cancel_requested`` in a transaction and publishes
``CancelExperiment``; the lifecycle services do the actual stopping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from pydantic import Field

from experiments_platform.domain import error_codes, lifecycle
from experiments_platform.domain.base import DomainModel, utcnow
from experiments_platform.domain.dataset import Dataset
from experiments_platform.domain.experiment import (
    Estimate,
    Experiment,
    HardwareTier,
    QuickTestParameters,
)
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.full_training import FullTrainingParameters
from experiments_platform.domain.metrics import PRIMARY_METRIC
from experiments_platform.domain.metrics_report import final_metrics
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.names import unknown_name_message
from experiments_platform.domain.preflight import Minimums
from experiments_platform.domain.status import CANCELLABLE, Status
from experiments_platform.errors import Conflict, InvalidInput, NotFound, TransientError
from experiments_platform.events.messages import CancelExperiment, SubmitExperiment, Topics
from experiments_platform.handlers import configs
from experiments_platform.handlers.preflight import LaunchCheck, check_launch
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.bus import EventBus
from experiments_platform.ports.documents import Doc, DocumentStore
from experiments_platform.ports.warehouse import Warehouse
from experiments_platform.repositories.experiment_index import ExperimentIndex
from experiments_platform.repositories.experiments import ExperimentRepository

log = get_logger(__name__)

SELECTABLE = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
SORTABLE = ("created_at", "number", "name", "status", "started_at", "finished_at", "updated_at")
MAX_PAGE_SIZE = 1000
TIME_SPLITS = ("time_holdout", "strict_time", "buyer_time")

Estimator = Callable[[Dataset, FeatureConfig, ModelConfig, QuickTestParameters], Estimate]


class StartRequest(DomainModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    dataset_id: str | None = None
    feature_config_id: str = Field(min_length=1)
    model_config_id: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)
    full_training: dict[str, Any] | None = Field(
        default=None, description="present for a full training (FullTrainingParameters; decision 075)")


class FullTrainingRequest(DomainModel):
    """``POST /api/experiments/{id}/full-training``: everything optional; the configs and the split
    protocol are the quick test's."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    full_training: dict[str, Any] = Field(default_factory=dict)
    hardware_tier: HardwareTier | None = None


@dataclass(frozen=True)
class PreparedExperiment:
    """Everything of a new experiment except its id and number."""

    request: StartRequest
    dataset: Dataset
    feature_config: FeatureConfig
    model: ModelConfig
    parameters: QuickTestParameters
    full_training: FullTrainingParameters | None = None


def _date_columns(dataset: Dataset) -> list[str]:
    return [name for name, kind in dataset.all_columns().items() if kind in ("date", "timestamp")]


def _parameters(raw: dict[str, Any], dataset: Dataset, model: ModelConfig) -> QuickTestParameters:
    data = dict(raw)
    for name in ("epochs", "batch_size", "learning_rate"):
        if data.get(name) is None:
            data[name] = getattr(model, name)
    split = data.get("split")
    if isinstance(split, dict) and split.get("strategy") in TIME_SPLITS:
        split = dict(split)
        if not split.get("date_column"):
            if not dataset.date_column:
                raise InvalidInput(
                    f"parameters.split.date_column: required by the {split['strategy']} split, and dataset "
                    f"{dataset.name!r} names no date_column; choose one of {_date_columns(dataset) or 'its columns'}",
                    field="parameters.split.date_column",
                    suggestions=_date_columns(dataset),
                )
            split["date_column"] = dataset.date_column
        data["split"] = split
    parameters = configs.validated(QuickTestParameters, data, "parameters")
    date_column = getattr(parameters.split, "date_column", None)
    if date_column is not None:
        columns = dataset.all_columns()
        if date_column not in columns:
            message, suggestions = unknown_name_message("column", date_column, _date_columns(dataset) or columns)
            field = "parameters.split.date_column"
            raise InvalidInput(f"{field}: {message}", field=field, suggestions=suggestions)
        if columns[date_column] not in ("date", "timestamp", "integer"):
            raise InvalidInput(
                f"parameters.split.date_column: {date_column!r} is a {columns[date_column]} column; a time split "
                f"needs a date or timestamp column such as {_date_columns(dataset) or '(none in this dataset)'}",
                field="parameters.split.date_column",
                suggestions=_date_columns(dataset),
            )
    return parameters


def prepare(documents: DocumentStore, payload: Any) -> PreparedExperiment:
    """Validate a start request against the stored dataset and configs, filling defaults."""
    request = configs.validated(StartRequest, payload)
    feature_config = FeatureConfig.model_validate(
        configs.load(documents, configs.FEATURE_CONFIGS, request.feature_config_id, field="feature_config_id")
    )
    model = ModelConfig.model_validate(
        configs.load(documents, configs.MODEL_CONFIGS, request.model_config_id, field="model_config_id")
    )
    dataset_id = request.dataset_id or feature_config.dataset_id
    if not dataset_id:
        raise InvalidInput(
            f"dataset_id: required, because feature config {feature_config.name!r} names no dataset",
            field="dataset_id",
        )
    dataset = Dataset.model_validate(configs.load(documents, configs.DATASETS, dataset_id, field="dataset_id"))
    problems = configs.column_problems(feature_config, dataset)
    if problems:
        first = problems[0]
        raise InvalidInput(
            f"feature_config_id: feature config {feature_config.name!r} does not fit dataset {dataset.name!r}: "
            f"{first['field']}: {first['message']}",
            field="feature_config_id",
            suggestions=first.get("suggestions"),
            details={"errors": problems},
        )
    full_training = None
    raw_parameters = request.parameters
    if request.full_training is not None:
        full_training = configs.validated(FullTrainingParameters, request.full_training, "full_training")
        raw_parameters = {"sample_percent": 100, **raw_parameters}
    parameters = _parameters(raw_parameters, dataset, model)
    if full_training is not None:
        _check_full_sample(parameters)
    request = request.model_copy(update={"dataset_id": dataset_id})
    return PreparedExperiment(
        request=request, dataset=dataset, feature_config=feature_config, model=model, parameters=parameters,
        full_training=full_training,
    )


def _check_full_sample(parameters: QuickTestParameters) -> None:
    if parameters.sample_percent != 100:
        raise InvalidInput(
            f"parameters.sample_percent: a full training uses all the data, not {parameters.sample_percent} %; "
            "set it to 100 or leave it out", field="parameters.sample_percent")


def prepare_full_training(documents: DocumentStore, source_id: str, payload: Any) -> PreparedExperiment:
    """A full training of the completed quick test ``source_id``: its frozen dataset and configs, its split
    protocol (strategy, parameters, seed), 100 % of the data, and the request's early-stopping settings."""
    request = configs.validated(FullTrainingRequest, payload if payload is not None else {})
    source = ExperimentRepository(documents).get(source_id)
    if source.full_training is not None:
        raise InvalidInput(
            f"experiment_id: {source.label} is itself a full training; start one from the quick test "
            f"{source.full_training.source_experiment_id or '(it was started from configs)'} or from configs",
            field="experiment_id")
    if source.status is not Status.COMPLETED:
        raise Conflict(f"{source.label} is {source.status.value}; a full training starts from a completed quick test",
                       details={"status": source.status.value})
    full_training = configs.validated(
        FullTrainingParameters, {**request.full_training, "source_experiment_id": source.id}, "full_training")
    update: dict[str, Any] = {"sample_percent": 100}
    if request.hardware_tier is not None:
        update["hardware_tier"] = request.hardware_tier
    start = StartRequest(
        name=request.name or f"{source.name} · full training"[:200], description=request.description,
        dataset_id=source.dataset_id, feature_config_id=source.feature_config_id,
        model_config_id=source.model_config_id, full_training=full_training.model_dump(mode="json"))
    return PreparedExperiment(
        request=start, dataset=source.dataset_snapshot, feature_config=source.feature_config_snapshot,
        model=source.model_config_snapshot, parameters=source.parameters.model_copy(update=update),
        full_training=full_training)


@dataclass(frozen=True)
class Launcher:
    """What the launch check needs: the warehouse the counts run in and the refusal thresholds."""

    warehouse: Warehouse
    minimums: Minimums = Minimums()

    def check(self, prepared: PreparedExperiment) -> LaunchCheck:
        return check_launch(self.warehouse, prepared.dataset, prepared.feature_config, prepared.model,
                            prepared.parameters, self.minimums)


def _launch_facts(check: LaunchCheck) -> dict[str, Any]:
    return {"protocol": check.protocol.to_document(), "data_check": check.data.to_document(),
            "warnings": [w.to_document() for w in check.warnings]}


def estimate_experiment(documents: DocumentStore, payload: Any, estimator: Estimator,
                        launcher: Launcher) -> dict[str, Any]:
    """Duration and cost of the requested quick test on every hardware tier, the recommended tier,
    and the launch check's counts, warnings and protocol (a refusal raises as at launch)."""
    prepared = prepare(documents, payload)
    check = launcher.check(prepared)
    estimates = [
        estimator(prepared.dataset, prepared.feature_config, prepared.model,
                  _estimated_parameters(prepared).model_copy(update={"hardware_tier": tier}))
        for tier in get_args(HardwareTier)
    ]
    return {
        "recommended_tier": estimates[0].recommended_tier,
        "row_count": prepared.dataset.row_count,
        "sample_percent": prepared.parameters.sample_percent,
        "estimates": [e.to_document() for e in estimates],
        **_launch_facts(check),
    }


def _new_experiment(prepared: PreparedExperiment, number: int, estimate: Estimate | None,
                    check: LaunchCheck) -> Experiment:
    request = prepared.request
    return Experiment(
        number=number,
        name=request.name,
        description=request.description,
        dataset_id=prepared.dataset.id,
        feature_config_id=prepared.feature_config.id,
        model_config_id=prepared.model.id,
        dataset_snapshot=prepared.dataset,
        feature_config_snapshot=prepared.feature_config,
        model_config_snapshot=prepared.model,
        parameters=prepared.parameters,
        full_training=prepared.full_training,
        estimate=estimate,
        protocol=check.protocol,
        data_check=check.data,
        warnings=check.warnings,
    )


def start_experiment(
    documents: DocumentStore, bus: EventBus, payload: Any, launcher: Launcher, estimator: Estimator | None = None
) -> Doc:
    """Check the launch, create the pending experiment with its Exp #N and publish ``SubmitExperiment``."""
    return _launch(documents, bus, prepare(documents, payload), launcher, estimator)


def start_full_training(documents: DocumentStore, bus: EventBus, source_id: str, payload: Any, launcher: Launcher,
                        estimator: Estimator | None = None) -> Doc:
    """A full training of the completed quick test ``source_id`` (decision 075), launched as any experiment."""
    return _launch(documents, bus, prepare_full_training(documents, source_id, payload), launcher, estimator)


def _estimated_parameters(prepared: PreparedExperiment) -> QuickTestParameters:
    """The parameters an estimate is made for: a full training counts its most epochs."""
    if prepared.full_training is None:
        return prepared.parameters
    return prepared.parameters.model_copy(update={"epochs": min(prepared.full_training.max_epochs, 100)})


def _launch(documents: DocumentStore, bus: EventBus, prepared: PreparedExperiment, launcher: Launcher,
            estimator: Estimator | None) -> Doc:
    check = launcher.check(prepared)
    estimate = (
        estimator(prepared.dataset, prepared.feature_config, prepared.model, _estimated_parameters(prepared))
        if estimator
        else None
    )
    experiment = ExperimentRepository(documents).create(
        lambda number: _new_experiment(prepared, number, estimate, check))
    data, attributes = SubmitExperiment(experiment_id=experiment.id).encode()
    try:
        bus.publish(Topics.SUBMIT, data, attributes)
    except Exception as exc:
        _fail_unsubmitted(documents, experiment.id, exc)
        raise TransientError(
            f"{experiment.label} was created but could not be submitted ({exc}); it is marked failed, start it again"
        ) from exc
    log.info("experiment started", extra=fields(experiment_id=experiment.id, number=experiment.number))
    return experiment.to_document()


def _fail_unsubmitted(documents: DocumentStore, experiment_id: str, exc: Exception) -> None:
    error = error_codes.SUBMIT_UNAVAILABLE.error(excerpt=str(exc)[:2000])
    now = utcnow()
    ExperimentRepository(documents).update(experiment_id, lambda e: lifecycle.fail(e, error, now))
    log.error("submit publish failed", extra=fields(experiment_id=experiment_id, error=str(exc)))


def get_experiment(documents: DocumentStore, experiment_id: str, field: str | None = None) -> Doc:
    """The stored experiment, or ``NotFound`` naming it (and ``field``, the request field that named it)."""
    return ExperimentRepository(documents).document(experiment_id, field)


def parse_statuses(value: str | None, field: str = "status") -> list[str]:
    """``"running,submitting"`` → validated status names."""
    if not value:
        return []
    names = [s.strip() for s in value.split(",") if s.strip()]
    known = [s.value for s in Status]
    for name in names:
        if name not in known:
            message, suggestions = unknown_name_message("status", name, known)
            raise InvalidInput(f"{field}: {message} (one of {', '.join(known)})", field=field, suggestions=suggestions)
    return names


def check_page(page: int, page_size: int) -> None:
    """``InvalidInput`` naming ``page`` or ``page_size`` when either is out of range."""
    if page < 1:
        raise InvalidInput("page: must be 1 or more", field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size: must be between 1 and {MAX_PAGE_SIZE}", field="page_size")


def list_experiments(
    documents: DocumentStore,
    *,
    status: str | None = None,
    dataset_id: str | None = None,
    feature_config_id: str | None = None,
    model_config_id: str | None = None,
    sort: str = "-created_at",
    page: int = 1,
    page_size: int = 50,
) -> dict[str, Any]:
    """One page of experiment summaries matching every given filter, with the total count.

    Served from this process's ``ExperimentIndex``: no document is read unless one changed, and the
    filtered, sorted list is computed once per change of the experiments.
    """
    check_page(page, page_size)
    sort_field = sort.lstrip("-")
    if sort_field not in SORTABLE:
        message, suggestions = unknown_name_message("sort field", sort_field, SORTABLE)
        raise InvalidInput(f"sort: {message} (one of {', '.join(SORTABLE)})", field="sort", suggestions=suggestions)
    descending = sort.startswith("-")
    statuses = tuple(parse_statuses(status))
    wanted = {name: value for name, value in (("dataset_id", dataset_id), ("feature_config_id", feature_config_id),
                                              ("model_config_id", model_config_id)) if value}

    def matching(summaries: tuple[Doc, ...]) -> list[Doc]:
        kept = [d for d in summaries if (not statuses or d.get("status") in statuses)
                and all(d.get(name) == value for name, value in wanted.items())]
        return sort_documents(kept, sort_field, descending)

    key = ("list", statuses, tuple(sorted(wanted.items())), sort_field, descending)
    docs = ExperimentIndex.of(documents).snapshot().view(key, matching)
    start = (page - 1) * page_size
    return {"items": docs[start:start + page_size], "total": len(docs), "page": page, "page_size": page_size}


def sort_documents(docs: list[Doc], field: str, descending: bool) -> list[Doc]:
    """Sorted in memory by ``field`` then ``number`` (missing values last), so that queries need only
    equality filters: Firestore serves those from single-field indexes, without composite indexes."""
    present = [d for d in docs if d.get(field) is not None]
    absent = [d for d in docs if d.get(field) is None]
    present.sort(key=lambda d: (d[field], d.get("number") or 0), reverse=descending)
    absent.sort(key=lambda d: d.get("number") or 0, reverse=descending)
    return present + absent


def cancel_experiment(documents: DocumentStore, bus: EventBus, experiment_id: str) -> Doc:
    """Request cancellation; idempotent. ``Conflict`` when the experiment has already ended."""

    repository = ExperimentRepository(documents)
    repository.document(experiment_id)

    def request_cancel(experiment: Experiment) -> bool:
        if experiment.status not in CANCELLABLE:
            raise Conflict(
                f"{experiment.label} is {experiment.status.value}; only pending, submitting or running experiments "
                "can be cancelled",
                details={"status": experiment.status.value},
            )
        return lifecycle.request_cancel(experiment)

    experiment, _ = repository.update(experiment_id, request_cancel)
    if experiment is None:
        raise NotFound(f"experiment {experiment_id!r} doesn't exist")
    data, attributes = CancelExperiment(experiment_id=experiment_id).encode()
    bus.publish(Topics.CANCEL, data, attributes)
    log.info("experiment cancel requested", extra=fields(experiment_id=experiment_id))
    return experiment.to_document()


# Summaries (a metric's meaning lives in domain/metrics.py)


def value_at(doc: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``parameters.split.strategy``), or None where the path ends early."""
    current: Any = doc
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def duration_s(doc: Mapping[str, Any]) -> float | None:
    started, finished = doc.get("started_at"), doc.get("finished_at")
    if not started or not finished:
        return None
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()


def summarize(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The compact row of an experiment (selection modal, leaderboard, comparison header)."""
    recall = final_metrics(doc.get("results")).get(PRIMARY_METRIC)
    return {
        "id": doc["id"],
        "number": doc.get("number"),
        "label": f"Exp #{doc.get('number')}",
        "name": doc.get("name"),
        "description": doc.get("description", ""),
        "status": doc.get("status"),
        "dataset_id": doc.get("dataset_id"),
        "dataset_name": (doc.get("dataset_snapshot") or {}).get("name"),
        "feature_config_id": doc.get("feature_config_id"),
        "feature_config_name": (doc.get("feature_config_snapshot") or {}).get("name"),
        "model_config_id": doc.get("model_config_id"),
        "model_config_name": (doc.get("model_config_snapshot") or {}).get("name"),
        "recall_at_100": recall,
        "run_kind": "quick_test" if doc.get("full_training") is None else "full_training",
        "source_experiment_id": (doc.get("full_training") or {}).get("source_experiment_id"),
        "created_at": doc.get("created_at"),
        "finished_at": doc.get("finished_at"),
    }


def selectable_experiments(documents: DocumentStore) -> dict[str, Any]:
    """Completed, failed or cancelled experiments (the ones that can be compared), newest first."""
    selectable = {s.value for s in SELECTABLE}

    def rows(summaries: tuple[Doc, ...]) -> list[dict[str, Any]]:
        docs = sort_documents([d for d in summaries if d.get("status") in selectable], "created_at", descending=True)
        return [summarize(d) for d in docs]

    items = ExperimentIndex.of(documents).snapshot().view("selectable", rows)
    return {"items": items, "total": len(items)}
