"""A full training's Trainer (decisions 070-072): streamed splits, early stopping, a servable export.

Unlike a quick test, no split is held in memory: the splits stream from the ExampleGen TFRecords
through the Transform graph (``tf.data``), cached once transformed in a scratch file and shuffled
through a bounded buffer; only the key columns (query and candidate ids, a few bytes a row), the
eval split's vocabulary columns and the candidate corpus are kept. After every epoch the eval
split's recall@k against the whole corpus is computed exactly (``recall.recall_at_k``); training
stops after ``patience`` epochs without improvement and the best epoch's weights are restored,
evaluated on the test split and exported as a SavedModel whose ``serving_default`` signature takes
a buyer's raw features and returns the top-k candidate ids and scores over the whole corpus
(``tfrs.layers.factorized_top_k.BruteForce``), with the candidate embeddings beside it. Test recall and
the served scores add the popularity prior as the quick test does (``PriorWeights``, decision 060 amendment 3);
the served model gives every buyer the known buyers' weight.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs
import tensorflow_transform as tft

from experiments_platform.domain.full_training import FullTrainingParameters
from experiments_platform.domain.metrics import RECALL_KS
from experiments_platform.domain.metrics_report import MetricsReport, TrainingSection
from experiments_platform.domain.pipeline_spec import QuickTestSpec
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.pipeline.buyer_recall import member
from experiments_platform.pipeline.evaluation import (
    corpus_positions,
    evaluation_report,
    log_popularity,
    prior_weight,
    recall_report,
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
from experiments_platform.pipeline.history import history_columns, history_tables
from experiments_platform.pipeline.model import (
    LOSS_EVALUATION_BATCH,
    LOSS_PER_EXAMPLE,
    SAMPLING_PROBABILITY,
    TwoTowerModel,
    build_model,
)
from experiments_platform.pipeline.recall import recall_at_k
from experiments_platform.pipeline.tracking import TrackedRun
from experiments_platform.pipeline.trainer_data import (
    Arrays,
    collect,
    counted,
    load_corpus,
    select,
    shuffled_batches,
    split_files,
    stream,
)

log = get_logger(__name__)
COLUMNS_BUDGET = 512 * 2**20
"""Bytes of model columns a split may hold in memory (a whole-split shuffle each epoch); above it the split
streams from its cache through a shuffle buffer of as many bytes of rows."""
EMBED_BATCH = 8192
SIGNATURE = "serving_default"
EMBEDDINGS_FILE = "assets.extra/candidate_embeddings.npz"
SERVING_CHECK_FILE = "assets.extra/serving_check.json"
"""One buyer of the test split (raw features) and the top 10 the platform's exact ranking gives it: a
fresh process holding only TensorFlow asks the SavedModel the same and must get the same ids."""
CHECK_K = 10
TEST_QUERIES_FILE = "test_query_embeddings.npy"
"""The test split's query embeddings (ModelRun folder): what an approximate index's recall is measured on."""
"""Beside the SavedModel (``assets.extra`` is TF Serving's place for files it does not load), so every push
carries it."""


class _OverBudget(Exception):
    pass


class Splits:
    """The splits of one Examples artifact as the trainer reads them (decision 094).

    A split whose model columns fit ``COLUMNS_BUDGET`` bytes (ids and numbers: 8 bytes a column a row,
    16 MB for a million rows of two id features) is read once, streamed through the Transform graph, and
    held as NumPy columns; every epoch gathers its batches through a new permutation of all its rows
    (``trainer_data.shuffled_batches``, as the quick test). A bigger split streams from a scratch cache
    of its transformed rows each epoch, shuffled through a buffer of ``COLUMNS_BUDGET`` bytes of rows.
    """

    def __init__(self, train_files: list[str], transform: tft.TFTransformOutput, names: list[str],
                 scratch: str, budget: int | None = None) -> None:
        self.transform = transform
        self.names = names
        self.scratch = scratch
        self.budget = COLUMNS_BUDGET if budget is None else budget
        self.files = {name: split_files(train_files, name) for name in ("train", "eval", "test")}
        self._rows: dict[str, tf.data.Dataset] = {}
        self._columns: dict[str, Arrays | None] = {}
        self.row_bytes = 0

    def columns(self, split: str) -> Arrays | None:
        """The split's model inputs and candidate keys as NumPy columns; None when they exceed the budget."""
        if split not in self._columns:
            held, rows = 0, 0

            def within_budget() -> Iterator[dict[str, tf.Tensor]]:
                nonlocal held, rows
                for batch in stream(self.files[split], self.transform, sorted({*self.names, CANDIDATE_KEY})):
                    held += sum(int(tf.size(v)) * v.dtype.size for k, v in batch.items() if k != CANDIDATE_KEY)
                    rows += int(tf.shape(batch[CANDIDATE_KEY])[0])
                    self.row_bytes = max(self.row_bytes, held // max(rows, 1))
                    if held > self.budget:
                        raise _OverBudget
                    yield batch

            try:
                self._columns[split] = collect(within_budget())
            except _OverBudget:
                self._columns[split] = None
                log.info("split streamed from disk each epoch", extra=fields(split=split, budget=self.budget))
        return self._columns[split]

    def rows(self, split: str) -> tf.data.Dataset:
        """Transformed rows (model inputs and both keys), cached to a file after the first full pass."""
        if split not in self._rows:
            columns = sorted({*self.names, QUERY_KEY, CANDIDATE_KEY})
            self._rows[split] = stream(self.files[split], self.transform, columns).unbatch().cache(
                f"{self.scratch}/{split}")
        return self._rows[split]

    def inputs(self, split: str, names: list[str]) -> tf.data.Dataset:
        """Batches of ``EMBED_BATCH`` rows of the columns ``names``, in the split's order."""
        columns = self.columns(split)
        if columns is not None:
            return shuffled_batches(select(columns, names), EMBED_BATCH)
        return self.rows(split).batch(EMBED_BATCH)

    def batches(self, split: str, batch_size: int, probability: tf.lookup.StaticHashTable,
                seed: int | None = None) -> tf.data.Dataset:
        """Model batches: the model's inputs plus each row's sampling probability; shuffled with ``seed``."""
        names = self.names
        columns = self.columns(split)
        if columns is not None:
            arrays = select(columns, names)
            arrays[SAMPLING_PROBABILITY] = probability.lookup(tf.constant(columns[CANDIDATE_KEY])).numpy()
            return shuffled_batches(arrays, batch_size, seed).prefetch(2)
        rows = self.rows(split)
        if seed is not None:
            rows = rows.shuffle(max(self.budget // max(self.row_bytes, 1), batch_size), seed=seed,
                                reshuffle_each_iteration=True)

        def model_batch(batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            out = {name: batch[name] for name in names}
            out[SAMPLING_PROBABILITY] = probability.lookup(batch[CANDIDATE_KEY])
            return out

        return rows.batch(batch_size).map(model_batch).prefetch(2)


def _trainer_seed(spec: QuickTestSpec) -> int:
    """The trainer's initialisation and shuffling seed (``QuickTestParameters.trainer_seed`` where it exists)."""
    return int(getattr(spec.parameters, "trainer_seed", spec.parameters.seed))


def probability_table(train_keys: np.ndarray) -> tf.lookup.StaticHashTable:
    """Each candidate's frequency in the training split; unseen ones 1 / rows (as ``sampling_probabilities``)."""
    values, counts = np.unique(train_keys, return_counts=True)
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(values), tf.constant(counts / len(train_keys), tf.float32)),
        default_value=1.0 / max(len(train_keys), 1))


def embed(tower: tf.keras.Model, batches: tf.data.Dataset, names: list[str]) -> np.ndarray:
    return np.concatenate([tower({n: batch[n] for n in names}).numpy() for batch in batches])


class EarlyStopping(tf.keras.callbacks.Callback):
    """Exact validation recall@k after every epoch (put into the epoch's logs), patience, best weights kept."""

    def __init__(self, parameters: FullTrainingParameters, validation_recall: Callable[[], dict[int, float]]) -> None:
        super().__init__()
        self.parameters = parameters
        self.validation_recall = validation_recall
        self.best_epoch: int | None = None
        self.best_value = -math.inf
        self.best_weights: list[np.ndarray] | None = None
        self.epochs_run = 0
        self.waited = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        recall = self.validation_recall()
        if logs is not None:
            logs.update({f"val_recall_at_{k}": value for k, value in recall.items()})
        value = recall[self.parameters.monitor_k]
        self.epochs_run = epoch + 1
        if self.best_epoch is None or value > self.best_value + self.parameters.min_delta:
            self.best_epoch, self.best_value, self.waited = epoch + 1, value, 0
            self.best_weights = [w.copy() for w in self.model.get_weights()]
        else:
            self.waited += 1
            if self.waited >= self.parameters.patience:
                self.model.stop_training = True

    def restore_best(self) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def section(self, source_experiment_id: str | None) -> TrainingSection:
        return TrainingSection(
            run_kind="full_training", epochs_run=self.epochs_run, max_epochs=self.parameters.max_epochs,
            patience=self.parameters.patience, monitor=self.parameters.monitor, best_epoch=self.best_epoch,
            best_value=self.best_value if self.best_epoch is not None else None,
            early_stopped=self.epochs_run < self.parameters.max_epochs, source_experiment_id=source_experiment_id,
        )


def train_full(spec: QuickTestSpec, transform_dir: str, train_files: list[str], serving_dir: str,
               run_dir: str) -> MetricsReport:
    """Everything a full training's ``run_fn`` does, callable without TFX (tests, benchmarks)."""
    from experiments_platform.pipeline.trainer import TRACKING_WAIT_S, params_of

    assert spec.full_training is not None, "train_full needs a full-training spec"
    started = time.monotonic()
    tracker = TrackedRun.start(spec.mlflow, spec.artifacts.tracking, key=spec.experiment_id, tags={
        "experiment_id": spec.experiment_id, "experiment_number": str(spec.experiment_number),
        "pipeline_name": spec.pipeline_name, "run_kind": "full_training",
        "source_experiment_id": spec.full_training.source_experiment_id or "-",
    }, params={**params_of(spec), "epochs": spec.full_training.max_epochs, "patience": spec.full_training.patience,
               "monitor": spec.full_training.monitor, "top_k": spec.full_training.top_k})
    scratch = tempfile.mkdtemp(prefix="full-training-")
    try:
        result = _train_full(spec, transform_dir, train_files, serving_dir, run_dir, tracker, started, scratch)
    except BaseException:
        tracker.end("FAILED")
        tracker.close(TRACKING_WAIT_S)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    tracker.close(TRACKING_WAIT_S)
    return result


def _train_full(spec: QuickTestSpec, transform_dir: str, train_files: list[str], serving_dir: str, run_dir: str,
                tracker: TrackedRun, started: float, scratch: str) -> MetricsReport:
    from experiments_platform.pipeline.trainer import EVALUATION_FILE, TRACKING_WAIT_S, EpochLogger

    full = spec.full_training
    assert full is not None
    tf.keras.utils.set_random_seed(_trainer_seed(spec))
    transform = tft.TFTransformOutput(transform_dir)
    sizes = {name: transform.vocabulary_size_by_name(name) for _, name, _ in vocabulary_features(spec.features)}
    query_inputs = tower_inputs(spec.features, "query", sizes)
    candidate_inputs = tower_inputs(spec.features, "candidate", sizes)
    query_names = [i.name for i in query_inputs]
    candidate_names = [i.name for i in candidate_inputs]
    vocabulary_names = [name for _, name, _ in vocabulary_features(spec.features)]
    splits = Splits(train_files, transform, query_names + candidate_names, scratch)

    timings: dict[str, float] = {}
    mark = time.monotonic()
    keys = {name: counted(name, collect(stream(splits.files[name], transform, (QUERY_KEY, CANDIDATE_KEY))))
            for name in ("train", "test")}
    keys["eval"] = counted("eval", collect(
        stream(splits.files["eval"], transform, {QUERY_KEY, CANDIDATE_KEY, *vocabulary_names})))
    corpus = load_corpus(candidate_examples(spec.queries), transform)
    probability = probability_table(keys["train"][CANDIDATE_KEY])
    eval_positives = corpus_positions(corpus[CANDIDATE_KEY], keys["eval"][CANDIDATE_KEY])
    timings["load_s"] = time.monotonic() - mark

    history = history_columns(spec.features)
    tables = history_tables(spec.features, sizes, stream(splits.files["train"], transform, history)
                            .as_numpy_iterator()) if history else {}
    model = build_model(query_inputs, candidate_inputs, spec.model, spec.parameters.learning_rate, tables)
    batch = spec.parameters.batch_size
    corpus_inputs = select(corpus, candidate_names)

    def candidate_embeddings() -> np.ndarray:
        dataset = tf.data.Dataset.from_tensor_slices(corpus_inputs).batch(EMBED_BATCH)
        return embed(model.candidate_tower, dataset, candidate_names)

    def query_embeddings(split: str) -> np.ndarray:
        return embed(model.query_tower, splits.inputs(split, query_names), query_names)

    def validation_recall() -> dict[int, float]:
        result = recall_at_k(query_embeddings("eval"), candidate_embeddings(), eval_positives, RECALL_KS)
        return result.recall

    stopping = EarlyStopping(full, validation_recall)
    epochs = EpochLogger(tracker)
    mark = time.monotonic()
    model.fit(
        splits.batches("train", batch, probability, seed=_trainer_seed(spec)),
        validation_data=splits.batches("eval", batch, probability),
        epochs=full.max_epochs, callbacks=[stopping, epochs], verbose=0,
    )
    stopping.restore_best()
    timings["fit_s"] = time.monotonic() - mark
    log.info("early stopping", extra=fields(best_epoch=stopping.best_epoch, best_value=stopping.best_value,
                                            epochs_run=stopping.epochs_run))

    mark = time.monotonic()
    test_loss = model.evaluate(splits.batches("test", batch, probability), return_dict=True, verbose=0)["loss"]
    test_loss_per_example = model.evaluate(splits.batches("test", LOSS_EVALUATION_BATCH, probability),
                                           return_dict=True, verbose=0)[LOSS_PER_EXAMPLE]
    test_queries = query_embeddings("test")
    candidates = candidate_embeddings()
    buyer_ids = buyer_inputs(spec.features, sizes)
    prior = log_popularity(corpus_positions(corpus[CANDIDATE_KEY], keys["train"][CANDIDATE_KEY]),
                           len(corpus[CANDIDATE_KEY]))
    weights = PriorWeights.choose(model, splits, query_names, buyer_ids, candidates, eval_positives, prior, keys)
    recall = recall_report(*with_prior(test_queries, candidates, prior, weights.per_row), keys["test"],
                           keys["train"], corpus, val=keys["eval"])
    timings["evaluate_s"] = time.monotonic() - mark

    tracker.flush(TRACKING_WAIT_S)
    report = evaluation_report(
        spec, mlflow_run_id=tracker.run_id, mlflow_experiment_id=tracker.experiment_id, test_loss=test_loss,
        test_loss_per_example=test_loss_per_example, history=epochs.history, recall=recall,
        vocabularies=vocabulary_report(spec.features, sizes, keys["eval"]),
        splits=keys, corpus=corpus, timings={**timings, "trainer_s": time.monotonic() - started},
    ).model_copy(update={"training": stopping.section(full.source_experiment_id).model_copy(update={
        "prior_weight": weights.weight, "cold_prior_weight": weights.cold_weight,
        "served_prior_weight": weights.weight})})
    tf.io.gfile.makedirs(run_dir)
    with tf.io.gfile.GFile(f"{run_dir}/{EVALUATION_FILE}", "w") as out:
        out.write(report.to_json())
    buffer = io.BytesIO()
    np.save(buffer, test_queries)
    with tf.io.gfile.GFile(f"{run_dir}/{TEST_QUERIES_FILE}", "wb") as out:
        out.write(buffer.getvalue())
    export_serving_model(model, transform, spec, corpus[CANDIDATE_KEY], candidates, serving_dir, prior, weights.weight)
    write_serving_check(model, transform, spec, splits.files["test"], corpus[CANDIDATE_KEY], candidates, serving_dir,
                        prior, weights.weight)
    log.info("full training finished", extra=fields(**report.final, **timings))
    return report


class PriorWeights:
    """The popularity prior's weights of a full training, chosen as the quick test chooses them
    (``trainer._popularity_prior``, decision 060 amendments 2 and 3) on the best epoch's model."""

    def __init__(self, weight: float, cold_weight: float | None, per_row: np.ndarray) -> None:
        self.weight, self.cold_weight, self.per_row = weight, cold_weight, per_row

    @classmethod
    def choose(cls, model: TwoTowerModel, splits: Splits, query_names: list[str], buyer_ids: dict[str, int],
               candidates: np.ndarray, val_positions: np.ndarray, prior: np.ndarray,
               keys: dict[str, Arrays]) -> PriorWeights:
        """The known buyers' weight on the validation split as it is; the cold-start test buyers' weight on the
        validation split with every buyer id input in its out-of-vocabulary bucket (their weight per test row)."""
        val = splits.inputs("eval", query_names)
        weight, tried = prior_weight(embed(model.query_tower, val, query_names), candidates, val_positions, prior)
        cold = ~member(keys["test"][QUERY_KEY], keys["train"][QUERY_KEY])
        per_row = np.full(len(cold), weight, dtype=np.float32)
        cold_weight, cold_tried = None, None
        if buyer_ids and cold.any():
            def as_cold(batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
                return {**batch, **{name: tf.fill(tf.shape(batch[name]), tf.cast(size, batch[name].dtype))
                                    for name, size in buyer_ids.items()}}

            cold_queries = embed(model.query_tower, val.map(as_cold), query_names)
            cold_weight, cold_tried = prior_weight(cold_queries, candidates, val_positions, prior)
            per_row[cold] = cold_weight
        log.info("popularity prior", extra=fields(weight=weight, validation_recall_at_100=tried,
                                                  cold_weight=cold_weight, cold_validation_recall_at_100=cold_tried,
                                                  cold_test_rows=int(cold.sum()), served_weight=weight))
        return cls(weight, cold_weight, per_row)


def run_fn(fn_args: Any) -> None:
    """TFX Trainer entry point of a full training (``definition.FULL_RUN_FN``)."""
    spec = QuickTestSpec.from_json(fn_args.custom_config["spec"])
    if spec.full_training is None:
        raise ValueError("full_training: the spec of a full training's Trainer has no full_training block")
    train_full(spec, fn_args.transform_output, list(fn_args.train_files), fn_args.serving_model_dir,
               fn_args.model_run_dir)


def query_raw_columns(spec: QuickTestSpec) -> list[str]:
    """The raw columns a buyer's request carries: the query tower's features (a history feature's: the buyer id,
    its table's row) and its crosses' columns."""
    columns = [spec.query_id_column if f.kind == "history" else f.column for f in spec.features.query_features]
    columns = list(dict.fromkeys(columns))
    for cross in spec.features.cross_features:
        if cross.tower == "query":
            columns += [c for c in cross.columns if c not in columns]
    return columns


class ServingModel(tf.Module):
    """Raw buyer features → Transform graph → query tower → exact top-k over the corpus embeddings.

    With a prior weight ``w``, the index holds every candidate's embedding with its ``prior`` appended and the
    query tower's output gets ``w`` appended (``evaluation.with_prior``): scores ``q · c + w × prior(c)``."""

    def __init__(self, transform: tft.TFTransformOutput, query_tower: tf.keras.Model, query_names: list[str],
                 columns: list[str], candidate_keys: np.ndarray, candidate_embeddings: np.ndarray,
                 top_k: int, prior: np.ndarray | None = None, prior_weight: float = 0.0) -> None:
        super().__init__()
        self.prior_weight = float(prior_weight) if prior is not None else 0.0
        if self.prior_weight:
            assert prior is not None
            _, candidate_embeddings = with_prior(candidate_embeddings[:0], candidate_embeddings, prior,
                                                 self.prior_weight)
        raw = transform.raw_feature_spec()
        missing = [c for c in columns if c not in raw]
        if missing:
            raise ValueError(f"features: query columns {missing} are not in the Transform graph's raw schema")
        self.raw_specs = {c: raw[c] for c in columns}
        self.transform_layer = transform.transform_features_layer()
        self.query_tower = query_tower
        self.query_names = list(query_names)
        self.top_k = min(top_k, len(candidate_keys))
        self.index = tfrs.layers.factorized_top_k.BruteForce(k=self.top_k)
        self.index.index(tf.constant(candidate_embeddings, tf.float32),
                         identifiers=tf.constant([_text(k) for k in candidate_keys.tolist()]))
        signature = {c: tf.TensorSpec([None], spec.dtype, name=c) for c, spec in self.raw_specs.items()}
        self.serve = tf.function(self._serve, input_signature=[signature])

    def _serve(self, features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        raw: dict[str, Any] = {}
        for column, spec in self.raw_specs.items():
            value = features[column]
            if isinstance(spec, tf.io.FixedLenFeature):
                raw[column] = tf.reshape(value, [-1, *spec.shape])
            else:  # VarLenFeature: one value per buyer
                raw[column] = tf.RaggedTensor.from_tensor(tf.expand_dims(value, 1)).to_sparse()
        transformed = self.transform_layer(raw)
        embeddings = self.query_tower({name: transformed[name] for name in self.query_names})
        if self.prior_weight:
            weight = tf.fill([tf.shape(embeddings)[0], 1], tf.constant(self.prior_weight, embeddings.dtype))
            embeddings = tf.concat([embeddings, weight], axis=1)
        scores, ids = self.index(embeddings, k=self.top_k)
        return {"ids": ids, "scores": scores}


def _text(key: Any) -> bytes:
    return key if isinstance(key, bytes) else str(key).encode()


def export_serving_model(model: TwoTowerModel, transform: tft.TFTransformOutput, spec: QuickTestSpec,
                         candidate_keys: np.ndarray, candidate_embeddings: np.ndarray, serving_dir: str,
                         prior: np.ndarray | None = None, prior_weight: float = 0.0) -> None:
    """The SavedModel (``serving_default``: raw buyer features → ``ids``, ``scores``) and the embeddings (the
    towers' own, with the prior column and its served weight beside them)."""
    assert spec.full_training is not None
    query_names = [i.name for i in model.query_tower.model_inputs]
    serving = ServingModel(transform, model.query_tower, query_names, query_raw_columns(spec), candidate_keys,
                           candidate_embeddings, spec.full_training.top_k, prior, prior_weight)
    tf.saved_model.save(serving, serving_dir, signatures={SIGNATURE: serving.serve})
    tf.io.gfile.makedirs(f"{serving_dir}/assets.extra")
    buffer = io.BytesIO()
    extra: dict[str, Any] = {} if prior is None else {"prior": prior, "prior_weight": np.float32(prior_weight)}
    np.savez(buffer, keys=np.array([_text(k) for k in candidate_keys.tolist()]), embeddings=candidate_embeddings,
             **extra)
    with tf.io.gfile.GFile(f"{serving_dir}/{EMBEDDINGS_FILE}", "wb") as out:
        out.write(buffer.getvalue())


def _plain(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value.item() if hasattr(value, "item") else value


def write_serving_check(model: TwoTowerModel, transform: tft.TFTransformOutput, spec: QuickTestSpec,
                        test_files: list[str], candidate_keys: np.ndarray, candidate_embeddings: np.ndarray,
                        serving_dir: str, prior: np.ndarray | None = None, prior_weight: float = 0.0
                        ) -> dict[str, Any]:
    """The first test buyer's raw query features and the top ``CHECK_K`` ids of the evaluation's exact ranking
    (``recall.exact_scores`` of ``q · c + prior_weight × prior(c)``, ties to the earlier candidate), written beside
    the SavedModel."""
    from experiments_platform.pipeline.recall import exact_scores

    columns = query_raw_columns(spec)
    raw_spec = {c: transform.raw_feature_spec()[c] for c in columns}
    first = next(iter(tf.data.TFRecordDataset(test_files, compression_type="GZIP").take(1)))
    parsed = tf.io.parse_example(tf.reshape(first, [1]), raw_spec)
    request: dict[str, Any] = {}
    for column, value in parsed.items():
        values = tf.sparse.to_dense(value).numpy().reshape(-1) if isinstance(value, tf.SparseTensor) \
            else value.numpy().reshape(-1)
        request[column] = _plain(values[0])
    transformed = transform.transform_features_layer()(parsed)
    query = model.query_tower({i.name: transformed[i.name] for i in model.query_tower.model_inputs}).numpy()[0]
    queries, scored = (query[None, :], candidate_embeddings) if prior is None else \
        with_prior(query[None, :], candidate_embeddings, prior, prior_weight)
    scores = exact_scores(queries, scored)
    order = np.lexsort((np.arange(len(scores)), -scores))[:CHECK_K]
    check = {"inputs": request, "top_ids": [_text(candidate_keys[i]).decode() for i in order],
             "top_scores": [float(scores[i]) for i in order], "prior_weight": float(prior_weight)}
    with tf.io.gfile.GFile(f"{serving_dir}/{SERVING_CHECK_FILE}", "w") as out:
        out.write(json.dumps(check, indent=2))
    return check
