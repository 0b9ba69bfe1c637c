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


# A child process runs the DuckDB ExampleGen executor (as TFX's launcher calls it, with the local Beam
# arguments) once on 1,000 rows (imports, DuckDB, the encoder warmed), then over ROWS rows and over
# 2.5 x ROWS rows of about 1 kB, and prints its peak resident set after each run.
EXECUTOR_RUN = """
import json, resource, sys
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from google.protobuf import json_format
from experiments_platform.pipeline.definition import LOCAL_BEAM_ARGS
from experiments_platform.pipeline.example_gen import DuckDBExampleGenExecutor

rows, out = int(sys.argv[1]), sys.argv[2]
sql = ("SELECT 'C' || lpad(CAST(i % 50000 AS VARCHAR), 8, '0') AS customer_id, CAST(i % 977 AS BIGINT) AS item, "
       "DATE '2024-01-01' + CAST(i % 365 AS INTEGER) AS day, repeat('x', 1000) AS note FROM range({}) AS t(i)")


def run(train_rows, uri):
    splits = [example_gen_pb2.Input.Split(name=name, pattern=sql.format(train_rows if name == 'train' else 1000))
              for name in ('train', 'eval', 'test')]
    examples = standard_artifacts.Examples()
    examples.uri = uri
    DuckDBExampleGenExecutor(DuckDBExampleGenExecutor.Context(beam_pipeline_args=list(LOCAL_BEAM_ARGS))).Do(
        {}, {'examples': [examples]},
        {'input_config': json_format.MessageToJson(example_gen_pb2.Input(splits=splits)),
         'output_config': json_format.MessageToJson(example_gen_pb2.Output()),
         'output_data_format': example_gen_pb2.FORMAT_TF_EXAMPLE,
         'output_file_format': example_gen_pb2.FORMAT_TFRECORDS_GZIP})
    return examples


run(1000, out + '_warm')
run(rows, out + '_first')
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
examples = run(int(rows * 2.5), out)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({'before_mib': before / 1024, 'after_mib': after / 1024,
                  'split_names': examples.split_names,
                  'payload_format': examples.get_string_custom_property('payload_format')}))
"""


def run_executor(tmp_path, rows: int) -> dict:
    import json
    import subprocess
    import sys

    script = tmp_path / "run_executor.py"
    script.write_text(EXECUTOR_RUN)
    out = tmp_path / f"examples_{rows}"
    done = subprocess.run([sys.executable, str(script), str(rows), str(out)], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "out": out}


def test_example_gen_streams_a_split_in_bounded_memory(tmp_path):
    """The executor's peak memory does not grow with the rows (it is bounded by DuckDB's sort memory,
    SORT_MEMORY): 1,000,000 rows of ~1 kB take no more than 400,000 did (Beam's Reshuffle held a whole
    split: +650 MiB for 400,000 rows of ~300 B); every row is written, as the gzipped TFRecord split TFX reads."""
    import glob

    run = run_executor(tmp_path, 400_000)
    grown = run["after_mib"] - run["before_mib"]
    assert grown < 60, f"ExampleGen's peak grew by {grown:.0f} MiB from 400,000 to 1,000,000 rows"
    assert run["split_names"] == '["train", "eval", "test"]'
    assert run["payload_format"] == "FORMAT_TF_EXAMPLE"
    files = glob.glob(str(run["out"] / "Split-train" / "*.gz"))
    assert files
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    assert dataset.reduce(0, lambda n, _: n + 1).numpy() == 1_000_000
    first = tf.train.Example.FromString(next(iter(dataset)).numpy())
    assert set(first.features.feature) == {"customer_id", "item", "day", "note"}


def test_example_gen_logs_the_rows_it_wrote_to_each_split(tmp_path, caplog):
    """Each split's rows, as one structured record of the component log the local runner writes (the Pipeline
    tab's summary shows it as "Wrote 1,200 rows to split train")."""
    from experiments_platform.pipeline.definition import LOCAL_BEAM_ARGS
    from experiments_platform.pipeline.example_gen import DuckDBExampleGenExecutor
    from experiments_platform.pipeline.run_local import component_log
    from google.protobuf import json_format
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts

    rows = {"train": 1200, "eval": 30, "test": 7}
    splits = [example_gen_pb2.Input.Split(name=name, pattern=f"SELECT i AS item FROM range({n}) AS t(i)")
              for name, n in rows.items()]
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    caplog.set_level("INFO")  # as the local runner sets the root logger
    with component_log(tmp_path / "logs", "ExampleGen"):
        DuckDBExampleGenExecutor(DuckDBExampleGenExecutor.Context(beam_pipeline_args=list(LOCAL_BEAM_ARGS))).Do(
            {}, {"examples": [examples]},
            {"input_config": json_format.MessageToJson(example_gen_pb2.Input(splits=splits)),
             "output_config": json_format.MessageToJson(example_gen_pb2.Output()),
             "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
             "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP})
    log = (tmp_path / "logs" / "ExampleGen.log").read_text().splitlines()
    written = [line for line in log if "experiments_platform.pipeline.example_gen: split written" in line]
    assert [line.split(": split written ", 1)[1] for line in written] == [
        f'{{"split": "{name}", "rows": {n}}}' for name, n in rows.items()]
