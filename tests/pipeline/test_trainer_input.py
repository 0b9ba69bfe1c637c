"""The trainers' input (pipeline/trainer_data.py): a whole-split shuffle each epoch in memory that does not
grow with a shuffle buffer of rows, every row once per epoch, reproducible from the seed."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from experiments_platform.pipeline.trainer_data import shuffled_batches

# One epoch of the training batches (shuffled_batches, as the trainers give fit) over ROWS rows of
# two id columns and a sampling probability; prints the peak resident set before and after.
ONE_EPOCH = """
import json, resource, sys
import numpy as np
import pytest
from experiments_platform.pipeline.trainer_data import shuffled_batches

rows = int(sys.argv[1])
arrays = {'customer_id': np.arange(rows, dtype=np.int64) % 20000, 'product_id': np.arange(rows, dtype=np.int64) % 997,
          'sampling_probability': np.full(rows, 0.001, dtype=np.float32)}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
seen = 0
for batch in shuffled_batches(arrays, 1024, seed=7):
    seen += int(batch['customer_id'].shape[0])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({'seen': seen, 'grown_mib': (after - before) / 1024}))
"""


def test_an_epoch_over_a_million_rows_holds_no_buffer_of_rows(tmp_path):
    script = tmp_path / "one_epoch.py"
    script.write_text(ONE_EPOCH)
    done = subprocess.run([sys.executable, str(script), "1000000"], capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["seen"] == 1_000_000
    assert result["grown_mib"] < 120, f"one epoch grew the trainer by {result['grown_mib']:.0f} MiB"


def epochs(dataset, n):
    out = []
    iterator_epochs = [dataset] * n
    for one in iterator_epochs:
        out.append(np.concatenate([b["row"].numpy() for b in one]))
    return out


def test_every_row_once_per_epoch_in_a_new_order_each_epoch_reproducible_from_the_seed():
    arrays = {"row": np.arange(10_007, dtype=np.int64), "other": np.zeros(10_007, dtype=np.float32)}
    first, second = epochs(shuffled_batches(arrays, 512, seed=3), 2)
    assert sorted(first.tolist()) == list(range(10_007)) == sorted(second.tolist())
    assert not np.array_equal(first, second) and not np.array_equal(first, arrays["row"])
    again = epochs(shuffled_batches(arrays, 512, seed=3), 2)
    assert np.array_equal(again[0], first) and np.array_equal(again[1], second)
    other_seed = epochs(shuffled_batches(arrays, 512, seed=4), 1)[0]
    assert not np.array_equal(other_seed, first)
    batches = list(shuffled_batches(arrays, 512, seed=3))
    assert [len(b["row"]) for b in batches] == [512] * 19 + [279]


def test_without_a_seed_the_rows_come_in_order():
    arrays = {"row": np.arange(1000, dtype=np.int64)}
    assert np.array_equal(np.concatenate([b["row"].numpy() for b in shuffled_batches(arrays, 300)]), arrays["row"])


def small_transform_graph(folder):
    """A real Transform graph (tf.Transform on Beam's DirectRunner): a vocabulary of ``user`` and the
    ``item`` key passed through as bytes, over six rows."""
    import tensorflow as tf
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

    rows = [{"user": f"u{i % 3}", "item": f"item-{i}"} for i in range(6)]
    spec = {"user": tf.io.FixedLenFeature([], tf.string), "item": tf.io.FixedLenFeature([], tf.string)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))

    def preprocessing_fn(inputs):
        return {"user_index": tft.compute_and_apply_vocabulary(inputs["user"]), "item_key": inputs["item"]}

    with tft_beam.Context(temp_dir=str(folder / "tmp")):
        transform_fn = (rows, metadata) | tft_beam.AnalyzeDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(folder / "transform_graph" / "7"))
    metadata_io.write_metadata(metadata, str(folder / "transform_graph" / "7" / "metadata"))  # as TFX's Transform
    examples = folder / "Split-train"
    examples.mkdir()
    with tf.io.TFRecordWriter(str(examples / "data.gz"), options="GZIP") as out:
        for row in rows:
            out.write(tf.train.Example(features=tf.train.Features(feature={
                k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode()])) for k, v in row.items()
            })).SerializeToString())
    return tft.TFTransformOutput(str(folder / "transform_graph" / "7")), [str(examples / "data.gz")]


def refused(message: str):
    """A stand-in for a function the code under test must not call."""

    def call(*args, **kwargs):
        raise AssertionError(message)

    return call


def assert_same_columns(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert set(got) == set(expected)
    for name in expected:
        assert got[name].dtype == expected[name].dtype and got[name].tolist() == expected[name].tolist()


def test_a_model_only_change_reads_the_transformed_columns_back_instead_of_transforming_again(tmp_path, monkeypatch):
    """Issue 14, warm: the trainer parsed and transformed every example of every split on each run, 44.5 of
    the warm case's 105.8 s trainer at load 15; the columns are now kept beside the graph, exactly (the
    bytes column too), keyed by graph, files and columns."""
    import os

    from experiments_platform.pipeline import trainer_data

    transform, files = small_transform_graph(tmp_path)
    first = trainer_data.load_split(files, transform)
    cached = list((tmp_path / "transform_graph" / trainer_data.CACHE_FOLDER).glob("*.npz"))
    assert len(cached) == 1
    assert first["item_key"].dtype == object and first["item_key"].tolist() == [f"item-{i}".encode() for i in range(6)]

    monkeypatch.setattr(trainer_data, "read_transformed", refused("the split was transformed again"))
    assert_same_columns(trainer_data.load_split(files, transform), first)

    monkeypatch.undo()
    only = trainer_data.load_split(files, transform, ["user_index"])  # other columns: another entry
    assert list(only) == ["user_index"] and only["user_index"].tolist() == first["user_index"].tolist()
    stat = os.stat(files[0])
    os.utime(files[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # rewritten files: transformed again
    trainer_data.load_split(files, transform)
    assert len(list((tmp_path / "transform_graph" / trainer_data.CACHE_FOLDER).glob("*.npz"))) == 3


def test_a_split_is_read_through_the_transform_graph_eagerly_with_the_columns_of_the_tf_data_stream(
        tmp_path, monkeypatch):
    """Issue 14, cold: the first tf.data map over the Transform layer in a process traced the graph for 2.6 s
    (a 18,753-row split: 2.82 s, read again 0.19 s; the same split read eagerly, batch by batch, 0.28 s), most
    of the cold Trainer's 3.3 s load. ``load_split`` now calls the layer eagerly; its columns equal the
    stream's, the full training's path."""
    from experiments_platform.pipeline import trainer_data

    transform, files = small_transform_graph(tmp_path)
    streamed = trainer_data.collect(trainer_data.stream(files, transform))

    monkeypatch.setattr(trainer_data, "stream", refused("load_split traced the Transform graph into tf.data"))
    assert_same_columns(trainer_data.load_split(files, transform), streamed)
    only = trainer_data.read_transformed(files, transform, ["user_index"])
    assert list(only) == ["user_index"] and only["user_index"].tolist() == streamed["user_index"].tolist()


def keyed_transform_graph(folder, rows: int = 40):
    """A real Transform graph whose outputs are the trainers' key columns and one model input, with the
    same ``rows`` examples in each of the three splits."""
    import tensorflow as tf
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

    data = [{"user": f"u{i % 7}", "item": f"item-{i}"} for i in range(rows)]
    spec = {"user": tf.io.FixedLenFeature([], tf.string), "item": tf.io.FixedLenFeature([], tf.string)}
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))

    def preprocessing_fn(inputs):
        return {QUERY_KEY: inputs["user"], CANDIDATE_KEY: inputs["item"],
                "row": tf.strings.to_number(tf.strings.substr(inputs["item"], 5, 4), tf.int64)}

    graph = folder / "transform_graph"
    with tft_beam.Context(temp_dir=str(folder / "tmp")):
        transform_fn = (data, metadata) | tft_beam.AnalyzeDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(graph))
    metadata_io.write_metadata(metadata, str(graph / "metadata"))
    for split in ("train", "eval", "test"):
        (folder / f"Split-{split}").mkdir()
        with tf.io.TFRecordWriter(str(folder / f"Split-{split}" / "data.gz"), options="GZIP") as out:
            for row in data:
                out.write(tf.train.Example(features=tf.train.Features(feature={
                    k: tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode()])) for k, v in row.items()
                })).SerializeToString())
    return tft.TFTransformOutput(str(graph)), [str(folder / "Split-train" / "data.gz")]


def test_full_training_splits_hold_columns_within_their_budget_and_stream_above_it(tmp_path):
    """Decision 094: within the budget a split's model columns are held and every epoch is a whole-split
    permutation; above it the split streams from its scratch cache through a byte-bounded shuffle buffer.
    Either way every row comes once per epoch with its sampling probability."""
    from experiments_platform.pipeline.feature_names import CANDIDATE_KEY
    from experiments_platform.pipeline.full_training import Splits, probability_table
    from experiments_platform.pipeline.model import SAMPLING_PROBABILITY

    transform, files = keyed_transform_graph(tmp_path)
    for budget, held in ((1 << 20, True), (64, False)):
        scratch = tmp_path / f"scratch-{budget}"
        scratch.mkdir()
        splits = Splits(files, transform, ["row"], str(scratch), budget=budget)
        assert (splits.columns("train") is not None) == held
        probability = probability_table(np.array([f"item-{i}".encode() for i in range(40)] + [b"item-0"]))
        orders = []
        dataset = splits.batches("train", 8, probability, seed=5)
        for _ in range(2):  # two epochs of one dataset, as fit iterates it
            batches = list(dataset)
            assert set(batches[0]) == {"row", SAMPLING_PROBABILITY}
            rows = np.concatenate([b["row"].numpy() for b in batches])
            assert sorted(rows.tolist()) == list(range(40))
            probabilities = np.concatenate([b[SAMPLING_PROBABILITY].numpy() for b in batches])
            chances = dict(zip(rows.tolist(), probabilities.tolist(), strict=True))
            assert chances[0] == pytest.approx(2 / 41) and chances[1] == pytest.approx(1 / 41)
            orders.append(rows.tolist())
        assert orders[0] != orders[1], "reshuffled each epoch"
        embedded = np.concatenate([b["row"].numpy() for b in splits.inputs("test", ["row"])])
        assert embedded.tolist() == list(range(40)), "inputs come in the split's order"
        assert CANDIDATE_KEY not in next(iter(splits.batches("eval", 8, probability)))
