"""A run's lineage read from the local ML Metadata store (SQLite) with the standard library (decision 073).

TFX's LocalDagRunner writes MLMD to ``{pipeline_root}/metadata.sqlite`` (``pipeline.compile.metadata_path``),
one store per pipeline name, shared by every run on the same data. The run of an experiment is found by
its Trainer execution, whose ``custom_config`` holds the spec naming the experiment; from there the walk
goes upstream through INPUT events to the artifacts the Trainer read and the executions that output them
(for a cached stage, the earlier execution that really made the artifact), and downstream to what consumed
the Trainer's outputs (Evaluator, Pusher, Registrar). Read-only (``mode=ro``); no ml-metadata package
needed, so both Python environments read it. The tables and enum values are MLMD's schema (v10).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from experiments_platform.domain.lineage import Lineage, LineageArtifact, LineageExecution
from experiments_platform.domain.pipeline_spec import QuickTestSpec

EXECUTION_STATES = {0: "UNKNOWN", 1: "NEW", 2: "RUNNING", 3: "COMPLETE", 4: "FAILED", 5: "CACHED", 6: "CANCELED"}
ARTIFACT_STATES = {0: "UNKNOWN", 1: "PENDING", 2: "LIVE", 3: "MARKED_FOR_DELETION", 4: "DELETED", 5: "ABANDONED",
                   6: "REFERENCE"}
INPUT_EVENTS = (2, 3)  # DECLARED_INPUT, INPUT
OUTPUT_EVENTS = (1, 4)  # DECLARED_OUTPUT, OUTPUT
TRAINER_TYPES = ("tfx.components.trainer.component.Trainer",
                 "tfx.extensions.google_cloud_ai_platform.trainer.component.Trainer")


def _time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) if ms else None


def _uri(location: str) -> str:
    return location if "://" in location else Path(location).resolve().as_uri()


def _names_experiment(custom_config: str | None, experiment_id: str) -> bool:
    try:
        spec = json.loads(json.loads(custom_config or "{}").get("spec") or "{}")
    except (ValueError, AttributeError):
        return False
    return isinstance(spec, dict) and spec.get("experiment_id") == experiment_id


class _Store:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.db = connection

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.db.execute(sql, tuple(params)))

    def trainer_execution(self, experiment_id: str) -> int | None:
        like = f"%{experiment_id}%"
        marks = ",".join("?" * len(TRAINER_TYPES))
        found = self.rows(
            "SELECT e.id, p.string_value FROM Execution e JOIN Type t ON t.id = e.type_id "
            "JOIN ExecutionProperty p ON p.execution_id = e.id AND p.name = 'custom_config' "
            f"WHERE t.name IN ({marks}) AND p.string_value LIKE ? ORDER BY e.id DESC", [*TRAINER_TYPES, like])
        return next((row[0] for row in found if _names_experiment(row[1], experiment_id)), None)

    def events(self, execution_ids: Iterable[int]) -> list[tuple[int, int, int, str | None]]:
        """(execution id, artifact id, event type, output/input key) of the executions."""
        ids = list(execution_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self.rows(
            "SELECT v.execution_id, v.artifact_id, v.type, "
            "(SELECT step_key FROM EventPath p WHERE p.event_id = v.id AND p.step_key IS NOT NULL LIMIT 1) "
            f"FROM Event v WHERE v.execution_id IN ({marks}) ORDER BY v.id", ids)

    def producers(self, artifact_ids: Iterable[int]) -> dict[int, int]:
        """Artifact id → the execution that made it: the first that output it and did not reuse it from a cache."""
        ids = list(artifact_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        made: dict[int, int] = {}
        for artifact_id, execution_id, state in self.rows(
                "SELECT v.artifact_id, v.execution_id, e.last_known_state FROM Event v "
                "JOIN Execution e ON e.id = v.execution_id "
                f"WHERE v.artifact_id IN ({marks}) AND v.type IN (1, 4) ORDER BY v.id", ids):
            if artifact_id not in made or (state != 5 and self._state(made[artifact_id]) == 5):
                made[artifact_id] = execution_id
        return made

    def consumers(self, artifact_ids: Iterable[int]) -> list[int]:
        ids = list(artifact_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return [row[0] for row in self.rows(
            f"SELECT DISTINCT execution_id FROM Event WHERE artifact_id IN ({marks}) AND type IN (2, 3)", ids)]

    def _state(self, execution_id: int) -> int:
        return int(self.rows("SELECT last_known_state FROM Execution WHERE id = ?", [execution_id])[0][0] or 0)

    def executions(self, ids: Iterable[int]) -> dict[int, tuple[str, str, int, int, int]]:
        """Execution id → (node id, type name, state, created ms, updated ms)."""
        wanted = list(ids)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        out = {}
        for execution_id, type_name, state, created, updated, node in self.rows(
                "SELECT e.id, t.name, e.last_known_state, e.create_time_since_epoch, e.last_update_time_since_epoch, "
                "(SELECT c.name FROM Association a JOIN Context c ON c.id = a.context_id JOIN Type ct "
                " ON ct.id = c.type_id WHERE a.execution_id = e.id AND ct.name = 'node' LIMIT 1) "
                f"FROM Execution e JOIN Type t ON t.id = e.type_id WHERE e.id IN ({marks})", wanted):
            component = (node or type_name).rsplit(".", 1)[-1]
            out[execution_id] = (component, type_name, int(state or 0), created, updated)
        return out

    def artifacts(self, ids: Iterable[int]) -> dict[int, tuple[str, str, int, int, dict[str, str | int | float]]]:
        """Artifact id → (type name, uri, state, created ms, custom properties)."""
        wanted = list(ids)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        properties: dict[int, dict[str, str | int | float]] = {}
        for artifact_id, name, number, real, text in self.rows(
                "SELECT artifact_id, name, int_value, double_value, string_value FROM ArtifactProperty "
                f"WHERE artifact_id IN ({marks})", wanted):
            value = next((v for v in (text, number, real) if v is not None), None)
            if value is not None and not name.startswith("__"):
                properties.setdefault(artifact_id, {})[name] = value
        return {row[0]: (row[1], row[2], int(row[3] or 0), row[4], properties.get(row[0], {})) for row in self.rows(
            "SELECT a.id, t.name, a.uri, a.state, a.create_time_since_epoch FROM Artifact a "
            f"JOIN Type t ON t.id = a.type_id WHERE a.id IN ({marks})", wanted)}


def local_metadata_path(pipeline_root: str) -> Path:
    """The local runner's MLMD store of a pipeline root (as ``pipeline.compile.metadata_path``, without TensorFlow)."""
    return Path(pipeline_root.removeprefix("file://")) / "metadata.sqlite"


