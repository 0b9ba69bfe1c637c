"""The quick-test spec: the single data contract between the submitter and the pipeline.

The submitter renders it from an experiment and writes it as ``spec.json``; the build compiles
the pipeline from it and the trainer reads the parts it needs from ``custom_config``. It holds
data only (rendered SQL, validated names, config snapshots, URIs): nothing in it is ever
executed as Python. No TensorFlow import here: both environments load it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from experiments_platform.domain.base import Identifier
from experiments_platform.domain.experiment import Experiment, HardwareTier, QuickTestParameters
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.full_training import PRODUCTION_ALIAS, FullTrainingParameters, RunKind
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.tracking import TRACKING_FILE

PIPELINE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
EXPERIMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
URI = re.compile(r"^(file|gs)://\S+$")
MODEL_FILE = "model.json"

Dialect = Literal["duckdb", "bigquery"]
SplitName = Literal["train", "eval", "test"]
SPLITS: tuple[SplitName, ...] = ("train", "eval", "test")
SPLIT_WORDS: dict[str, str] = {"train": "training", "eval": "validation", "test": "test"}
"""How a user names each split ("Read 80,000 training rows")."""


def _check(pattern: re.Pattern[str], rule: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} does not match {pattern.pattern}: {rule}")
        return value

    return AfterValidator(check)


PipelineName = Annotated[str, _check(PIPELINE_NAME, "lower-case letters, digits and dashes, at most 128")]
ExperimentId = Annotated[str, _check(EXPERIMENT_ID, "letters, digits, '_' and '-', at most 64")]
Uri = Annotated[str, _check(URI, "a file:// or gs:// URI")]


class MachineTier(BaseModel):
    """What a hardware tier means on Vertex AI (trainer) and Dataflow (data stages)."""

    model_config = ConfigDict(frozen=True)

    machine_type: str
    vcpus: int
    memory_gib: int
    dataflow_max_workers: int


HARDWARE_TIERS: dict[str, MachineTier] = {
    "small": MachineTier(machine_type="n1-standard-4", vcpus=4, memory_gib=15, dataflow_max_workers=2),
    "medium": MachineTier(machine_type="n1-standard-8", vcpus=8, memory_gib=30, dataflow_max_workers=4),
    "large": MachineTier(machine_type="n1-standard-16", vcpus=16, memory_gib=60, dataflow_max_workers=8),
}

IN_MEMORY_MAX_ROWS = 1_000_000
"""Up to this sample size one in-process DirectRunner is faster than worker processes (decision 080)."""
DATAFLOW_MIN_ROWS = 10_000_000
"""Above this sample size the data stages go to Dataflow (decision 080)."""
BeamRunner = Literal["in_memory", "multi_processing", "dataflow"]


def beam_runner(rows: int | None, dataflow: bool = False) -> BeamRunner:
    """How the data stages run Beam on Vertex AI (decision 080): Dataflow when asked (full training) or
    above ``DATAFLOW_MIN_ROWS``, worker processes above ``IN_MEMORY_MAX_ROWS``, else in process."""
    if dataflow or (rows or 0) > DATAFLOW_MIN_ROWS:
        return "dataflow"
    return "multi_processing" if (rows or 0) > IN_MEMORY_MAX_ROWS else "in_memory"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitQueries(_Frozen):
    """Rendered SQL, one query per split plus the candidate corpus, all in one dialect.

    Each split query returns one row per interaction with every column the features use;
    the candidates query returns one row per candidate of the full corpus with the candidate
    tower's columns.
    """

    dialect: Dialect
    train: str = Field(min_length=1)
    eval: str = Field(min_length=1)
    test: str = Field(min_length=1)
    candidates: str = Field(min_length=1)
    columns: tuple[str, ...] = Field(default=(), description="output columns of the split queries")
    candidate_columns: tuple[str, ...] = Field(default=(), description="output columns of the candidates query")
    protocol: dict[str, Any] = Field(default_factory=dict, description="what produced the splits, for the metrics")

    @classmethod
    def from_rendered(cls, rendered: Any) -> SplitQueries:
        """From ``experiments_platform.sql.render_split_queries``'s result (a dataclass); extra fields are left out."""
        values = dataclasses.asdict(rendered)
        return cls.model_validate({name: values[name] for name in cls.model_fields if name in values})

    def split(self, name: SplitName) -> str:
        return {"train": self.train, "eval": self.eval, "test": self.test}[name]


