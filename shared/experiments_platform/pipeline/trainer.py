"""The Trainer's ``run_fn``: a fixed module configured by the validated spec in ``custom_config``.

``custom_config["spec"]`` is the ``QuickTestSpec`` JSON. It is parsed by pydantic; config values
(names, sizes, rates) are used as data only. The run: open the tracked run (its journal in the
artifact store; MLflow gets it in the background, so training never waits on MLflow), load the
transformed splits and corpus, train with per-epoch metrics, evaluate exactly on the test split,
write the ``MetricsReport`` as ``evaluation.json`` to the model-run directory and the tower
weights to the model directory.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from experiments_platform.domain.metrics_report import MetricsReport
from experiments_platform.domain.pipeline_spec import QuickTestSpec
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.pipeline.buyer_hits import hits_uri
from experiments_platform.pipeline.buyer_recall import member
from experiments_platform.pipeline.corpus_index import corpus_positions
from experiments_platform.pipeline.evaluation import (
    evaluate_test_split,
    evaluation_report,
    log_popularity,
    prior_weight,
    sampling_probabilities,
    vocabulary_report,
    with_prior,
)
from experiments_platform.pipeline.example_gen import candidate_examples
from experiments_platform.pipeline.feature_names import (
    CANDIDATE_KEY,
    QUERY_KEY,
    buyer_inputs,
    tower_inputs,
    vocabulary_features,
)
from experiments_platform.pipeline.history import history_tables
from experiments_platform.pipeline.model import (
    LOSS_EVALUATION_BATCH,
    LOSS_PER_EXAMPLE,
    SAMPLING_PROBABILITY,
    TwoTowerModel,
    build_model,
    weight_statistics,
)
from experiments_platform.pipeline.tracking import TrackedRun
from experiments_platform.pipeline.trainer_data import (
    Arrays,
    counted,
    load_corpus,
    load_split,
    select,
    shuffled_batches,
    split_files,
)

log = get_logger(__name__)
EVALUATION_FILE = "evaluation.json"
EMBED_BATCH = 8192
TRACKING_WAIT_S = 5.0
"""Longest wait for MLflow when the trainer ends (one delivery attempt; the evaluator or reconcile
delivers the rest)."""


def trainer_config(spec: QuickTestSpec) -> dict[str, Any]:
    """The Trainer's ``custom_config``: the whole spec as JSON text (data, parsed by pydantic)."""
    return {"spec": spec.to_json()}


