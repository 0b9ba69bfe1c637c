"""StatisticsGen in process (decision 099): the same statistics artifact as TFX's Beam executor, without Beam.

Both executors run on one Examples artifact written by the DuckDB ExampleGen executor (strings with
ties in their counts, ints, floats, dates, missing values; several record batches per split).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tensorflow_data_validation as tfdv
from experiments_platform.pipeline import statistics_gen
from experiments_platform.pipeline.definition import LOCAL_BEAM_ARGS
from experiments_platform.pipeline.example_gen import DuckDBExampleGenExecutor
from experiments_platform.pipeline.statistics_gen import StatisticsGenExecutor
from google.protobuf import json_format
from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx.components.statistics_gen.executor import Executor as BeamStatisticsGenExecutor
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts

SQL = ("SELECT 'u' || CAST(i % 37 AS VARCHAR) AS user_id, CAST((i * 7) % 101 AS BIGINT) AS item, "
       "CASE WHEN i % 11 = 0 THEN NULL ELSE 'g' || CAST(i % 5 AS VARCHAR) END AS genre, "
       "CAST(i AS DOUBLE) / 7.0 AS score, DATE '2024-01-01' + CAST(i % 365 AS INTEGER) AS day "
       "FROM range({}) AS t(i)")
SPLIT_ROWS = {"train": 4500, "eval": 1200, "test": 300}


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    uri = tmp_path_factory.mktemp("examples")
    splits = [example_gen_pb2.Input.Split(name=name, pattern=SQL.format(rows)) for name, rows in SPLIT_ROWS.items()]
    artifact = standard_artifacts.Examples()
    artifact.uri = str(uri)
    DuckDBExampleGenExecutor(DuckDBExampleGenExecutor.Context(beam_pipeline_args=list(LOCAL_BEAM_ARGS))).Do(
        {}, {"examples": [artifact]},
        {"input_config": json_format.MessageToJson(example_gen_pb2.Input(splits=splits)),
         "output_config": json_format.MessageToJson(example_gen_pb2.Output()),
         "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
         "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP})
    return artifact


class NoBeam(StatisticsGenExecutor):
    def _make_beam_pipeline(self):  # type: ignore[override]
        raise AssertionError("the in-process path built a Beam pipeline")


def run(executor_class, examples, uri, exec_properties=None):
    statistics = standard_artifacts.ExampleStatistics()
    statistics.uri = str(uri)
    executor_class(executor_class.Context(beam_pipeline_args=list(LOCAL_BEAM_ARGS))).Do(
        {"examples": [examples]}, {"statistics": [statistics]}, dict(exec_properties or {}))
    return statistics


def read(statistics, split: str) -> statistics_pb2.DatasetFeatureStatisticsList:
    """One split's statistics, its features in path order (Beam's order depends on how bundles meet)."""
    result = statistics_pb2.DatasetFeatureStatisticsList.FromString(
        (Path(statistics.uri) / f"Split-{split}" / "FeatureStats.pb").read_bytes())
    for dataset in result.datasets:
        features = sorted(dataset.features, key=lambda f: tuple(f.path.step))
        del dataset.features[:]
        dataset.features.extend(features)
    return result


def approx(message) -> object:
    """``message`` as data, its floats compared to 1e-12 relative: TFDV sums floats per record batch, and Beam's
    batches (sized as it goes) differ from ours, so a mean can differ in its last bit."""
    def walk(value: object) -> object:
        if isinstance(value, float):
            return pytest.approx(value, rel=1e-12)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value
    return walk(json_format.MessageToDict(message))


def test_in_process_statistics_equal_the_beam_executors_without_a_beam_pipeline(examples, tmp_path, monkeypatch):
    beam = run(BeamStatisticsGenExecutor, examples, tmp_path / "beam")
    monkeypatch.setattr(statistics_gen, "COMPACT_EVERY", 2)  # value counts summed as they pile up, too
    mine = run(NoBeam, examples, tmp_path / "mine")
    for split, rows in SPLIT_ROWS.items():
        expected, got = read(beam, split), read(mine, split)
        assert got.datasets[0].num_examples == rows
        assert json_format.MessageToDict(got) == approx(expected), split
    assert mine.split_names == beam.split_names
    for name in ("stats_dashboard_link", "sample_rate_by_split"):
        assert mine.get_custom_property(name) == beam.get_custom_property(name), name
    top = {f.path.step[0]: f for f in read(mine, "train").datasets[0].features}
    assert top["user_id"].string_stats.unique == 37
    assert top["genre"].string_stats.unique == 5


def test_what_the_in_process_path_does_not_cover_runs_beam(examples, tmp_path):
    executor = StatisticsGenExecutor(StatisticsGenExecutor.Context(beam_pipeline_args=list(LOCAL_BEAM_ARGS)))
    assert executor.beam_reason({}, {}) is None
    options = tfdv.StatsOptions(num_top_values=5).to_json()
    assert executor.beam_reason({}, {"stats_options_json": options}) == "stats_options_json"
    assert executor.beam_reason({"schema": [standard_artifacts.Schema()]}, {}) == "a schema input"
    dataflow = StatisticsGenExecutor(StatisticsGenExecutor.Context(beam_pipeline_args=["--runner=DataflowRunner"]))
    assert dataflow.beam_reason({}, {}) == "a runner other than the DirectRunner"
    with pytest.raises(AssertionError, match="built a Beam pipeline"):
        run(NoBeam, examples, tmp_path / "options", {"stats_options_json": options})