class MlflowTarget(_Frozen):
    tracking_uri: str = Field(min_length=1, description="http(s):// tracking server, or file:/sqlite: for tests")
    experiment_name: str = Field(min_length=1, max_length=200)
    run_name: str = Field(min_length=1, max_length=250)


class ArtifactUris(_Frozen):
    """Where the pipeline writes what the services read (``{artifacts_root}/experiments/{id}/``)."""

    spec: Uri
    pipeline: Uri = Field(description="compiled pipeline (pipeline.json), written by the build")
    metrics: Uri = Field(description="metrics.json, written by the pipeline's evaluation")
    artifacts: Uri = Field(description="artifacts.json: component → output URIs, written by the runner")
    tracking: Uri = Field(description=f"{TRACKING_FILE}: the run's tracking journal, written by the trainer "
                          "before MLflow gets it (domain.tracking)")
    model: Uri = Field(description=f"{MODEL_FILE}: where a full training's model was pushed and registered, "
                       "written by the Registrar (decision 070)")

    @model_validator(mode="before")
    @classmethod
    def _tracking_beside_metrics(cls, data: Any) -> Any:
        """Specs written before the journal (or the model record) existed name neither: they sit beside ``metrics``."""
        if isinstance(data, dict) and isinstance(data.get("metrics"), str):
            base = data["metrics"].rsplit("/", 1)[0]
            data = {**data}
            if not data.get("tracking"):
                data["tracking"] = f"{base}/{TRACKING_FILE}"
            if not data.get("model"):
                data["model"] = f"{base}/{MODEL_FILE}"
        return data

    @classmethod
    def under(cls, artifacts_root: str, experiment_id: str) -> ArtifactUris:
        base = f"{artifacts_root.rstrip('/')}/experiments/{experiment_id}"
        return cls(
            spec=f"{base}/spec.json",
            pipeline=f"{base}/pipeline.json",
            metrics=f"{base}/metrics.json",
            artifacts=f"{base}/artifacts.json",
            tracking=f"{base}/{TRACKING_FILE}",
            model=f"{base}/{MODEL_FILE}",
        )


class ModelRegistryTarget(_Frozen):
    """Where a full training's Pusher pushes (``{uri}/{version}/``) and the MLflow registered model (decision 072)."""

    uri: Uri
    model_name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    alias: str = Field(default=PRODUCTION_ALIAS, pattern=r"^[a-z][a-z0-9_-]{0,63}$")


class QuickTestSpec(_Frozen):
    """Everything one quick-test run needs, as validated data."""

    spec_version: Literal[1] = 1
    experiment_id: ExperimentId
    experiment_number: int = Field(ge=1)
    pipeline_name: PipelineName = Field(
        description="stable for a dataset and its split queries, so a run that changes only the "
        "model config finds the cached ExampleGen/StatisticsGen/SchemaGen (and Transform) outputs"
    )
    dataset_id: str = Field(min_length=1)
    queries: SplitQueries
    query_id_column: Identifier
    candidate_id_column: Identifier
    features: FeatureConfig
    model: ModelConfig
    parameters: QuickTestParameters
    pipeline_root: Uri
    artifacts: ArtifactUris
    mlflow: MlflowTarget
    full_training: FullTrainingParameters | None = Field(
        default=None, description="set for a full training: early stopping, export, push (decision 070)")
    registry: ModelRegistryTarget | None = Field(default=None, description="where a full training's model goes")

    @model_validator(mode="after")
    def _full_training_uses_all_data(self) -> QuickTestSpec:
        if self.full_training is None:
            return self
        if self.parameters.sample_percent != 100:
            raise ValueError(f"parameters.sample_percent: a full training uses all the data, got "
                             f"{self.parameters.sample_percent}; set it to 100")
        if self.registry is None:
            raise ValueError("registry: a full training pushes its model; give the registry location "
                             "(ModelRegistryTarget uri and model_name)")
        return self

    @model_validator(mode="after")
    def _ids_are_features(self) -> QuickTestSpec:
        query_columns = [f.column for f in self.features.query_features]
        candidate_columns = [f.column for f in self.features.candidate_features]
        reads_buyer = any(f.kind == "history" for f in self.features.query_features)  # its table is by buyer
        if self.query_id_column not in query_columns and not reads_buyer:
            raise ValueError(
                f"query_id_column: {self.query_id_column!r} is not a query tower feature {query_columns}; "
                "add it to query_features (or a history feature, which reads the buyer)"
            )
        if self.candidate_id_column not in candidate_columns:
            raise ValueError(
                f"candidate_id_column: {self.candidate_id_column!r} is not a candidate tower feature "
                f"{candidate_columns}; add it to candidate_features"
            )
        return self

    @property
    def run_kind(self) -> RunKind:
        return "quick_test" if self.full_training is None else "full_training"

    @property
    def hardware_tier(self) -> HardwareTier:
        return self.parameters.hardware_tier

    @property
    def machine(self) -> MachineTier:
        return HARDWARE_TIERS[self.parameters.hardware_tier]

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> QuickTestSpec:
        return cls.model_validate_json(text)


