"""The trainers' input: the splits and the candidate corpus, transformed by the Transform graph.

Both trainers read a split in the same steps: the gzipped TFRecords go through the Transform graph in
batches of ``READ_BATCH`` serialized examples and only the transformed columns asked for are kept,
as NumPy columns. The quick test calls the Transform layer eagerly (``read_transformed``, through
``load_split``); the full training's splits stream as a tf.data pipeline (``stream``), whose first
map traces the graph (2.6 s, decision 098 amendment 1). The model's inputs
are a few integers a row (8 bytes each), so a million rows of two id features take 16 MB, where the
raw examples took hundreds. Training batches (``shuffled_batches``) are gathered from those columns
through a new permutation of the whole split each epoch: no shuffle buffer of rows (a 1M-row buffer
of small tensors held 470 MiB), and one tf.data element per batch, not per row (decision 094).

On a local pipeline root the transformed columns of a split are kept beside the Transform graph
(``CACHE_FOLDER``), keyed by the graph, the split's files (path, size, modification time) and the
columns: a model-only change, whose data stages TFX takes from its cache, reads them back instead
of parsing and transforming every example again (decision 098).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from experiments_platform.jsonlog import fields, get_logger

READ_BATCH = 8192
Arrays = dict[str, np.ndarray]
log = get_logger(__name__)


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


def _transform(serialized: Iterable[Any], transform: tft.TFTransformOutput, names: list[str] | None = None) -> Arrays:
    """Batches of serialized examples parsed and transformed eagerly (no tf.data function to trace), as NumPy
    columns: ``names`` only (every transformed column when None)."""
    apply = _parse_and_transform(transform, names)
    return _concat([{k: v.numpy() for k, v in apply(chunk).items()} for chunk in serialized])


def _parse_and_transform(transform: tft.TFTransformOutput, names: list[str] | None) -> Any:
    spec = transform.raw_feature_spec()
    layer = transform.transform_features_layer()

    def apply(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        transformed = layer(tf.io.parse_example(serialized, spec))
        return {name: transformed[name] for name in (transformed if names is None else names)}

    return apply


def stream(files: list[str], transform: tft.TFTransformOutput, names: Iterable[str] | None = None) -> tf.data.Dataset:
    """Batches of ``READ_BATCH`` transformed rows of ``files`` (GZIP TFRecords of tf.Examples); ``names`` only
    (every transformed column when None)."""
    return (tf.data.TFRecordDataset(files, compression_type="GZIP").batch(READ_BATCH)
            .map(_parse_and_transform(transform, None if names is None else list(names))))


def collect(dataset: tf.data.Dataset) -> Arrays:
    """The batches of a (small-column) dataset as NumPy arrays; ``ValueError`` when it is empty."""
    return _concat([{k: v.numpy() for k, v in batch.items()} for batch in dataset])


def counted(split: str, arrays: Arrays) -> Arrays:
    """``arrays``, the columns a trainer read of ``split``, after one structured record of their rows in the
    component log (``split read {"split": "train", "rows": 80000}``; the Pipeline tab's summary shows "Read
    80,000 training rows"). The count is the length of the columns read: no pass over the split."""
    log.info("split read", extra=fields(split=split, rows=len(next(iter(arrays.values()))) if arrays else 0))
    return arrays


def read_transformed(files: list[str], transform: tft.TFTransformOutput, names: Iterable[str] | None = None
                     ) -> Arrays:
    """The transformed columns ``names`` (all when None) of ``files``, in batches of ``READ_BATCH`` through the
    Transform layer called eagerly. The columns equal ``collect(stream(…))``'s; ``stream``'s tf.data map traces
    the Transform graph the first time in a process (2.6 s for any split size, decision 098 amendment 1)."""
    batches = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(READ_BATCH)
    return _transform(batches, transform, None if names is None else list(names))


def load_split(files: list[str], transform: tft.TFTransformOutput, names: Iterable[str] | None = None) -> Arrays:
    """The transformed columns ``names`` (all when None) of a split, streamed in batches of ``READ_BATCH``;
    read back from the columns cache when this graph already transformed these files."""
    wanted = None if names is None else list(names)
    path = columns_cache_path(files, transform, wanted)
    return cached_columns(path, lambda: read_transformed(files, transform, wanted))


CACHE_FOLDER = ".transformed-columns"
"""Beside a local pipeline root's Transform graph artifacts: ``{…}/Transform/transform_graph/.transformed-columns``."""


def columns_cache_path(files: list[str], transform: tft.TFTransformOutput, names: list[str] | None) -> Path | None:
    """Where the transformed columns of ``files`` are kept; None for remote artifacts (``gs://``)."""
    graph = os.path.dirname(os.path.normpath(transform.transform_savedmodel_dir))
    if "://" in graph or any("://" in f for f in files):
        return None
    try:
        stats = [[os.path.abspath(f), os.stat(f).st_size, os.stat(f).st_mtime_ns] for f in files]
    except OSError:
        return None
    key = json.dumps([os.path.abspath(graph), stats, names])
    return Path(graph).parent / CACHE_FOLDER / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npz"


def cached_columns(path: Path | None, compute: Callable[[], Arrays]) -> Arrays:
    """The arrays saved at ``path``, else ``compute()``'s, saved there (atomically; a cache that
    cannot be read or written is recomputed or skipped, never an error)."""
    if path is not None and path.exists():
        with contextlib.suppress(OSError, ValueError, KeyError), np.load(path, allow_pickle=False) as saved:
            return _unpack(saved)
    arrays = compute()
    packed = _pack(arrays) if path is not None else None
    if path is not None and packed is not None:
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as out:
                np.savez(out, **packed)  # type: ignore[arg-type]  # column names, never savez options
            os.replace(partial, path)
        except OSError:
            partial.unlink(missing_ok=True)
    return arrays


_BYTES, _OFFSETS, _NAMES = "{}.bytes", "{}.offsets", "__columns__"


def _pack(arrays: Arrays) -> dict[str, np.ndarray] | None:
    """Numeric columns as they are; byte-string columns (object arrays of bytes, as TensorFlow gives
    them) as their concatenated bytes and end offsets, exactly (no pickling, no padding); None when
    a column is neither."""
    packed: dict[str, np.ndarray] = {_NAMES: np.array(json.dumps(list(arrays)))}
    for name, values in arrays.items():
        if values.dtype != object:
            packed[name] = values
            continue
        items = values.reshape(-1).tolist()
        if not all(isinstance(item, bytes) for item in items):
            return None
        packed[_BYTES.format(name)] = np.frombuffer(b"".join(items), dtype=np.uint8)
        packed[_OFFSETS.format(name)] = np.cumsum([len(item) for item in items], dtype=np.int64)
        packed[f"{name}.shape"] = np.array(values.shape, dtype=np.int64)
    return packed


def _unpack(saved: Any) -> Arrays:
    arrays: Arrays = {}
    for name in json.loads(str(saved[_NAMES])):
        if name in saved.files:
            arrays[name] = saved[name]
            continue
        data, ends = saved[_BYTES.format(name)].tobytes(), saved[_OFFSETS.format(name)].tolist()
        items = [data[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
        column = np.empty(len(items), dtype=object)
        column[:] = items
        arrays[name] = column.reshape(tuple(saved[f"{name}.shape"].tolist()))
    return arrays


def shuffled_batches(arrays: Arrays, batch_size: int, seed: int | None = None) -> tf.data.Dataset:
    """Batches of ``arrays``' rows: with ``seed``, in a new permutation of all the rows every epoch (each
    iteration of the dataset), the same sequence of permutations for the same seed; without, in order.

    Each batch is gathered from the columns by index (one element per batch): nothing but the columns and
    one permutation (8 bytes a row) is held."""
    tensors = {key: tf.constant(value) for key, value in arrays.items()}
    rows = len(next(iter(arrays.values())))
    count = -(-rows // batch_size)

    def gather(indices: tf.Tensor) -> dict[str, tf.Tensor]:
        return {key: tf.gather(tensor, indices) for key, tensor in tensors.items()}

    def ranges(order: tf.Tensor) -> tf.data.Dataset:
        return tf.data.Dataset.range(count).map(
            lambda i: order[i * batch_size:tf.minimum((i + 1) * batch_size, rows)])

    if seed is None:
        return ranges(tf.range(rows, dtype=tf.int64)).map(gather)
    epochs = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return epochs.flat_map(lambda draw: ranges(tf.random.experimental.stateless_shuffle(
        tf.range(rows, dtype=tf.int64), seed=tf.stack([draw, tf.constant(seed, tf.int64)])))).map(gather)


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
