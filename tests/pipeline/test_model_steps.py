"""The two-tower model's own step functions and loss compute exactly what Keras's defaults compute."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from experiments_platform.domain.model import ModelConfig
from experiments_platform.pipeline.feature_names import ModelInput
from experiments_platform.pipeline.model import SAMPLING_PROBABILITY, InBatchSoftmaxLoss, build_model


def test_the_loss_is_keras_summed_softmax_cross_entropy():
    rng = np.random.default_rng(1)
    logits = tf.constant(rng.normal(size=(6, 6)).astype(np.float32))
    labels = tf.eye(6)
    keras = tf.keras.losses.CategoricalCrossentropy(from_logits=True, reduction=tf.keras.losses.Reduction.SUM)
    assert float(InBatchSoftmaxLoss()(labels, logits)) == float(keras(labels, logits))


def twin_models(correction: bool) -> tuple:
    inputs = ([ModelInput("query__user_id", "embedding", 20, 4)],
              [ModelInput("candidate__item_id", "embedding", 30, 4)])
    config = ModelConfig(name="m", query_tower_layers=[4], candidate_tower_layers=[4], l2_regularization=1e-3,
                         sampling_bias_correction=correction)
    ours, reference = (build_model(*inputs, config, learning_rate=0.1) for _ in range(2))
    batch = next(iter(data()))
    for model in (ours, reference):
        model.compute_loss(batch)
    reference.set_weights(ours.get_weights())
    return ours, reference


def data(rows: int = 96) -> tf.data.Dataset:
    rng = np.random.default_rng(3)
    return tf.data.Dataset.from_tensor_slices({
        "query__user_id": rng.integers(0, 20, rows), "candidate__item_id": rng.integers(0, 30, rows),
        SAMPLING_PROBABILITY: rng.uniform(0.01, 0.2, rows).astype(np.float32),
    }).batch(32)


def test_fit_and_evaluate_match_the_keras_step_functions():
    for correction in (True, False):
        ours, reference = twin_models(correction)
        reference.make_train_function = tf.keras.Model.make_train_function.__get__(reference)
        reference.make_test_function = tf.keras.Model.make_test_function.__get__(reference)
        history = ours.fit(data(), validation_data=data(64), epochs=2, verbose=0).history
        expected = reference.fit(data(), validation_data=data(64), epochs=2, verbose=0).history
        assert history.keys() == expected.keys()
        for key in expected:
            np.testing.assert_allclose(history[key], expected[key], rtol=1e-5, err_msg=key)
        for mine, theirs in zip(ours.trainable_variables, reference.trainable_variables, strict=True):
            np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-7)
        assert int(ours._train_counter.numpy()) == int(reference._train_counter.numpy()) == 6
        np.testing.assert_allclose(ours.evaluate(data(), return_dict=True, verbose=0)["loss"],
                                   reference.evaluate(data(), return_dict=True, verbose=0)["loss"], rtol=1e-5)


def test_loss_per_example_is_the_summed_loss_over_every_row_of_the_epoch():
    """Issue 11 §3: ``loss`` is the batch's summed softmax cross-entropy (mean over steps), so it grows with the
    batch size; ``loss_per_example`` is the total over the epoch's rows divided by those rows, exact with a
    partial last batch (80 rows in batches of 32: 32, 32, 16), not a mean of batch means."""
    ours, _ = twin_models(False)
    rows = data(80)
    expected_total = 0.0
    for batch in rows:
        queries, candidates = ours.query_tower(batch), ours.candidate_tower(batch)
        logits = tf.matmul(queries, candidates, transpose_b=True).numpy().astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        expected_total += float(-np.trace(log_softmax))
    result = ours.evaluate(rows, return_dict=True, verbose=0)
    np.testing.assert_allclose(result["loss_per_example"], expected_total / 80, rtol=1e-5)
    assert abs(result["loss"] - expected_total / 3) < 1e-3 * expected_total  # summed per batch, mean of 3 steps
    history = ours.fit(rows, validation_data=data(64), epochs=1, verbose=0).history
    assert {"loss_per_example", "val_loss_per_example"} <= history.keys()
