"""A full training end to end on a MovieLens 100k sample (decisions 070-073).

Real TFX (the local compiled pipeline through ``run_local``, in process), real TFRS, a real MLflow
server: early stopping on validation recall with the best epoch restored, the SavedModel served in
a fresh process holding only TensorFlow, the Pusher's push, the MLflow Model Registry version and
alias, and the lineage read back from the run's ML Metadata.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from experiments_platform.domain.full_training import FullTrainingParameters
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.pipeline_spec import ModelRegistryTarget, QuickTestSpec, registry_model_name
from experiments_platform.pipeline.compile import compile_local, metadata_path
from experiments_platform.pipeline.definition import FULL_TRAINING_COMPONENT_IDS
from experiments_platform.pipeline.full_training import SERVING_CHECK_FILE
from experiments_platform.pipeline.run_local import run_compiled
from mlflow import MlflowClient

from .factories import example_rows, rows_read, sample_spec

pytestmark = pytest.mark.e2e

SERVE = textwrap.dedent("""
    import json, sys, time
    import tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    serve = model.signatures["serving_default"]
    check = json.load(open(sys.argv[1] + "/assets.extra/serving_check.json"))
    _, inputs = serve.structured_input_signature
    request = {name: tf.constant([check["inputs"][name]], dtype=spec.dtype) for name, spec in inputs.items()}
    answer = serve(**request)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        serve(**request)
        times.append(time.perf_counter() - started)
    ids = [i.decode() for i in answer["ids"].numpy()[0][:10]]
    print(json.dumps({"ids": ids, "expected": check["top_ids"], "modules": sorted(
        m for m in sys.modules if m.startswith("experiments_platform") or m.startswith("tensorflow_recommenders")),
        "p50_ms": sorted(times)[len(times) // 2] * 1000}))
""")


def full_spec(data_dir: Path, cache: Path, mlflow_uri: str, experiment_id: str, **parameters) -> QuickTestSpec:
    base = sample_spec(data_dir, cache, mlflow_uri, experiment_id,
                       ModelConfig(name="towers", query_tower_layers=[32], candidate_tower_layers=[32]))
    full = FullTrainingParameters(source_experiment_id="qt1", **parameters)
    registry = ModelRegistryTarget(uri=(data_dir / "registry").as_uri(),
                                   model_name=registry_model_name(base.dataset_id))
    spec = QuickTestSpec.model_validate({**base.model_dump(), "full_training": full.model_dump(),
                                         "registry": registry.model_dump()})
    Path(spec.artifacts.spec.removeprefix("file://")).write_text(spec.to_json())
    return spec


def run(spec: QuickTestSpec, logs: Path) -> list[dict]:
    events: list[dict] = []
    run_compiled(compile_local(spec), logs, Path(spec.artifacts.artifacts.removeprefix("file://")), events.append)
    return events


@pytest.fixture(scope="module")
def movielens_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's own data dir: its runs' cached data stages must not reach other modules' quick tests
    (the end-to-end test expects every stage of its first run to execute)."""
    return tmp_path_factory.mktemp("full-training-data")


@pytest.fixture(scope="module")
def full_run(movielens_dir, wheel_cache, mlflow_server):
    spec = full_spec(movielens_dir, wheel_cache, mlflow_server, "full1", max_epochs=12, patience=2, top_k=50)
    events = run(spec, movielens_dir / "logs")
    return spec, events


def test_full_training_runs_every_component_and_stops_early_on_validation_recall(full_run):
    spec, events = full_run
    finished = [(e["component"], e["state"]) for e in events if e["state"] != "RUNNING"]
    assert [c for c, _ in finished] == list(FULL_TRAINING_COMPONENT_IDS)
    assert all(state == "SUCCEEDED" for _, state in finished), events[-1]
    metrics = json.loads(Path(spec.artifacts.metrics.removeprefix("file://")).read_text())
    training = metrics["training"]
    history = metrics["history"]
    assert training["run_kind"] == "full_training" and training["monitor"] == "val_recall_at_100"
    assert training["epochs_run"] == len(history) <= 12
    best = max(history, key=lambda row: (row["val_recall_at_100"], -row["epoch"]))
    assert training["best_epoch"] == best["epoch"]
    assert training["best_value"] == pytest.approx(best["val_recall_at_100"])
    later = [row["val_recall_at_100"] for row in history if row["epoch"] > training["best_epoch"]]
    if training["early_stopped"]:
        assert len(later) == 2 and all(v <= training["best_value"] for v in later)
    assert training["source_experiment_id"] == "qt1"
    assert metrics["final"]["recall_at_100"] > 2 * 100 / metrics["protocol"]["corpus_size"]


def test_the_trainer_logs_the_rows_it_read_of_each_split(full_run, movielens_dir):
    """Issue 15: one 'split read' record a split in the Trainer's component log (the Pipeline tab's summary)."""
    spec, _ = full_run
    artifacts = json.loads(Path(spec.artifacts.artifacts.removeprefix("file://")).read_text())
    examples = Path(artifacts["ExampleGen"]["examples"][0].removeprefix("file://"))
    read = {record["split"]: record["rows"] for record in rows_read(movielens_dir / "logs" / "Trainer.log")}
    assert read == {split: example_rows(examples / f"Split-{split}") for split in ("train", "eval", "test")}


def test_the_exported_model_serves_a_raw_buyer_request_in_a_process_with_only_tensorflow(full_run):
    spec, _ = full_run
    record = json.loads(Path(spec.artifacts.model.removeprefix("file://")).read_text())
    pushed = Path(record["pushed_model_uri"].removeprefix("file://"))
    assert pushed.parent == Path(spec.registry.uri.removeprefix("file://")) and (pushed / "saved_model.pb").exists()
    assert (pushed / SERVING_CHECK_FILE).exists() and Path(record["candidate_embeddings_uri"][7:]).exists()
    answer = subprocess.run([sys.executable, "-c", SERVE, str(pushed)], capture_output=True, text=True, check=True,
                            env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"}, cwd="/")
    served = json.loads(answer.stdout.strip().splitlines()[-1])
    assert served["modules"] == [], "the serving process imported project or TFRS code"
    assert served["ids"] == served["expected"] and len(served["ids"]) == 10
    assert set(record["inputs"]) == {"user_id", "occupation", "gender", "age", "timestamp"}


def test_the_push_is_a_registered_mlflow_model_version_with_the_production_alias(full_run, mlflow_server):
    spec, _ = full_run
    record = json.loads(Path(spec.artifacts.model.removeprefix("file://")).read_text())
    assert record["registration"] == "registered", record["registration_error"]
    assert record["production"] is True, "the model's first version is production on its own (decision 079)"
    client = MlflowClient(mlflow_server)
    version = client.get_model_version_by_alias(spec.registry.model_name, "production")
    assert version.version == record["mlflow_model_version"] and version.run_id == record["mlflow_run_id"]
    assert version.tags["pushed_model_uri"] == record["pushed_model_uri"]
    run = client.get_run(record["mlflow_run_id"])
    assert run.data.tags["run_kind"] == "full_training" and run.data.tags["source_experiment_id"] == "qt1"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_recall_at_100")] == \
        list(range(1, len(json.loads(Path(spec.artifacts.metrics[7:]).read_text())["history"]) + 1))


def test_lineage_names_every_artifact_that_made_the_model_and_the_push(full_run):
    from experiments_platform.adapters.mlmd_lineage import read_lineage

    spec, _ = full_run
    lineage = read_lineage(metadata_path(spec), spec.experiment_id)
    assert lineage is not None
    types = {a.type for a in lineage.artifacts}
    assert {"Examples", "ExampleStatistics", "Schema", "TransformGraph", "Model", "ModelRun", "PushedModel"} <= types
    components = {e.component for e in lineage.executions}
    assert set(FULL_TRAINING_COMPONENT_IDS) <= components
    artifacts = json.loads(Path(spec.artifacts.artifacts[7:]).read_text())
    model = next(a for a in lineage.artifacts if a.type == "Model")
    assert model.uri == artifacts["Trainer"]["model"][0]
    trainer = next(e for e in lineage.executions if e.component == "Trainer")
    assert model.produced_by == trainer.id and model.id in trainer.outputs
    examples = next(a for a in lineage.artifacts if a.type == "Examples")
    assert examples.id in trainer.inputs and examples.uri == artifacts["ExampleGen"]["examples"][0]
    assert lineage.model_uri == model.uri
    from experiments_platform.adapters.mlmd_lineage import lineage_of_spec, local_metadata_path

    assert local_metadata_path(spec.pipeline_root) == Path(metadata_path(spec))
    assert lineage_of_spec(spec) == lineage and lineage.pushed_model_uri == json.loads(
        Path(spec.artifacts.model[7:]).read_text())["pushed_model_uri"]


def test_a_quick_test_on_cached_data_stages_has_the_lineage_of_the_artifacts_it_reused(full_run, movielens_dir,
                                                                                        wheel_cache, mlflow_server,
                                                                                        tmp_path):
    from experiments_platform.adapters.mlmd_lineage import read_lineage

    spec, _ = full_run
    quick = sample_spec(movielens_dir, wheel_cache, mlflow_server, "after-full",
                        ModelConfig(name="small", query_tower_layers=[8], candidate_tower_layers=[8]), epochs=1)
    events = run(quick, tmp_path)
    assert {e["component"] for e in events if e["state"] == "SKIPPED"} >= {"ExampleGen", "Transform"}
    lineage = read_lineage(metadata_path(quick), "after-full")
    first = read_lineage(metadata_path(spec), spec.experiment_id)
    assert lineage is not None and first is not None
    assert lineage.artifact("Examples") == first.artifact("Examples"), "the cached run reused the first run's examples"
    assert lineage.artifact("Model") != first.artifact("Model") and lineage.artifact("PushedModel") is None
    made_examples = next(e for e in lineage.executions if e.id == lineage.artifact("Examples").produced_by)
    assert made_examples.component == "ExampleGen" and made_examples.state == "COMPLETE"
    assert read_lineage(metadata_path(quick), "no-such-experiment") is None


def test_mlflow_down_leaves_the_push_standing_and_the_registration_pending(full_run, tmp_path):
    from experiments_platform.pipeline.registrar import register

    spec, _ = full_run
    record = json.loads(Path(spec.artifacts.model.removeprefix("file://")).read_text())
    down = spec.model_copy(update={
        "mlflow": spec.mlflow.model_copy(update={"tracking_uri": "http://127.0.0.1:9"}),
        "artifacts": spec.artifacts.model_copy(update={"model": (tmp_path / "model.json").as_uri()}),
    })
    pending = register(down, record["serving_model_uri"], record["pushed_model_uri"].removeprefix("file://"),
                       record["pushed_version"])
    assert pending["registration"] == "pending" and pending["mlflow_model_version"] is None
    assert pending["production"] is False
    assert "127.0.0.1:9" in pending["registration_error"]
    assert json.loads((tmp_path / "model.json").read_text()) == pending
    assert pending["pushed_model_uri"] == record["pushed_model_uri"]


def test_per_buyer_recall_masks_the_buyers_validation_items_and_the_loss_is_per_example(full_run):
    """Issue 12 leftover (decision 063): the full training's per-buyer recall masks the buyer's training AND
    validation items, recomputed here from the run's own test query embeddings, corpus embeddings and splits."""
    from glob import glob

    import numpy as np
    import tensorflow_transform as tft
    from experiments_platform.domain.metrics import RECALL_KS
    from experiments_platform.pipeline.buyer_recall import buyer_recall
    from experiments_platform.pipeline.evaluation import corpus_positions
    from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY
    from experiments_platform.pipeline.full_training import TEST_QUERIES_FILE, collect, stream

    spec, _ = full_run
    metrics = json.loads(Path(spec.artifacts.metrics[7:]).read_text())
    record = json.loads(Path(spec.artifacts.model[7:]).read_text())
    artifacts = json.loads(Path(spec.artifacts.artifacts[7:]).read_text())
    path = {component: Path(artifacts[component][key][0].removeprefix("file://")) for component, key in
            (("Transform", "transform_graph"), ("ExampleGen", "examples"), ("Trainer", "model_run"))}
    transform = tft.TFTransformOutput(str(path["Transform"]))
    examples = path["ExampleGen"]  # the Trainer streams the raw examples through the Transform graph
    keys = {name: collect(stream(sorted(glob(f"{examples}/Split-{name}/*")), transform, (QUERY_KEY, CANDIDATE_KEY)))
            for name in ("train", "eval", "test")}
    corpus = np.load(record["candidate_embeddings_uri"].removeprefix("file://"), allow_pickle=True)
    position = {name: corpus_positions(corpus["keys"], keys[name][CANDIDATE_KEY]) for name in keys}
    queries, candidates = scored_as_evaluated(metrics, np.load(path["Trainer"] / TEST_QUERIES_FILE), corpus, keys)
    masked = buyer_recall(queries, candidates, position["test"], keys["test"], keys["train"],
                          position["train"], keys["eval"], position["eval"], RECALL_KS)
    train_only = buyer_recall(queries, candidates, position["test"], keys["test"], keys["train"],
                              position["train"], None, None, RECALL_KS)
    reported = metrics["recall"]["per_buyer"]["model"]
    assert {int(k): v for k, v in reported.items()} == pytest.approx(masked.model)
    assert masked.model != pytest.approx(train_only.model), "masking validation items changes nothing here"
    assert metrics["final"]["test_loss_per_example"] > 0
    assert all({"loss_per_example", "val_loss_per_example"} <= row.keys() for row in metrics["history"])


def scored_as_evaluated(metrics: dict, queries, corpus, keys):
    """The test queries and corpus embeddings with the popularity prior at the weights the run reports (decision 060
    amendment 3): the cold-start test buyers' weight for buyers absent from training, the known buyers' otherwise."""
    import numpy as np
    from experiments_platform.pipeline.buyer_recall import member
    from experiments_platform.pipeline.evaluation import with_prior
    from experiments_platform.pipeline.feature_names import QUERY_KEY

    training = metrics["training"]
    weights = np.full(len(queries), training["prior_weight"], dtype=np.float32)
    cold = ~member(keys["test"][QUERY_KEY], keys["train"][QUERY_KEY])
    if training.get("cold_prior_weight") is not None:  # absent from metrics.json when no test buyer is cold
        weights[cold] = training["cold_prior_weight"]
    else:
        assert not cold.any()
    return with_prior(queries, corpus["embeddings"], corpus["prior"], weights)


def test_the_full_training_scores_with_the_popularity_prior_as_the_quick_test_and_serves_the_same(full_run,
                                                                                                 movielens_dir):
    """Decision 060 amendment 3: the prior's weights are chosen on the validation split of the best epoch's model
    (recorded in metrics.json and the 'popularity prior' record); the test recall is q·c + w·log(1 + count), checked
    by brute force on the run's own embeddings; the exported model and its serving check use the known buyers'
    weight (the ids the served model must return are the brute-force top 10 of the first test buyer)."""
    from glob import glob

    import numpy as np
    import tensorflow_transform as tft
    from experiments_platform.pipeline.evaluation import PRIOR_WEIGHTS, corpus_positions, log_popularity
    from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY
    from experiments_platform.pipeline.full_training import TEST_QUERIES_FILE, collect, stream

    from .test_popularity_prior import brute_recall

    spec, _ = full_run
    metrics = json.loads(Path(spec.artifacts.metrics[7:]).read_text())
    record = json.loads(Path(spec.artifacts.model[7:]).read_text())
    artifacts = json.loads(Path(spec.artifacts.artifacts[7:]).read_text())
    training = metrics["training"]
    assert training["prior_weight"] in PRIOR_WEIGHTS and training["served_prior_weight"] == training["prior_weight"]
    logged = [line for line in (movielens_dir / "logs" / "Trainer.log").read_text().splitlines()
              if "popularity prior" in line]
    assert len(logged) == 1 and json.loads(logged[0].split("popularity prior ", 1)[1])["weight"] == \
        training["prior_weight"]

    path = {component: Path(artifacts[component][key][0].removeprefix("file://")) for component, key in
            (("Transform", "transform_graph"), ("ExampleGen", "examples"), ("Trainer", "model_run"))}
    transform = tft.TFTransformOutput(str(path["Transform"]))
    keys = {name: collect(stream(sorted(glob(f"{path['ExampleGen']}/Split-{name}/*")), transform,
                                 (QUERY_KEY, CANDIDATE_KEY))) for name in ("train", "eval", "test")}
    corpus = np.load(record["candidate_embeddings_uri"].removeprefix("file://"), allow_pickle=True)
    train_positions = corpus_positions(corpus["keys"], keys["train"][CANDIDATE_KEY])
    np.testing.assert_allclose(corpus["prior"], log_popularity(train_positions, len(corpus["keys"])), rtol=1e-6)
    assert float(corpus["prior_weight"]) == training["served_prior_weight"]
    raw_queries = np.load(path["Trainer"] / TEST_QUERIES_FILE)
    queries, candidates = scored_as_evaluated(metrics, raw_queries, corpus, keys)
    positives = corpus_positions(corpus["keys"], keys["test"][CANDIDATE_KEY])
    scores = queries.astype(np.float64) @ candidates.astype(np.float64).T
    for k in (10, 100):
        assert metrics["final"][f"recall_at_{k}"] == pytest.approx(brute_recall(scores, positives, k), abs=2e-3)

    check = json.loads((Path(record["pushed_model_uri"].removeprefix("file://")) / SERVING_CHECK_FILE).read_text())
    assert check["prior_weight"] == training["served_prior_weight"]
    served = raw_queries[0].astype(np.float64) @ corpus["embeddings"].astype(np.float64).T + \
        check["prior_weight"] * corpus["prior"].astype(np.float64)
    top = np.lexsort((np.arange(len(served)), -served))[:10]
    assert check["top_ids"] == [corpus["keys"][i].decode() for i in top]
