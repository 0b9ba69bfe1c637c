"""The one quick-test pipeline definition, a pure function of the spec and the runtime choices.

ExampleGen (DuckDB locally, BigQuery on GCP) → StatisticsGen → SchemaGen → Transform
(vocabularies and statistics of the training split; no materialisation) → Trainer (two-tower
TFRS, ``run_fn`` module path) → Evaluator (publishes metrics.json, closes the MLflow run).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.components.pusher.component import Pusher
from tfx.components.schema_gen.component import SchemaGen
from tfx.components.statistics_gen.component import StatisticsGen
from tfx.components.trainer.component import Trainer
from tfx.components.transform.component import Transform
from tfx.dsl.components.base import executor_spec
from tfx.orchestration.metadata import sqlite_metadata_connection_config
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import pusher_pb2, trainer_pb2, transform_pb2

from experiments_platform.domain.full_training import GPU_TIERS
from experiments_platform.domain.pipeline_jobs import EXPERIMENT_LABEL
from experiments_platform.domain.pipeline_spec import QuickTestSpec, beam_runner
from experiments_platform.pipeline.evaluator import QuickTestEvaluator
from experiments_platform.pipeline.example_gen import bigquery_example_gen, duckdb_example_gen
from experiments_platform.pipeline.preprocessing import transform_config
from experiments_platform.pipeline.statistics_gen import StatisticsGenExecutor
from experiments_platform.pipeline.trainer import trainer_config

PREPROCESSING_FN = "experiments_platform.pipeline.preprocessing.preprocessing_fn"
RUN_FN = "experiments_platform.pipeline.trainer.run_fn"
FULL_RUN_FN = "experiments_platform.pipeline.full_training.run_fn"
LOCAL_BEAM_ARGS = ("--direct_running_mode=in_memory", "--direct_num_workers=1", "--pickle_library=cloudpickle",
                   "--sdk_container_image=none:in-process-direct-runner")
"""In process, one worker. cloudpickle: Beam's dill pickler resets dill's logger level after every
pickle, and each ``Logger.setLevel`` clears the cache of all the process's loggers (1,160 with TF, TFX,
Beam and MLflow loaded): 0.79 ms a pickle against 0.037 ms. An SDK image, which the in-process
DirectRunner never uses, stops TFX from building an sdist of its own sources before every Beam stage
(``dependency_utils.make_beam_dependency_flags``; 18 s of wall time each at load 10). Decision 091."""
BEAM_COMPONENT_IDS = ("ExampleGen", "StatisticsGen", "Transform", "Evaluator")
"""The components whose executors run Beam pipelines (sized by the hardware tier on Vertex AI)."""
COMPONENT_IDS = ("ExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator")
FULL_TRAINING_COMPONENT_IDS = (*COMPONENT_IDS, "Pusher", "Registrar")
"""A full training's components (decision 070): the quick test's, then the push and the registration."""


@dataclass(frozen=True)
class VertexTarget:
    """Where the data stages (Dataflow) and the Trainer (Vertex custom job) run on GCP."""

    project: str
    region: str
    pipeline_image: str
    staging_uri: str
    service_account: str | None = None
    extra_beam_args: tuple[str, ...] = field(default_factory=tuple)
    dataflow: bool = False
    """Data stages on Dataflow (full training) instead of in their container (decision 080)."""
    sample_rows: int | None = None
    """Rows of the sample when known: sizes the in-container runner, and above DATAFLOW_MIN_ROWS means Dataflow."""
    dataflow_subnetwork: str | None = None
    """``regions/REGION/subnetworks/NAME`` with Private Google Access; Dataflow workers get no public IP."""


def in_container_beam_args(spec: QuickTestSpec, target: VertexTarget) -> list[str]:
    """Beam inside the component's container: the DirectRunner in process for quick-test samples,
    one worker process per vCPU of the tier above ``IN_MEMORY_MAX_ROWS``.

    ``--project`` and ``--temp_location``: BigQuery reads run their query job in the project and
    export through a temporary dataset and GCS files, whatever the runner."""
    if beam_runner(target.sample_rows) == "multi_processing":
        mode = ["--direct_running_mode=multi_processing", f"--direct_num_workers={spec.machine.vcpus}"]
    else:
        mode = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
    return ["--runner=DirectRunner", *mode, f"--project={target.project}",
            f"--temp_location={target.staging_uri.rstrip('/')}/beam/tmp"]


def uses_dataflow(target: VertexTarget) -> bool:
    return beam_runner(target.sample_rows, target.dataflow) == "dataflow"


def vertex_beam_args(spec: QuickTestSpec, target: VertexTarget) -> list[str]:
    if uses_dataflow(target):
        return dataflow_beam_args(spec, target)
    return in_container_beam_args(spec, target) + list(target.extra_beam_args)


def dataflow_beam_args(spec: QuickTestSpec, target: VertexTarget) -> list[str]:
    if not target.dataflow_subnetwork:
        raise ValueError("Dataflow needs a subnetwork with Private Google Access (workers run without public IPs)")
    machine = spec.machine
    args = [
        "--runner=DataflowRunner",
        f"--project={target.project}",
        f"--region={target.region}",
        f"--temp_location={target.staging_uri.rstrip('/')}/dataflow/tmp",
        f"--staging_location={target.staging_uri.rstrip('/')}/dataflow/staging",
        f"--machine_type={machine.machine_type}",
        f"--max_num_workers={machine.dataflow_max_workers}",
        f"--sdk_container_image={target.pipeline_image}",
        "--sdk_location=container",
        "--experiments=use_runner_v2",
        f"--subnetwork={target.dataflow_subnetwork}",
        "--no_use_public_ips",
        f"--labels={EXPERIMENT_LABEL}={spec.experiment_id}",  # cancel finds the job by it (issue 13 item 6)
    ]
    if target.service_account:
        args.append(f"--service_account_email={target.service_account}")
    return args + list(target.extra_beam_args)


def trainer_machine_spec(spec: QuickTestSpec) -> dict[str, Any]:
    """The Vertex AI custom job's machine: the CPU tier's, or a full training's GPU tier (decision 074).

    Quick tests keep CPU whatever they ask: only a full training's ``accelerator`` selects a GPU machine."""
    accelerator = spec.full_training.accelerator if spec.full_training is not None else None
    if accelerator is None:
        return {"machine_type": spec.machine.machine_type}
    gpu = GPU_TIERS[accelerator]
    return {"machine_type": gpu.machine_type, "accelerator_type": gpu.accelerator_type,
            "accelerator_count": gpu.accelerator_count}


