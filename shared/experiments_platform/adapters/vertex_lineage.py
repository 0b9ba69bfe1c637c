"""Lineage of a Vertex AI pipeline run, read from Vertex ML Metadata (decision 073 amendment).

The local reader (``adapters.mlmd_lineage``) walks MLMD's SQLite file; on Vertex AI the same records live
in the region's metadata store. Vertex Pipelines gives every pipeline job a context named after the job
(``projects/P/locations/R/metadataStores/default/contexts/{job id}``) holding the run's artifacts and
executions; ``MetadataService.QueryContextLineageSubgraph`` answers them and the events linking them in
one call (at most 1,000 of each, far above a pipeline's dozen). They map to the same ``Lineage`` model:
an artifact's type is its schema title without the ``tfx.``/``system.`` prefix (``tfx.Examples`` →
``Examples``), an execution's component its display name (the task, e.g. ``Trainer``), OUTPUT events
say which execution produced an artifact, INPUT events what it read. Ids are the resource ids when
numeric (Vertex's are), else positions. A run without a Trainer execution yet has no lineage (None), as
locally. The services need ``roles/aiplatform.viewer`` on the project.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from experiments_platform.domain.lineage import Lineage, LineageArtifact, LineageExecution

METADATA_STORE = "default"
_PREFIXES = ("tfx.", "system.")


def context_of(pipeline_job_name: str) -> str:
    """The metadata context of a pipeline job (``projects/P/locations/R/pipelineJobs/ID``)."""
    parts = pipeline_job_name.split("/")
    if len(parts) != 6 or parts[0] != "projects" or parts[2] != "locations" or parts[4] != "pipelineJobs":
        raise ValueError("pipeline_job_name: expected projects/P/locations/R/pipelineJobs/ID, "
                         f"got {pipeline_job_name!r}")
    return f"projects/{parts[1]}/locations/{parts[3]}/metadataStores/{METADATA_STORE}/contexts/{parts[5]}"


def default_client(region: str, api_endpoint: str | None = None) -> Any:
    """The regional MetadataServiceClient (REST); ``api_endpoint`` overrides the host (tests, private endpoints)."""
    from google.cloud import aiplatform_v1

    options = {"api_endpoint": api_endpoint or f"{region}-aiplatform.googleapis.com"}
    credentials = None
    if api_endpoint and api_endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    return aiplatform_v1.MetadataServiceClient(transport="rest", client_options=options, credentials=credentials)


def _type(schema_title: str) -> str:
    for prefix in _PREFIXES:
        if schema_title.startswith(prefix):
            return schema_title[len(prefix):]
    return schema_title


def _ids(names: list[str]) -> dict[str, int]:
    tails = [name.rsplit("/", 1)[-1] for name in names]
    if all(t.isdigit() for t in tails) and len(set(tails)) == len(tails):
        return {name: int(tail) for name, tail in zip(names, tails, strict=True)}
    return {name: i + 1 for i, name in enumerate(names)}


def _properties(metadata: Any) -> dict[str, str | int | float]:
    values = dict(metadata or {})
    return {key: value for key, value in values.items()
            if isinstance(value, (str, int, float)) and not isinstance(value, bool)}


def _state(state: Any) -> str:
    name = getattr(state, "name", str(state))
    return {"CANCELLED": "CANCELED", "STATE_UNSPECIFIED": "UNKNOWN"}.get(name, name)


def read_vertex_lineage(pipeline_job_name: str, experiment_id: str,
                        client_factory: Callable[[str], Any] = default_client) -> Lineage | None:
    """The run's lineage from Vertex ML Metadata; None when the store holds no Trainer execution of it yet."""
    from google.api_core import exceptions

    context = context_of(pipeline_job_name)
    region = context.split("/")[3]
    try:
        graph = client_factory(region).query_context_lineage_subgraph(context=context)
    except exceptions.NotFound:
        return None
    artifact_ids = _ids([a.name for a in graph.artifacts])
    execution_ids = _ids([e.name for e in graph.executions])
    produced: dict[str, int] = {}
    inputs: dict[str, list[int]] = {}
    outputs: dict[str, list[int]] = {}
    for event in graph.events:
        if event.artifact not in artifact_ids or event.execution not in execution_ids:
            continue
        kind = getattr(event.type_, "name", str(event.type_))
        if kind == "OUTPUT":
            produced[event.artifact] = execution_ids[event.execution]
            outputs.setdefault(event.execution, []).append(artifact_ids[event.artifact])
        elif kind == "INPUT":
            inputs.setdefault(event.execution, []).append(artifact_ids[event.artifact])
    executions = [LineageExecution(
        id=execution_ids[e.name], component=e.display_name, type=e.schema_title, state=_state(e.state),
        inputs=sorted(inputs.get(e.name, [])), outputs=sorted(outputs.get(e.name, [])),
        started_at=e.create_time or None, finished_at=e.update_time or None) for e in graph.executions]
    if not any(e.component == "Trainer" for e in executions):
        return None
    artifacts = [LineageArtifact(
        id=artifact_ids[a.name], type=_type(a.schema_title), uri=a.uri, produced_by=produced.get(a.name),
        state=_state(a.state), created_at=a.create_time or None, properties=_properties(a.metadata))
        for a in graph.artifacts]
    model = next((a for a in artifacts if a.type == "Model"), None)
    pushed = next((a for a in artifacts if a.type == "PushedModel"), None)
    return Lineage(experiment_id=experiment_id, store=f"Vertex ML Metadata {context.rsplit('/contexts/', 1)[0]}",
                   model_uri=model.uri if model else None, pushed_model_uri=pushed.uri if pushed else None,
                   artifacts=artifacts, executions=executions)
