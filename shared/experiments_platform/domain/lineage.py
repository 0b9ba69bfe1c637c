"""Lineage of one run's model, as ML Metadata records it (decision 073): artifacts, executions, their links.

Pure data read by ``adapters.mlmd_lineage`` (local SQLite MLMD) and served by the API. An artifact's
``produced_by`` is the execution that output it; an execution's ``inputs``/``outputs`` are artifact ids.
A cached execution (state ``CACHED``) points at the artifacts an earlier run produced: those are the
exact ones that went into this run's model.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

LINEAGE_ARTIFACT_TYPES = ("Examples", "ExampleStatistics", "Schema", "TransformGraph", "Model", "ModelRun",
                          "ModelEvaluation", "PushedModel", "experiments.ModelRegistration")
"""The artifact types of the pipeline, in pipeline order (how the view lists them)."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineageArtifact(_Record):
    id: int
    type: str = Field(description="MLMD artifact type, e.g. Examples, TransformGraph, Model, PushedModel")
    uri: str = Field(description="file:// or gs:// URI")
    output_key: str | None = Field(default=None, description="the producing component's output name")
    produced_by: int | None = Field(default=None, description="id of the execution that output it")
    state: str | None = Field(default=None, description="LIVE, PENDING, DELETED, ...")
    created_at: datetime | None = None
    properties: dict[str, str | int | float] = Field(default_factory=dict)


class LineageExecution(_Record):
    id: int
    component: str = Field(description="the TFX component id (node id), e.g. Trainer")
    type: str = Field(description="the component's class, e.g. tfx.components.trainer.component.Trainer")
    state: str = Field(description="COMPLETE, CACHED, FAILED, RUNNING, CANCELED, NEW or UNKNOWN")
    inputs: list[int] = Field(default_factory=list)
    outputs: list[int] = Field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Lineage(_Record):
    experiment_id: str
    store: str = Field(description="where it was read: the SQLite file, or the Vertex ML Metadata store")
    model_uri: str | None = Field(default=None, description="the Trainer's Model artifact")
    pushed_model_uri: str | None = Field(default=None, description="where the Pusher pushed it (full training)")
    artifacts: list[LineageArtifact] = Field(default_factory=list)
    executions: list[LineageExecution] = Field(default_factory=list)

    def artifact(self, artifact_type: str) -> LineageArtifact | None:
        return next((a for a in self.artifacts if a.type == artifact_type), None)

    def to_document(self) -> dict[str, object]:
        return self.model_dump(mode="json")