def _vertex_trainer_config(spec: QuickTestSpec, target: VertexTarget) -> dict[str, Any]:
    from tfx.extensions.google_cloud_ai_platform import constants
    from tfx.extensions.google_cloud_ai_platform.trainer import executor

    job: dict[str, Any] = {
        "project": target.project,
        "worker_pool_specs": [{
            "machine_spec": trainer_machine_spec(spec),
            "replica_count": 1,
            "container_spec": {"image_uri": target.pipeline_image},
        }],
    }
    if target.service_account:
        job["service_account"] = target.service_account
    job["labels"] = {EXPERIMENT_LABEL: spec.experiment_id}  # cancel finds the custom job by it (issue 13 item 6)
    return {
        **trainer_config(spec),
        constants.ENABLE_VERTEX_KEY: True,
        constants.VERTEX_REGION_KEY: target.region,
        executor.TRAINING_ARGS_KEY: job,
    }


def push_components(spec: QuickTestSpec, trainer: Any, evaluator: Any) -> list[Any]:
    """A full training's Pusher (to ``spec.registry.uri``) and Registrar (MLflow, ``model.json``); decision 072.

    The Pusher runs after the Evaluator published the metrics: a run whose report is incomplete is not pushed."""
    from experiments_platform.pipeline.evaluator import uri_path
    from experiments_platform.pipeline.registrar import Registrar

    assert spec.registry is not None
    pusher = Pusher(
        model=trainer.outputs["model"],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=uri_path(spec.registry.uri))),
    ).with_id("Pusher")
    pusher.add_upstream_node(evaluator)
    registrar = Registrar(pushed_model=pusher.outputs["pushed_model"], spec_json=spec.to_json()).with_id("Registrar")
    return [pusher, registrar]


