"""Watched datasets (issue 13): pin quick tests to a dataset, run them again when its source changes.

``pin`` makes a watch from a completed quick test of the dataset (its configs and parameters; the
experiment is the watch's first run) or from configs named directly (a first run starts at once, so
the first change has something to compare with). ``on_source_changed`` is called by
``handlers.data_sources`` after a dataset was refreshed from a changed source: every watch of the
dataset starts its quick test again through ``handlers.experiments.start_experiment`` (launch check,
Exp #N, ``SubmitExperiment``: the submitter's admission queue decides when it runs). A launch the
check refuses on the new data is kept on the watch with the reason; one source change starts each
watch once (its event id), whatever the redeliveries. ``watches_view`` shows each watch with its runs
and the newest completed run against the one before it (``domain.watch.drift``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from experiments_platform.bootstrap import Platform
from experiments_platform.domain.base import DomainModel
from experiments_platform.domain.dataset import Dataset
from experiments_platform.domain.experiment import QuickTestParameters
from experiments_platform.domain.noise import BuyerHits
from experiments_platform.domain.preflight import Minimums
from experiments_platform.domain.status import Status
from experiments_platform.domain.watch import Watch, WatchRun, drift, latest_pair
from experiments_platform.errors import InvalidInput, NotFound, PlatformError, QueueFull
from experiments_platform.handlers import admission, configs
from experiments_platform.handlers.experiments import Estimator, Launcher, prepare, start_experiment
from experiments_platform.identity import current_user
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.bus import EventBus
from experiments_platform.ports.documents import Doc, DocumentStore
from experiments_platform.repositories.experiments import ExperimentRepository
from experiments_platform.repositories.watches import WatchRepository

log = get_logger(__name__)

HitsReader = Callable[[str], BuyerHits | None]


class PinRequest(DomainModel):
    """``POST /api/datasets/{id}/watches``: a completed quick test of the dataset, or configs."""

    experiment_id: str | None = Field(default=None, min_length=1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    feature_config_id: str | None = Field(default=None, min_length=1)
    model_config_id: str | None = Field(default=None, min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)


def _dataset(documents: DocumentStore, dataset_id: str) -> Dataset:
    return Dataset.model_validate(configs.load(documents, configs.DATASETS, dataset_id, field="dataset_id"))


def _start_request(watch: Watch, name: str) -> dict[str, Any]:
    return {"name": name[:200], "dataset_id": watch.dataset_id, "feature_config_id": watch.feature_config_id,
            "model_config_id": watch.model_config_id, "parameters": watch.parameters}


def _quick_test(watch: Watch) -> tuple[str, str, str, Any]:
    """What a watch runs: its dataset, configs and parameters (defaults filled, so an experiment's full
    parameters and the same values named in a request compare equal)."""
    try:
        parameters: Any = QuickTestParameters.model_validate(watch.parameters).model_dump(mode="json")
    except ValueError:  # not valid parameters: compared as given (start_experiment refuses them)
        parameters = watch.parameters
    return watch.dataset_id, watch.feature_config_id, watch.model_config_id, parameters


def _existing(documents: DocumentStore, watch: Watch) -> Watch | None:
    """The dataset's watch of the same quick test, if one exists (pinning it again adds none)."""
    same = _quick_test(watch)
    return next((w for w in WatchRepository(documents).of_dataset(watch.dataset_id)
                 if (watch.pinned_from and w.pinned_from == watch.pinned_from) or _quick_test(w) == same), None)


