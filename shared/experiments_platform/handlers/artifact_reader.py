"""Artifact reader: what the UI shows of an experiment's artifacts, so nobody needs the console.

Metrics (the experiment's results or ``metrics.json``), the training history (tracker port, or the
run's tracking journal in the artifact store while MLflow lacks it),
the last lines of each component's log (log store) with their summary (``domain.log_summary``), the
artifacts of each stage (``artifacts.json``: component → output URIs, written by the pipeline runner), and the
statistics, schema and statistics report page of the data stages through the statistics parser
port (the tfdv_parser service over HTTP when its URL is set, in-process otherwise).

``InProcessArtifactReader`` offers these functions as the in-process adapter of
``ports.artifact_reader.ArtifactReader``; the artifact_reader service serves the same over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.log_summary import summarize
from experiments_platform.domain.status import COMPONENT_STAGES, STAGE_LABELS
from experiments_platform.domain.tracking import TrackingJournal
from experiments_platform.errors import InvalidInput, NotFound, TransientError
from experiments_platform.handlers import tracking
from experiments_platform.handlers.results import read_metrics
from experiments_platform.ports.logs import LogSource
from experiments_platform.repositories.experiments import ExperimentRepository

PIPELINE_COMPONENTS = ("ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator")
LOG_COMPONENTS = ("Compile", *PIPELINE_COMPONENTS)
MAX_LOG_LINES = 5000
SUMMARY_LINES = 2000
"""The summary of a component's log (``domain.log_summary``) is built from its last this many lines."""


def _experiment(platform: Platform, experiment_id: str) -> Experiment:
    return ExperimentRepository(platform.documents).get(experiment_id, field="experiment_id")


def metrics(platform: Platform, experiment_id: str) -> dict[str, Any]:
    experiment = _experiment(platform, experiment_id)
    results = experiment.results or read_metrics(platform, experiment_id)
    if results is None:
        raise NotFound(f"{experiment.label} has no metrics yet (status {experiment.status.value})", field="metrics")
    return {"experiment_id": experiment_id, "metrics": results.to_document(), "comparison": experiment.comparison}


def training_history(platform: Platform, experiment_id: str) -> dict[str, Any]:
    """Per-epoch series, or ``available: false`` with the reason.

    From MLflow once it holds the run; from the run's journal in the artifact store while the
    experiment trains, while its tracking is delayed, or when MLflow does not answer (``source``
    says which, ``notice`` why), so a run's history, partial or not, is never hidden by an outage.
    """
    experiment = _experiment(platform, experiment_id)
    journal = tracking.read_journal(platform, experiment_id)
    run_id = (experiment.mlflow_run_id or (experiment.results.mlflow_run_id if experiment.results else None)
              or (journal.run_id if journal else None))
    notice: str | None = None
    synced = experiment.status.terminal and (experiment.tracking is None or experiment.tracking.state == "synced")
    if run_id and (synced or journal is None):
        try:
            run = platform.tracker.run(run_id)
            return {
                "experiment_id": experiment_id, "available": True, "source": "mlflow", "run_id": run_id,
                "series": platform.tracker.history(run_id), "run": run,
                "mlflow_url": platform.tracker.ui_url(run_id, str(run["experiment_id"])),
            }
        except TransientError as exc:
            if journal is None:
                raise
            notice = (f"MLflow is not answering ({exc.message}); this is the history the trainer wrote to the "
                      "artifact store")
    elif journal is not None:
        notice = ("MLflow tracking is delayed: this is the history the trainer wrote to the artifact store"
                  if experiment.tracking is not None and experiment.tracking.state == "delayed" else None)
    else:
        return {"experiment_id": experiment_id, "available": False,
                "reason": f"{experiment.label} has no MLflow run yet (status {experiment.status.value})"}
    return _journal_history(platform, experiment_id, journal, notice)


def _journal_history(platform: Platform, experiment_id: str, journal: TrackingJournal,
                     notice: str | None) -> dict[str, Any]:
    final = journal.final.metrics if journal.final else (journal.epochs[-1].metrics if journal.epochs else {})
    run = {"run_id": journal.run_id, "experiment_id": journal.mlflow_experiment_id, "name": journal.run_name,
           "status": journal.status, "start_time": journal.started_ms, "end_time": journal.ended_ms,
           "params": journal.params, "metrics": final, "tags": journal.tags}
    body: dict[str, Any] = {"experiment_id": experiment_id, "available": True, "source": "artifact store",
                            "run_id": journal.run_id, "series": journal.series(), "run": run}
    if notice:
        body["notice"] = notice
    if journal.run_id and journal.mlflow_experiment_id:
        body["mlflow_url"] = platform.tracker.ui_url(journal.run_id, journal.mlflow_experiment_id)
    return body


def component_logs(platform: Platform, experiment_id: str, component: str, lines: int = 200) -> dict[str, Any]:
    if component not in LOG_COMPONENTS:
        raise InvalidInput(
            f"unknown component {component!r}; expected one of {', '.join(LOG_COMPONENTS)}",
            field="component", suggestions=[c for c in LOG_COMPONENTS if c.lower() == component.lower()],
        )
    if not 1 <= lines <= MAX_LOG_LINES:
        raise InvalidInput(f"lines must be between 1 and {MAX_LOG_LINES}, got {lines}", field="lines")
    experiment = _experiment(platform, experiment_id)
    source = LogSource(experiment_id, since=experiment.created_at, build_id=experiment.cloud_build_id,
                       pipeline_job_name=experiment.pipeline_job_name)
    scanned = platform.logs.tail(source, component, max(lines, SUMMARY_LINES))
    return {"experiment_id": experiment_id, "component": component, "lines": scanned[-lines:],
            "summary": summarize(scanned).to_document()}


