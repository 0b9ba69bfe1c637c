"""The DuckDB ExampleGen's value mapping, on literal rows."""

from __future__ import annotations

import tensorflow as tf
from experiments_platform.pipeline.example_gen import query_to_examples, query_to_serialized_examples

SQL = """
SELECT * FROM (VALUES
  ('u1', 7, 2.5, TIMESTAMP '1998-04-22 23:59:59', DATE '1970-01-02', TRUE, CAST(1.25 AS DECIMAL(6, 2))),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS t(name, count, score, seen, day, flag, price)
"""


def values(example: tf.train.Example) -> dict:
    out = {}
    for key, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        out[key] = list(getattr(feature, kind).value) if kind else []
    return out


def test_both_encoders_map_values_alike():
    python_rows = [values(e) for e in query_to_examples(SQL)]
    arrow_rows = [values(tf.train.Example.FromString(s)) for s in query_to_serialized_examples(SQL)]
    assert python_rows == arrow_rows
    assert arrow_rows[0] == {
        "name": [b"u1"], "count": [7], "score": [2.5], "seen": [893289599], "day": [86400], "flag": [1],
        "price": [1.25],
    }
    assert all(v == [] for v in arrow_rows[1].values())
