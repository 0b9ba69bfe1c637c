"""Write a TFX Examples artifact (gzipped TFRecords of tf.Example, Split-train and Split-eval) for the
pipeline image test: ``python make_examples.py DIR ROWS``. Runs inside the pipeline image."""

from __future__ import annotations

import os
import sys

import tensorflow as tf


def main(directory: str, rows: int) -> None:
    for split, count in (("train", rows * 9 // 10), ("eval", rows - rows * 9 // 10)):
        os.makedirs(f"{directory}/Split-{split}", exist_ok=True)
        options = tf.io.TFRecordOptions(compression_type="GZIP")
        with tf.io.TFRecordWriter(f"{directory}/Split-{split}/data_tfrecord-00000-of-00001.gz", options) as out:
            for row in range(count):
                features = {
                    "user_id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"u%d" % (row % 943)])),
                    "item_id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"i%d" % (row * 7 % 1682)])),
                    "rating": tf.train.Feature(float_list=tf.train.FloatList(value=[float(row % 5 + 1)])),
                }
                out.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