def data_pipeline_name(dataset_id: str, queries: SplitQueries) -> str:
    """Pipeline name that depends only on the data stages' inputs (dataset and rendered queries).

    TFX caches per pipeline name: two quick tests on the same data share the name, so the
    second one reuses ExampleGen, StatisticsGen and SchemaGen, and Transform too when the feature
    config is unchanged; the trainer always runs (its config carries the experiment id).
    """
    digest = hashlib.sha256()
    for part in (dataset_id, queries.dialect, queries.train, queries.eval, queries.test, queries.candidates):
        digest.update(part.encode())
        digest.update(b"\0")
    return f"qt-{digest.hexdigest()[:20]}"


def build_spec(
    experiment: Experiment,
    queries: SplitQueries,
    *,
    pipeline_root: str,
    artifacts_root: str,
    mlflow_tracking_uri: str,
    mlflow_experiment_name: str | None = None,
    full_training: FullTrainingParameters | None = None,
    registry_uri: str | None = None,
) -> QuickTestSpec:
    """The spec of one experiment, from its frozen snapshots and the rendered queries.

    With ``full_training`` (by default the experiment's own, decision 075) the spec is a full training's
    (decision 070): its MLflow experiment is
    ``full-training/{dataset}`` and its model is pushed to ``registry_uri`` (default
    ``{artifacts_root}/registry/{dataset_id}``) and registered as ``two-tower-{dataset_id}``.
    """
    full_training = full_training or experiment.full_training
    dataset = experiment.dataset_snapshot
    name = data_pipeline_name(experiment.dataset_id, queries)
    kind = "quick-tests" if full_training is None else "full-training"
    registry = None if full_training is None else ModelRegistryTarget(
        uri=registry_uri or f"{artifacts_root.rstrip('/')}/registry/{experiment.dataset_id}",
        model_name=registry_model_name(experiment.dataset_id),
    )
    return QuickTestSpec(
        experiment_id=experiment.id,
        experiment_number=experiment.number,
        pipeline_name=name,
        dataset_id=experiment.dataset_id,
        queries=queries,
        query_id_column=dataset.query_id_column,
        candidate_id_column=dataset.candidate_id_column,
        features=experiment.feature_config_snapshot,
        model=experiment.model_config_snapshot,
        parameters=experiment.parameters,
        pipeline_root=f"{pipeline_root.rstrip('/')}/{name}",
        artifacts=ArtifactUris.under(artifacts_root, experiment.id),
        mlflow=MlflowTarget(
            tracking_uri=mlflow_tracking_uri,
            experiment_name=mlflow_experiment_name or f"{kind}/{dataset.name}",
            run_name=f"{experiment.label} {experiment.name}"[:250],
        ),
        full_training=full_training,
        registry=registry,
    )


def registry_model_name(dataset_id: str) -> str:
    """The MLflow registered model of a dataset's full trainings (letters, digits, '.', '_', '-')."""
    return "two-tower-" + re.sub(r"[^A-Za-z0-9._-]", "-", dataset_id)[:180]