def create_pipeline(
    spec: QuickTestSpec,
    *,
    runner: Literal["local", "vertex"] = "local",
    metadata_path: str | None = None,
    vertex: VertexTarget | None = None,
    enable_cache: bool = True,
) -> Pipeline:
    """The quick-test pipeline of ``spec``; ``metadata_path`` (SQLite MLMD) for the local runner."""
    if runner == "vertex" and vertex is None:
        raise ValueError("runner='vertex' needs a VertexTarget (project, region, pipeline image, staging URI)")
    example_gen = duckdb_example_gen(spec.queries) if spec.queries.dialect == "duckdb" \
        else bigquery_example_gen(spec.queries)
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    # the same artifact, computed in process unless the run needs Beam (Dataflow, options): decision 099
    statistics_gen.executor_spec = executor_spec.BeamExecutorSpec(StatisticsGenExecutor)
    schema_gen = SchemaGen(statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True)
    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
        custom_config=transform_config(spec.features, spec.query_id_column, spec.candidate_id_column),
        splits_config=transform_pb2.SplitsConfig(analyze=["train"]),
        materialize=False,
        disable_statistics=True,
        disable_analyzer_cache=True,
    )
    trainer_args: dict[str, Any] = {
        "examples": example_gen.outputs["examples"],
        "transform_graph": transform.outputs["transform_graph"],
        "schema": schema_gen.outputs["schema"],
        "run_fn": RUN_FN if spec.full_training is None else FULL_RUN_FN,
        "train_args": trainer_pb2.TrainArgs(splits=["train"]),
        "eval_args": trainer_pb2.EvalArgs(splits=["eval"]),
    }
    if runner == "vertex":
        assert vertex is not None
        # imported here: google.cloud.aiplatform, which it loads, is most of tfx.v1's import time
        from tfx.extensions.google_cloud_ai_platform.trainer.component import Trainer as VertexTrainer

        trainer = VertexTrainer(**trainer_args, custom_config=_vertex_trainer_config(spec, vertex))
    else:
        trainer = Trainer(**trainer_args, custom_config=trainer_config(spec))
    evaluator = QuickTestEvaluator(model_run=trainer.outputs["model_run"], spec_json=spec.to_json()).with_id(
        "Evaluator")
    components = [example_gen, statistics_gen, schema_gen, transform, trainer, evaluator]
    if spec.full_training is not None:
        components += push_components(spec, trainer, evaluator)
    if runner == "vertex" and vertex and spec.full_training is not None and vertex.dataflow_subnetwork:
        vertex = replace(vertex, dataflow=True)  # a full training's data stages on Dataflow (decision 080)
    if runner == "vertex" and vertex and not uses_dataflow(vertex):
        # Vertex AI runs each Beam stage on a machine with the tier's vCPUs and memory (KFP ResourceSpec).
        for component in components:
            if component.id in BEAM_COMPONENT_IDS:
                component.with_platform_config(pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec(
                    cpu_limit=spec.machine.vcpus, memory_limit=spec.machine.memory_gib))
    beam_args = vertex_beam_args(spec, vertex) if runner == "vertex" and vertex else list(LOCAL_BEAM_ARGS)
    return Pipeline(
        pipeline_name=spec.pipeline_name,
        pipeline_root=spec.pipeline_root if runner == "vertex" else spec.pipeline_root.removeprefix("file://"),
        components=components,
        enable_cache=enable_cache,
        metadata_connection_config=(
            sqlite_metadata_connection_config(metadata_path) if metadata_path else None
        ),
        beam_pipeline_args=beam_args,
    )
