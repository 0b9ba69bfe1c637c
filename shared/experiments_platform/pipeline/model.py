"""The two-tower TFRS retrieval model, built from validated configs (values, never code)."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from experiments_platform.domain.model import ModelConfig
from experiments_platform.pipeline.feature_names import ModelInput

SAMPLING_PROBABILITY = "qt_sampling_probability"
LOSS_PER_EXAMPLE = "loss_per_example"
LOSS_EVALUATION_BATCH = 1024
"""Rows per batch of the test split's per-example loss, whatever the configuration's batch size: the
in-batch softmax's loss depends on how many negatives a row competes with, so a fixed batch keeps
``test_loss_per_example`` comparable between configurations on the same split (decision 079)."""

# Retrieval.call needs AutoGraph for one `len(tf.shape(x))`; converting only that function (not
# recursively) keeps the rest of the step unconverted. Converting TFRS and tf_keras internals
# recursively took over 20 s of a 3-epoch quick test.
_retrieval_loss = tf.autograph.to_graph(tfrs.tasks.Retrieval.call, recursive=False)



class InBatchSoftmaxLoss(tf.keras.losses.Loss):
    """The Retrieval task's default loss (``CategoricalCrossentropy(from_logits=True)``, summed), unconverted.

    Keras converts a loss's ``call`` with AutoGraph whenever it runs inside converted code, as it
    does inside ``Retrieval.call``; that conversion of the Keras loss functions took seconds of
    every run. The same softmax cross-entropy, marked not to be converted.
    """

    def __init__(self) -> None:
        super().__init__(reduction=tf.keras.losses.Reduction.SUM, name="in_batch_softmax")

    @tf.autograph.experimental.do_not_convert
    def call(self, y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return tf.nn.softmax_cross_entropy_with_logits(labels=y_true, logits=y_pred)


OPTIMIZERS = {
    "adagrad": tf.keras.optimizers.Adagrad,
    "adam": tf.keras.optimizers.Adam,
    "sgd": tf.keras.optimizers.SGD,
    "rmsprop": tf.keras.optimizers.RMSprop,
}


def _regularizer(l2: float) -> Any:
    return tf.keras.regularizers.l2(l2) if l2 > 0 else None


class Tower(tf.keras.Model):
    """Embeddings per input, concatenated, then the configured dense layers (last one linear).

    A ``table`` input looks its row up in ``tables[name]`` (``size`` × ``width``), held as a non-trainable
    embedding: saved with the tower, never changed by training."""

    def __init__(self, inputs: list[ModelInput], layers: list[int], output_dim: int | None, activation: str,
                 l2: float, name: str, tables: dict[str, np.ndarray] | None = None) -> None:
        super().__init__(name=name)
        self.model_inputs = list(inputs)
        self.embeddings = {}
        for item in self.model_inputs:
            if item.kind == "table":
                table = (tables or {}).get(item.name)
                if table is None or table.shape != (item.size, item.width):
                    raise ValueError(f"{item.name}: the tower needs its history table of {item.size} × {item.width} "
                                     f"values; got {None if table is None else table.shape}")
                self.embeddings[item.name] = tf.keras.layers.Embedding(
                    item.size, item.width, embeddings_initializer=tf.keras.initializers.Constant(table),
                    trainable=False, name=f"{item.name}__table")
            elif item.kind in ("embedding", "bag"):
                self.embeddings[item.name] = tf.keras.layers.Embedding(
                    item.size, item.dim, embeddings_regularizer=_regularizer(l2), name=f"{item.name}__embedding",
                    mask_zero=False,
                )
        sizes = list(layers) + ([output_dim] if output_dim else [])
        self.dense = [
            tf.keras.layers.Dense(units, activation=None if i == len(sizes) - 1 else activation,
                                  kernel_regularizer=_regularizer(l2), name=f"{name}_dense_{i}")
            for i, units in enumerate(sizes)
        ]

    def output_width(self) -> int:
        if self.dense:
            return self.dense[-1].units
        return sum(i.dim if i.kind in ("embedding", "bag") else i.width for i in self.model_inputs)

    @tf.autograph.experimental.do_not_convert
    def call(self, features: dict[str, tf.Tensor], training: bool | None = None) -> tf.Tensor:
        parts = []
        for item in self.model_inputs:
            value = features[item.name]
            if item.kind in ("embedding", "table"):
                parts.append(self.embeddings[item.name](tf.reshape(value, [-1])))
            elif item.kind == "bag":
                vectors = self.embeddings[item.name](value)
                mask = tf.cast(tf.expand_dims(value > 0, -1), vectors.dtype)
                parts.append(tf.reduce_sum(vectors * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1.0))
            else:
                parts.append(tf.reshape(tf.cast(value, tf.float32), [-1, item.width]))
        x = parts[0] if len(parts) == 1 else tf.concat(parts, axis=1)
        for layer in self.dense:
            x = layer(x)
        return x


class TwoTowerModel(tfrs.Model):
    """In-batch softmax retrieval; with ``correct_sampling_bias`` the logits get −log(p) (Yi et al. 2019).

    The steps have no data-dependent Python control flow, so AutoGraph is off for them.

    Reported losses are per step, as optimised: ``loss`` is the batch's summed softmax
    cross-entropy, ``regularization_loss`` the L2 penalty, ``total_loss`` their sum; Keras
    averages them over the epoch's steps. ``loss_per_example`` is the summed cross-entropy of every
    row of the epoch divided by its rows (each step weighted by its rows, so a partial last batch
    counts as what it is): the number comparable across batch sizes (decision 079).
    """

    def __init__(self, query_tower: Tower, candidate_tower: Tower, correct_sampling_bias: bool) -> None:
        super().__init__()
        self.query_tower = query_tower
        self.candidate_tower = candidate_tower
        self.correct_sampling_bias = correct_sampling_bias
        self.task = tfrs.tasks.Retrieval(loss=InBatchSoftmaxLoss())
        self.trackers = [tf.keras.metrics.Mean(name=n) for n in ("loss", "regularization_loss", "total_loss")]
        self.per_example = tf.keras.metrics.Mean(name=LOSS_PER_EXAMPLE)

    @property
    def metrics(self) -> list[Any]:
        return [*self.trackers, self.per_example]

    @tf.autograph.experimental.do_not_convert
    def compute_loss(self, features: dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        queries = self.query_tower(features)
        candidates = self.candidate_tower(features)
        probability = features[SAMPLING_PROBABILITY] if self.correct_sampling_bias else None
        return _retrieval_loss(self.task, queries, candidates, candidate_sampling_probability=probability,
                               compute_metrics=False)

    def _record(self, features: dict[str, tf.Tensor], loss: tf.Tensor, regularization: tf.Tensor
                ) -> dict[str, tf.Tensor]:
        for tracker, value in zip(self.trackers, (loss, regularization, loss + regularization), strict=True):
            tracker.update_state(value)
        rows = tf.cast(tf.shape(features[self.query_tower.model_inputs[0].name])[0], tf.float32)
        self.per_example.update_state(loss / rows, sample_weight=rows)
        return {t.name: t.result() for t in self.metrics}

    def _regularization(self) -> tf.Tensor:
        return tf.add_n(self.losses) if self.losses else tf.constant(0.0)

    @tf.autograph.experimental.do_not_convert
    def train_step(self, features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        with tf.GradientTape() as tape:
            loss = self.compute_loss(features, training=True)
            regularization = self._regularization()
            total = loss + regularization
        gradients = tape.gradient(total, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables, strict=True))
        return self._record(features, loss, regularization)

    @tf.autograph.experimental.do_not_convert
    def test_step(self, features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        loss = self.compute_loss(features, training=False)
        return self._record(features, loss, self._regularization())

    def make_train_function(self, force: bool = False) -> Any:
        """Keras's one-step train function on the default strategy, traced without AutoGraph.

        Keras wraps ``train_step`` in its own step and reduce functions and converts them all
        (seconds per run); one replica and one step per call need none of it.
        """
        if getattr(self, "train_function", None) is None or force:
            self.train_function = self.train_tf_function = self._step_function(self.train_step, self._train_counter)
        return self.train_function

    def make_test_function(self, force: bool = False) -> Any:
        """Keras's one-step test function, traced without AutoGraph (see ``make_train_function``)."""
        if getattr(self, "test_function", None) is None or force:
            self.test_function = self._step_function(self.test_step, self._test_counter)
        return self.test_function

    @staticmethod
    def _step_function(step: Any, counter: tf.Variable) -> Any:
        @tf.function(autograph=False, reduce_retracing=True)
        def one_step(iterator: Any) -> dict[str, tf.Tensor]:
            outputs = step(next(iterator))
            with tf.control_dependencies([next(iter(outputs.values()))]):
                counter.assign_add(1)
            return outputs

        return one_step


