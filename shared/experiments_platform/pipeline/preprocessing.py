"""The Transform step: vocabularies and statistics from the training split, as data-driven TFT.

``preprocessing_fn(inputs, custom_config)`` reads the feature config from ``custom_config``
(validated by pydantic, never executed) and emits one transformed tensor per model input
(``feature_names.tower_inputs``) plus the raw id keys used by the evaluation.
"""

from __future__ import annotations

import json
import math
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from experiments_platform.domain.features import FeatureConfig
from experiments_platform.pipeline.feature_names import (
    CANDIDATE_KEY,
    QUERY_KEY,
    TOWERS,
    cross_name,
    feature_name,
    history_value_name,
)
from experiments_platform.sql.render import DAYS_AGO

TEXT_PATTERN = r"[^a-z0-9]+"
CROSS_SEPARATOR = "\x1f"


def transform_config(features: FeatureConfig, query_id_column: str, candidate_id_column: str) -> dict[str, Any]:
    """The ``custom_config`` of Transform: only what the transformation depends on (for caching)."""
    return {
        "features": features.model_dump(
            mode="json", include={"query_features", "candidate_features", "cross_features"}
        ),
        "query_id_column": query_id_column,
        "candidate_id_column": candidate_id_column,
    }


def _parse_config(custom_config: dict[str, Any]) -> tuple[FeatureConfig, str, str]:
    raw = custom_config if isinstance(custom_config, dict) else json.loads(custom_config)
    features = FeatureConfig.model_validate({"name": "transform", **raw["features"]})
    return features, str(raw["query_id_column"]), str(raw["candidate_id_column"])


def _dense(x: Any, default: Any) -> tf.Tensor:
    """One value per row: a missing value becomes ``default``, extra values are ignored."""
    if isinstance(x, tf.SparseTensor):
        fill = tf.constant(default, dtype=x.dtype)
        values = tf.sparse.to_dense(x, default_value=fill)
        padding = tf.fill(tf.stack([tf.shape(values)[0], 1]), fill)
        return tf.concat([values, padding], axis=1)[:, 0]
    if isinstance(x, tf.RaggedTensor):
        return _dense(x.to_sparse(), default)
    if x.shape.rank == 2:
        return x[:, 0]
    return x


def _text(x: Any) -> tf.Tensor:
    value = _dense(x, "" if x.dtype == tf.string else 0)
    return value if value.dtype == tf.string else tf.strings.as_string(value)


def _float(x: Any) -> tf.Tensor:
    if x.dtype == tf.string:
        return tf.strings.to_number(_dense(x, "0"), tf.float32)
    return tf.cast(_dense(x, 0), tf.float32)


def _timestamp(x: Any) -> tf.Tensor:
    return tf.cast(_dense(x, 0), tf.float64)


def _tokens(x: Any, max_tokens: int) -> tf.RaggedTensor:
    text = tf.strings.lower(_text(x))
    words = tf.strings.split(tf.strings.strip(tf.strings.regex_replace(text, TEXT_PATTERN, " ")))
    return words[:, :max_tokens]


def preprocessing_fn(inputs: dict[str, Any], custom_config: dict[str, Any]) -> dict[str, tf.Tensor]:
    features, query_id, candidate_id = _parse_config(custom_config)
    outputs: dict[str, tf.Tensor] = {
        QUERY_KEY: _text(inputs[query_id]),
        CANDIDATE_KEY: _text(inputs[candidate_id]),
    }
    if DAYS_AGO in inputs:  # time splits: the interaction's age, for the recent-popularity baseline
        outputs[DAYS_AGO] = tf.cast(_dense(inputs[DAYS_AGO], 0), tf.int64)
    for tower in TOWERS:
        for feature in features.tower_features(tower):
            raw = inputs[feature.column]
            name = feature_name(tower, feature.column)
            if feature.kind in ("id", "categorical"):
                outputs[name] = tft.compute_and_apply_vocabulary(
                    _text(raw), top_k=feature.max_vocab_size, num_oov_buckets=feature.oov_buckets,
                    vocab_filename=name,
                )
            elif feature.kind == "text":
                tokens = _tokens(raw, feature.max_tokens)
                indices = tft.compute_and_apply_vocabulary(
                    tokens, top_k=feature.max_vocab_size, num_oov_buckets=1, vocab_filename=name
                )
                outputs[name] = (indices + 1).to_tensor(default_value=0, shape=[None, feature.max_tokens])
            elif feature.kind == "history":  # the buyer's index and the row's value's: the Trainer counts them
                outputs[name] = tft.compute_and_apply_vocabulary(
                    _text(inputs[query_id]), num_oov_buckets=1, vocab_filename=name)
                value = history_value_name(feature.column)
                outputs[value] = tft.compute_and_apply_vocabulary(
                    _text(raw), top_k=feature.max_values, num_oov_buckets=1, vocab_filename=value)
            elif feature.kind == "numeric" and feature.transform == "normalize":
                outputs[name] = tf.reshape(tft.scale_to_z_score(_float(raw)), [-1, 1])
            elif feature.kind == "numeric":
                outputs[name] = tft.bucketize(_float(raw), feature.buckets)
            elif feature.kind == "timestamp":
                seconds = _timestamp(raw)
                outputs[feature_name(tower, feature.column, "z")] = tf.reshape(
                    tf.cast(tft.scale_to_z_score(seconds), tf.float32), [-1, 1])
                outputs[feature_name(tower, feature.column, "bucket")] = tft.bucketize(
                    tf.cast(seconds, tf.float32), feature.buckets)
                day = tf.math.floormod(seconds, 86400.0) / 86400.0 * 2 * math.pi
                week = tf.math.floormod(tf.math.floor(seconds / 86400.0) + 4, 7.0) / 7.0 * 2 * math.pi
                outputs[feature_name(tower, feature.column, "cyclic")] = tf.cast(
                    tf.stack([tf.sin(day), tf.cos(day), tf.sin(week), tf.cos(week)], axis=1), tf.float32)
    for cross in features.cross_features:
        parts = [_text(inputs[column]) for column in cross.columns]
        joined = tf.strings.reduce_join(tf.stack(parts, axis=1), axis=1, separator=CROSS_SEPARATOR)
        outputs[cross_name(cross)] = tf.strings.to_hash_bucket_fast(joined, cross.hash_buckets)
    return outputs