def lineage_of_spec(spec: QuickTestSpec) -> Lineage | None:
    """The lineage of the run of ``spec`` (its ``spec.json``); None for a Vertex AI run (``gs://`` pipeline root:
    Vertex ML Metadata, decision 073, not read yet) or a run that has not trained."""
    if not spec.pipeline_root.startswith("file://"):
        return None
    return read_lineage(local_metadata_path(spec.pipeline_root), spec.experiment_id)


def read_lineage(metadata_path: str | Path, experiment_id: str) -> Lineage | None:
    """The lineage of ``experiment_id``'s run in the SQLite MLMD at ``metadata_path``; None when the store
    does not exist or holds no Trainer execution of that experiment."""
    path = Path(str(metadata_path).removeprefix("file://"))
    if not path.is_file():
        return None
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return _read(_Store(connection), str(path), experiment_id)
    finally:
        connection.close()


def _read(store: _Store, where: str, experiment_id: str) -> Lineage | None:
    trainer = store.trainer_execution(experiment_id)
    if trainer is None:
        return None
    chosen: set[int] = {trainer}
    frontier = [trainer]
    while frontier:  # upstream: the executions that made every input
        inputs = [a for e, a, kind, _ in store.events(frontier) if kind in INPUT_EVENTS]
        frontier = [e for e in store.producers(inputs).values() if e not in chosen]
        chosen.update(frontier)
    frontier = [trainer]
    while frontier:  # downstream: what consumed the trainer's outputs, and so on
        outputs = [a for e, a, kind, _ in store.events(frontier) if kind in OUTPUT_EVENTS]
        frontier = [e for e in store.consumers(outputs) if e not in chosen]
        chosen.update(frontier)

    events = store.events(sorted(chosen))
    artifact_ids = sorted({a for _, a, _, _ in events})
    producers = store.producers(artifact_ids)
    keys = {a: key for e, a, kind, key in events if kind in OUTPUT_EVENTS and producers.get(a) == e}
    found = store.artifacts(artifact_ids)
    artifacts = [LineageArtifact(
        id=a, type=found[a][0], uri=_uri(found[a][1]), output_key=keys.get(a), produced_by=producers.get(a),
        state=ARTIFACT_STATES.get(found[a][2]), created_at=_time(found[a][3]), properties=found[a][4],
    ) for a in artifact_ids if a in found]
    executions = []
    for execution_id, (component, type_name, state, created, updated) in sorted(store.executions(chosen).items()):
        mine = [(a, kind) for e, a, kind, _ in events if e == execution_id]
        executions.append(LineageExecution(
            id=execution_id, component=component, type=type_name, state=EXECUTION_STATES.get(state, "UNKNOWN"),
            inputs=sorted({a for a, kind in mine if kind in INPUT_EVENTS}),
            outputs=sorted({a for a, kind in mine if kind in OUTPUT_EVENTS}),
            started_at=_time(created), finished_at=_time(updated),
        ))
    model = next((a for a in artifacts if a.type == "Model" and a.produced_by == trainer), None)
    pushed = next((a for a in artifacts if a.type == "PushedModel"), None)
    pushed_uri = pushed.properties.get("pushed_destination") if pushed else None
    return Lineage(experiment_id=experiment_id, store=where, model_uri=model.uri if model else None,
                   pushed_model_uri=_uri(str(pushed_uri)) if pushed_uri else None,
                   artifacts=artifacts, executions=executions)