def pin(documents: DocumentStore, bus: EventBus, launcher: Launcher, dataset_id: str, payload: Any,
        estimator: Estimator | None = None, make_room: Callable[[int], None] | None = None) -> tuple[Doc, bool]:
    """A watch of ``dataset_id`` and whether it is new; from a completed experiment (its first run) or
    configs (run now: ``make_room(1)``, the gateway's queue bound, may refuse it first). The same quick
    test (experiment, or configs and parameters) pinned again answers its existing watch: nothing is
    stored or started (the gateway's ``admission.one_start_at_a_time`` keeps two pins apart)."""
    dataset = _dataset(documents, dataset_id)
    request = configs.validated(PinRequest, payload if payload is not None else {})
    if request.experiment_id:
        if request.feature_config_id or request.model_config_id or request.parameters:
            raise InvalidInput("experiment_id: pin either a completed experiment or configs, not both; leave out "
                               "feature_config_id, model_config_id and parameters", field="experiment_id")
        experiment = ExperimentRepository(documents).get(request.experiment_id, field="experiment_id")
        if experiment.dataset_id != dataset.id:
            raise InvalidInput(f"experiment_id: {experiment.label} ran on another dataset; pin a quick test of "
                               f"{dataset.name!r}", field="experiment_id")
        if experiment.full_training is not None or experiment.status is not Status.COMPLETED:
            what = "a full training" if experiment.full_training else experiment.status.value
            raise InvalidInput(f"experiment_id: {experiment.label} is {what}; pin a completed quick test",
                               field="experiment_id")
        watch = Watch(name=request.name or experiment.name, dataset_id=dataset.id,
                      feature_config_id=experiment.feature_config_id, model_config_id=experiment.model_config_id,
                      parameters=experiment.parameters.model_dump(mode="json"), pinned_from=experiment.id,
                      created_by=current_user.get())
        if (existing := _existing(documents, watch)) is not None:
            return existing.to_document(), False
        watch.add(WatchRun(at=experiment.created_at, trigger="pinned", experiment_id=experiment.id,
                           number=experiment.number, rows=experiment.dataset_snapshot.row_count))
        return WatchRepository(documents).create(watch).to_document(), True
    missing = [f for f in ("feature_config_id", "model_config_id") if not getattr(request, f)]
    if missing:
        raise InvalidInput(f"{missing[0]}: required to pin configs (or give experiment_id, a completed quick test "
                           "of this dataset)", field=missing[0])
    assert request.feature_config_id and request.model_config_id
    watch = Watch(name=request.name or "watched quick test", dataset_id=dataset.id,
                  feature_config_id=request.feature_config_id, model_config_id=request.model_config_id,
                  parameters=request.parameters, created_by=current_user.get())
    prepare(documents, _start_request(watch, watch.name))  # refuse configs that do not fit before storing
    if (existing := _existing(documents, watch)) is not None:
        return existing.to_document(), False
    if make_room is not None:
        make_room(1)
    started = start_experiment(documents, bus, _start_request(watch, watch.name), launcher, estimator)
    watch.add(WatchRun(trigger="pinned", experiment_id=started["id"], number=started["number"],
                       rows=dataset.row_count))
    return WatchRepository(documents).create(watch).to_document(), True


def unpin(documents: DocumentStore, dataset_id: str, watch_id: str) -> None:
    watch = WatchRepository(documents).get(watch_id, field="watch_id")
    if watch.dataset_id != dataset_id:
        raise NotFound(f"watch_id: watch {watch_id!r} doesn't watch dataset {dataset_id!r}", field="watch_id")
    WatchRepository(documents).delete(watch_id)


def on_source_changed(platform: Platform, dataset_id: str, event_id: str) -> list[str]:
    """Start every watch of the refreshed dataset again; the experiment ids started."""
    settings = platform.settings
    launcher = Launcher(platform.warehouse, Minimums(settings.preflight_min_interactions,
                                                     settings.preflight_min_buyers))
    repository = WatchRepository(platform.documents)
    started: list[str] = []
    for watch in repository.of_dataset(dataset_id):
        if watch.has_run_for(event_id):
            log.info("watch already ran for this source change", extra=fields(watch_id=watch.id, event_id=event_id))
            continue
        run = _run_again(platform, launcher, watch, event_id)
        repository.update(watch.id, lambda w, run=run: w.add(run))  # type: ignore[misc]
        if run.experiment_id:
            started.append(run.experiment_id)
    return started


def _run_again(platform: Platform, launcher: Launcher, watch: Watch, event_id: str) -> WatchRun:
    dataset = _dataset(platform.documents, watch.dataset_id)
    context = fields(watch_id=watch.id, dataset_id=watch.dataset_id, event_id=event_id)
    try:
        with admission.one_start_at_a_time(platform):
            admission.refuse_when_full(platform)  # past the queue's bound the watch keeps the refusal
            doc = start_experiment(platform.documents, platform.bus,
                                   _start_request(watch, f"{watch.name} · source changed"), launcher)
    except PlatformError as exc:
        if not isinstance(exc, (InvalidInput, NotFound, QueueFull)):
            raise  # transient: the event is retried, and has_run_for keeps it to one run
        log.warning("watched quick test refused on the changed data", extra=fields(reason=exc.message, **context))
        return WatchRun(trigger="source_change", event_id=event_id, rows=dataset.row_count, refused=exc.message)
    log.info("watched quick test started on the changed data", extra=fields(experiment_id=doc["id"], **context))
    return WatchRun(trigger="source_change", experiment_id=doc["id"], number=doc["number"], event_id=event_id,
                    rows=dataset.row_count)


def watches_view(documents: DocumentStore, dataset_id: str, hits: HitsReader) -> dict[str, Any]:
    """The dataset's watches, each with its runs, their experiments' statuses and its newest drift."""
    _dataset(documents, dataset_id)
    experiments = ExperimentRepository(documents)
    views = []
    for watch in WatchRepository(documents).of_dataset(dataset_id):
        docs: dict[str, Doc] = {}
        for run in watch.runs:
            if run.experiment_id:
                try:
                    docs[run.experiment_id] = experiments.document(run.experiment_id)
                except NotFound:
                    continue
        statuses = {i: d.get("status") for i, d in docs.items()}
        completed = {i: d for i, d in docs.items() if d.get("status") == Status.COMPLETED.value}
        pair = latest_pair(watch.runs, completed)
        changed = None
        if pair is not None:
            before, after = pair
            changed = drift(before, after, {before["id"]: hits(before["id"]), after["id"]: hits(after["id"])})
        views.append({**watch.to_document(), "statuses": statuses, "drift": changed})
    return {"watches": views}