class EpochLogger(tf.keras.callbacks.Callback):
    """Collects each epoch's losses and weight statistics into the tracked run (journal first, then MLflow)."""

    def __init__(self, tracker: TrackedRun | None) -> None:
        super().__init__()
        self.tracker = tracker
        self.history: list[dict[str, float]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        assert isinstance(self.model, TwoTowerModel)
        values = {k: float(v) for k, v in (logs or {}).items()}
        values.update(weight_statistics(self.model))
        if not all(np.isfinite(v) for v in values.values()):
            raise FloatingPointError(f"NaN or infinite loss/weights at epoch {epoch + 1}: {values}; "
                                     "lower the learning rate")
        self.history.append({"epoch": epoch + 1, **values})
        if self.tracker:
            self.tracker.log_epoch(epoch + 1, values)
        log.info("epoch finished", extra=fields(epoch=epoch + 1, **values))


def _embed(tower: tf.keras.Model, arrays: Arrays) -> np.ndarray:
    return np.concatenate([tower(batch).numpy() for batch in shuffled_batches(arrays, EMBED_BATCH)])


def _dataset(arrays: Arrays, batch_size: int, seed: int | None = None) -> tf.data.Dataset:
    return shuffled_batches(arrays, batch_size, seed).prefetch(2)


def params_of(spec: QuickTestSpec) -> dict[str, Any]:
    features = [f"{f.column}:{f.kind}({getattr(f, 'embedding_dim', '-')})" for f in spec.features.query_features]
    candidates = [f"{f.column}:{f.kind}({getattr(f, 'embedding_dim', '-')})" for f in spec.features.candidate_features]
    crosses = [f"{c.tower}:{c.name}({c.embedding_dim})" for c in spec.features.cross_features]
    p, m = spec.parameters, spec.model
    return {
        "experiment_id": spec.experiment_id, "experiment_number": spec.experiment_number,
        "dataset_id": spec.dataset_id, "pipeline_name": spec.pipeline_name,
        "query_features": ", ".join(features), "candidate_features": ", ".join(candidates),
        "cross_features": ", ".join(crosses) or "-",
        "query_tower": m.tower_summary("query"), "candidate_tower": m.tower_summary("candidate"),
        "output_dim": m.output_dim, "activation": m.activation, "optimizer": m.optimizer,
        "l2_regularization": m.l2_regularization, "sampling_bias_correction": m.sampling_bias_correction,
        "epochs": p.epochs, "batch_size": p.batch_size, "learning_rate": p.learning_rate,
        "sample_percent": p.sample_percent, "split_strategy": p.split.strategy, "seed": p.seed,
        "training_seed": p.trainer_seed,
        "hardware_tier": p.hardware_tier,
    }


def train_and_evaluate(spec: QuickTestSpec, transform_dir: str, train_files: list[str], model_dir: str,
                       run_dir: str) -> MetricsReport:
    """Everything ``run_fn`` does, callable without TFX (tests, benchmarks)."""
    started = time.monotonic()
    tracker = TrackedRun.start(spec.mlflow, spec.artifacts.tracking, key=spec.experiment_id, tags={
        "experiment_id": spec.experiment_id, "experiment_number": str(spec.experiment_number),
        "pipeline_name": spec.pipeline_name, "quick_test": "true",
    }, params=params_of(spec))
    try:
        result = _train_and_evaluate(spec, transform_dir, train_files, model_dir, run_dir, tracker, started)
    except BaseException:
        tracker.end("FAILED")
        tracker.close(TRACKING_WAIT_S)
        raise
    tracker.close(TRACKING_WAIT_S)
    return result


def _train_and_evaluate(spec: QuickTestSpec, transform_dir: str, train_files: list[str], model_dir: str,
                        run_dir: str, tracker: TrackedRun, started: float) -> MetricsReport:
    tf.keras.utils.set_random_seed(spec.parameters.trainer_seed)
    transform = tft.TFTransformOutput(transform_dir)
    sizes = {name: transform.vocabulary_size_by_name(name) for _, name, _ in vocabulary_features(spec.features)}
    query_inputs = tower_inputs(spec.features, "query", sizes)
    candidate_inputs = tower_inputs(spec.features, "candidate", sizes)
    model_names = [i.name for i in query_inputs + candidate_inputs]

    timings: dict[str, float] = {}
    mark = time.monotonic()
    splits = {name: counted(name, load_split(split_files(train_files, name), transform))
              for name in ("train", "eval", "test")}
    corpus = load_corpus(candidate_examples(spec.queries), transform)
    timings["load_s"] = time.monotonic() - mark

    def model_arrays(split: Arrays) -> Arrays:
        arrays = select(split, model_names)
        arrays[SAMPLING_PROBABILITY] = sampling_probabilities(splits["train"][CANDIDATE_KEY], split[CANDIDATE_KEY])
        return arrays

    tables = history_tables(spec.features, sizes, [splits["train"]])
    model = build_model(query_inputs, candidate_inputs, spec.model, spec.parameters.learning_rate, tables)
    epochs = EpochLogger(tracker)
    batch = spec.parameters.batch_size
    mark = time.monotonic()
    model.fit(
        _dataset(model_arrays(splits["train"]), batch, seed=spec.parameters.trainer_seed),
        validation_data=_dataset(model_arrays(splits["eval"]), batch),
        epochs=spec.parameters.epochs, callbacks=[epochs], verbose=0,
    )
    timings["fit_s"] = time.monotonic() - mark

    mark = time.monotonic()
    test_loss = model.evaluate(_dataset(model_arrays(splits["test"]), batch), return_dict=True, verbose=0)["loss"]
    test_loss_per_example = model.evaluate(_dataset(model_arrays(splits["test"]), LOSS_EVALUATION_BATCH),
                                           return_dict=True, verbose=0)[LOSS_PER_EXAMPLE]
    query_embeddings = _embed(model.query_tower, select(splits["test"], [i.name for i in query_inputs]))
    candidate_embeddings = _embed(model.candidate_tower, select(corpus, [i.name for i in candidate_inputs]))
    query_embeddings, candidate_embeddings = _popularity_prior(model, splits, corpus, query_inputs,
                                                               buyer_inputs(spec.features, sizes),
                                                               query_embeddings, candidate_embeddings)
    recall, hits = evaluate_test_split(query_embeddings, candidate_embeddings, splits["test"], splits["train"],
                                       corpus, val=splits["eval"])  # one ranking for the recall and the hits
    with tf.io.gfile.GFile(hits_uri(spec.artifacts.metrics), "w") as out:
        out.write(hits.model_dump_json())
    timings["evaluate_s"] = time.monotonic() - mark

    tracker.flush(TRACKING_WAIT_S)
    report = evaluation_report(
        spec, mlflow_run_id=tracker.run_id, mlflow_experiment_id=tracker.experiment_id, test_loss=test_loss,
        test_loss_per_example=test_loss_per_example, history=epochs.history, recall=recall,
        vocabularies=vocabulary_report(spec.features, sizes, splits["eval"]),
        splits=splits, corpus=corpus, timings={**timings, "trainer_s": time.monotonic() - started},
    )
    tf.io.gfile.makedirs(run_dir)
    with tf.io.gfile.GFile(f"{run_dir}/{EVALUATION_FILE}", "w") as out:
        out.write(report.to_json())
    _save_towers(model, model_dir, corpus[CANDIDATE_KEY], candidate_embeddings)
    log.info("trainer finished", extra=fields(**report.final, **timings))
    return report


def _popularity_prior(model: TwoTowerModel, splits: dict[str, Arrays], corpus: Arrays, query_inputs: list[Any],
                      buyer_ids: dict[str, int], test_queries: np.ndarray, candidates: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Test and candidate embeddings scored ``q · c + w × log(1 + training count)`` (decision 060, amendment 2).

    ``w`` is chosen on the validation split's recall@100 (0: the model alone). A cold-start test buyer (absent
    from training) reaches the query tower with its id in the out-of-vocabulary bucket, so its weight is chosen
    on the validation split read the same way: every input that identifies the buyer (``buyer_ids``: name → its
    first OOV index, ``feature_names.buyer_inputs``) set to that index, the side features as they are."""
    keys = corpus[CANDIDATE_KEY]
    prior = log_popularity(corpus_positions(keys, splits["train"][CANDIDATE_KEY]), len(keys))
    val_positions = corpus_positions(keys, splits["eval"][CANDIDATE_KEY])
    val_inputs = select(splits["eval"], [i.name for i in query_inputs])
    weight, tried = prior_weight(_embed(model.query_tower, val_inputs), candidates, val_positions, prior)
    weights = np.full(len(test_queries), weight, dtype=np.float32)
    cold = ~member(splits["test"][QUERY_KEY], splits["train"][QUERY_KEY])
    cold_weight, cold_tried = None, None
    if buyer_ids and cold.any():
        as_cold = {**val_inputs, **{name: np.full_like(val_inputs[name], size) for name, size in buyer_ids.items()}}
        cold_weight, cold_tried = prior_weight(_embed(model.query_tower, as_cold), candidates, val_positions, prior)
        weights[cold] = cold_weight
    log.info("popularity prior", extra=fields(weight=weight, validation_recall_at_100=tried, cold_weight=cold_weight,
                                              cold_validation_recall_at_100=cold_tried,
                                              cold_test_rows=int(cold.sum())))
    return with_prior(test_queries, candidates, prior, weights)


def _save_towers(model: TwoTowerModel, model_dir: str, candidate_keys: np.ndarray, embeddings: np.ndarray) -> None:
    """Tower weights (a TF checkpoint) and the corpus embeddings: enough to rebuild or serve the index."""
    tf.io.gfile.makedirs(model_dir)
    tf.train.Checkpoint(query_tower=model.query_tower, candidate_tower=model.candidate_tower).write(
        f"{model_dir}/towers")
    buffer = io.BytesIO()
    np.savez(buffer, keys=candidate_keys, embeddings=embeddings)
    with tf.io.gfile.GFile(f"{model_dir}/candidate_embeddings.npz", "wb") as out:
        out.write(buffer.getvalue())


def run_fn(fn_args: Any) -> None:
    """TFX Trainer entry point (``run_fn`` module path; no module file)."""
    spec = QuickTestSpec.from_json(fn_args.custom_config["spec"])
    train_and_evaluate(spec, fn_args.transform_output, list(fn_args.train_files), fn_args.serving_model_dir,
                       fn_args.model_run_dir)