def _outputs(value: Any) -> dict[str, list[str]]:
    if isinstance(value, str):
        return {"output": [value]}
    if isinstance(value, list):
        return {"output": [str(v) for v in value]}
    if isinstance(value, dict):
        return {str(k): ([str(x) for x in v] if isinstance(v, list) else [str(v)]) for k, v in value.items()}
    return {}


def read_artifacts_index(platform: Platform, experiment_id: str) -> dict[str, dict[str, list[str]]]:
    """``artifacts.json`` as component → output name → URIs (empty before the runner wrote it)."""
    try:
        raw = platform.blobs.read_bytes(platform.experiment_artifacts_uri(experiment_id, "artifacts.json"))
    except NotFound:
        return {}
    index = json.loads(raw)
    if isinstance(index, dict) and isinstance(index.get("components"), dict):
        index = index["components"]
    return {str(c): _outputs(v) for c, v in index.items()} if isinstance(index, dict) else {}


def artifacts(platform: Platform, experiment_id: str) -> dict[str, Any]:
    """Each pipeline component with its stage, the stage's status and its output artifacts."""
    experiment = _experiment(platform, experiment_id)
    index = read_artifacts_index(platform, experiment_id)
    components = []
    for component in [*PIPELINE_COMPONENTS, *sorted(set(index) - set(PIPELINE_COMPONENTS))]:
        stage = COMPONENT_STAGES.get(component)
        if component not in index and component == "Evaluator":
            continue
        state = experiment.stages.get(stage) if stage else None
        components.append({
            "component": component,
            "stage": stage.value if stage else None,
            "stage_label": STAGE_LABELS[stage] if stage else None,
            "status": state.status.value if state else None,
            "outputs": index.get(component, {}),
        })
    return {"experiment_id": experiment_id, "components": components}


def _artifact_uri(index: dict[str, dict[str, list[str]]], component: str, preferred: str) -> str:
    outputs = index.get(component, {})
    uris = outputs.get(preferred) or next(iter(outputs.values()), [])
    if not uris:
        raise NotFound(f"{component} has produced no artifact for this experiment yet", field=component)
    return uris[0]


def statistics(platform: Platform, experiment_id: str) -> dict[str, Any]:
    _experiment(platform, experiment_id)
    uri = _artifact_uri(read_artifacts_index(platform, experiment_id), "StatisticsGen", "statistics")
    return platform.statistics_parser.statistics(uri)


def schema(platform: Platform, experiment_id: str) -> dict[str, Any]:
    _experiment(platform, experiment_id)
    uri = _artifact_uri(read_artifacts_index(platform, experiment_id), "SchemaGen", "schema")
    return platform.statistics_parser.schema(uri)


def statistics_report(platform: Platform, experiment_id: str) -> str:
    """The statistics report page (HTML, to be served with ``tfdv.report.CSP``), with the schema when there is one."""
    experiment = _experiment(platform, experiment_id)
    index = read_artifacts_index(platform, experiment_id)
    statistics_uri = _artifact_uri(index, "StatisticsGen", "statistics")
    try:
        schema_uri: str | None = _artifact_uri(index, "SchemaGen", "schema")
    except NotFound:
        schema_uri = None
    title = f"{experiment.label} · {experiment.name}"
    return platform.statistics_parser.report(statistics_uri, schema_uri, title)


VIEWS: dict[str, Callable[[Platform, str], dict[str, Any]]] = {
    "metrics": metrics,
    "training-history": training_history,
    "artifacts": artifacts,
    "statistics": statistics,
    "schema": schema,
}
"""The JSON views of an experiment by their path segment (``/experiments/{id}/{view}`` on the service)."""


class InProcessArtifactReader:
    """The in-process adapter of ``ports.artifact_reader.ArtifactReader``: the functions above on ``platform``."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    @classmethod
    def from_settings(cls, settings: Settings, platform: Platform) -> InProcessArtifactReader:
        return cls(platform)

    def metrics(self, experiment_id: str) -> dict[str, Any]:
        return metrics(self.platform, experiment_id)

    def training_history(self, experiment_id: str) -> dict[str, Any]:
        return training_history(self.platform, experiment_id)

    def artifacts(self, experiment_id: str) -> dict[str, Any]:
        return artifacts(self.platform, experiment_id)

    def statistics(self, experiment_id: str) -> dict[str, Any]:
        return statistics(self.platform, experiment_id)

    def schema(self, experiment_id: str) -> dict[str, Any]:
        return schema(self.platform, experiment_id)

    def component_logs(self, experiment_id: str, component: str, lines: int) -> dict[str, Any]:
        return component_logs(self.platform, experiment_id, component, lines)

    def statistics_report(self, experiment_id: str) -> str:
        return statistics_report(self.platform, experiment_id)
