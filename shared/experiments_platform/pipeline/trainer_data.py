"""Read the splits and the candidate corpus into memory, transformed by the Transform graph.

Quick tests run on samples: each split fits in memory once transformed, so every epoch reuses
the same arrays and the evaluation sees every test row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

READ_BATCH = 8192
Arrays = dict[str, np.ndarray]


def split_files(train_files: list[str], split: str) -> list[str]:
    """The files of another split of the same Examples artifact (``…/Split-train/*`` → ``…/Split-test/*``)."""
    patterns = [pattern.replace("Split-train", f"Split-{split}") for pattern in train_files]
    files = sorted(f for pattern in patterns for f in tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no examples for split {split!r} under {patterns}")
    return files


def _concat(batches: list[Arrays]) -> Arrays:
    if not batches:
        raise ValueError("the split is empty: no rows after sampling and splitting; raise sample_percent")
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


def _transform(serialized: Iterable[Any], transform: tft.TFTransformOutput) -> Arrays:
    layer = transform.transform_features_layer()
    spec = transform.raw_feature_spec()
    batches = []
    for chunk in serialized:
        raw = tf.io.parse_example(chunk, spec)
        transformed = layer(raw)
        batches.append({k: v.numpy() for k, v in transformed.items()})
    return _concat(batches)


def load_split(files: list[str], transform: tft.TFTransformOutput) -> Arrays:
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(READ_BATCH)
    return _transform(dataset, transform)


def _with_placeholders(example: tf.train.Example, spec: dict[str, Any]) -> bytes:
    features = example.features.feature
    for name, feature_spec in spec.items():
        if name in features and features[name].WhichOneof("kind"):
            continue
        if feature_spec.dtype == tf.string:
            features[name].bytes_list.value[:] = [b""]
        elif feature_spec.dtype.is_integer:
            features[name].int64_list.value[:] = [0]
        else:
            features[name].float_list.value[:] = [0.0]
    return example.SerializeToString()


def load_corpus(examples: Iterable[tf.train.Example], transform: tft.TFTransformOutput) -> Arrays:
    """Transform the candidate corpus; query-side raw features are filled with placeholders and unused."""
    spec = transform.raw_feature_spec()
    chunk: list[bytes] = []
    chunks: list[list[bytes]] = []
    for example in examples:
        chunk.append(_with_placeholders(example, spec))
        if len(chunk) == READ_BATCH:
            chunks.append(chunk)
            chunk = []
    if chunk:
        chunks.append(chunk)
    return _transform((tf.constant(c) for c in chunks), transform)


def select(arrays: Arrays, names: Iterable[str]) -> Arrays:
    return {name: arrays[name] for name in names}