def build_model(query_inputs: list[ModelInput], candidate_inputs: list[ModelInput], config: ModelConfig,
                learning_rate: float, tables: dict[str, np.ndarray] | None = None) -> TwoTowerModel:
    """Compile the two-tower model (``tables``: the query tower's history tables by input name); raise
    ValueError when the towers' outputs cannot be compared."""
    query = Tower(query_inputs, config.query_tower_layers, config.output_dim, config.activation,
                  config.l2_regularization, "query_tower", tables)
    candidate = Tower(candidate_inputs, config.candidate_tower_layers, config.output_dim, config.activation,
                      config.l2_regularization, "candidate_tower")
    if query.output_width() != candidate.output_width():
        raise ValueError(
            f"model_config: the query tower outputs {query.output_width()} values and the candidate tower "
            f"{candidate.output_width()}; give both towers the same last layer or set output_dim"
        )
    model = TwoTowerModel(query, candidate, config.sampling_bias_correction)
    model.compile(optimizer=OPTIMIZERS[config.optimizer](learning_rate=learning_rate))
    return model


def weight_statistics(model: TwoTowerModel) -> dict[str, float]:
    """L2 norms (total and per tower) and mean/std/min/max of each tower's trainable weights."""
    out: dict[str, float] = {}
    squares = 0.0
    for tower_name, tower in (("query", model.query_tower), ("candidate", model.candidate_tower)):
        values = np.concatenate([v.numpy().ravel() for v in tower.trainable_variables]) if tower.trainable_variables \
            else np.zeros(1, dtype=np.float32)
        square = float(np.sum(np.square(values, dtype=np.float64)))
        squares += square
        out[f"{tower_name}_weight_norm"] = square ** 0.5
        out[f"{tower_name}_weights_mean"] = float(values.mean())
        out[f"{tower_name}_weights_std"] = float(values.std())
        out[f"{tower_name}_weights_min"] = float(values.min())
        out[f"{tower_name}_weights_max"] = float(values.max())
    out["weight_norm"] = squares ** 0.5
    return out
