"""TFDV statistics parsing against real StatisticsGen output (tests/fixtures/tfdv, scripts/make_tfdv_fixtures.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from experiments_platform.errors import InvalidInput, NotFound
from experiments_platform.tfdv import LocalFileReader, load_statistics, parse_statistics
from experiments_platform.tfdv.statistics import StatisticsReport
from experiments_platform.tfdv.tfrecord import TFRecordError, read_records, write_records
from tensorflow_metadata.proto.v0 import statistics_pb2


def approx_json(value: object) -> object:
    """``value`` with every float compared to 1e-12 relative (TFDV's float sums vary in the last bits)."""
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12)
    if isinstance(value, dict):
        return {k: approx_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [approx_json(v) for v in value]
    return value


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tfdv" / "movielens"
GOLDEN = FIXTURES / "statistics.golden.json"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


@pytest.fixture(scope="module")
def report() -> StatisticsReport:
    return load_statistics(LocalFileReader(), (FIXTURES / "statistics").as_uri())


def test_matches_golden_file(report: StatisticsReport) -> None:
    produced = report.model_dump(mode="json")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(produced, indent=1, sort_keys=True) + "\n")
    assert produced == approx_json(json.loads(GOLDEN.read_text()))


def test_finds_every_split_train_first(report: StatisticsReport) -> None:
    assert [s.split for s in report.splits] == ["train", "eval"]
    for split in report.splits:
        assert split.num_examples == EXPECTED["splits"][split.split]["num_examples"]


@pytest.mark.parametrize("split", ["train", "eval"])
def test_numeric_features_agree_with_pandas(report: StatisticsReport, split: str) -> None:
    expected = EXPECTED["splits"][split]
    parsed = {f.name: f for f in report.split(split).numeric_features}
    assert sorted(parsed) == sorted(expected["numeric"])
    for name, truth in expected["numeric"].items():
        feature = parsed[name]
        assert feature.count == truth["count"], name
        assert feature.missing == truth["missing"], name
        assert feature.missing_percent == pytest.approx(100 * truth["missing"] / expected["num_examples"])
        assert feature.mean == pytest.approx(truth["mean"], rel=1e-9), name
        assert feature.std_dev == pytest.approx(truth["std_dev"], rel=1e-6), name
        assert (feature.min, feature.max) == (truth["min"], truth["max"]), name
        assert feature.zeros == truth["zeros"], name
        assert truth["min"] <= feature.median <= truth["max"]
        assert len(feature.histogram) == 10
        assert sum(b.count for b in feature.histogram) == pytest.approx(truth["count"], rel=1e-6)
        assert feature.histogram[0].low == truth["min"] and feature.histogram[-1].high == truth["max"]


@pytest.mark.parametrize("split", ["train", "eval"])
def test_categorical_features_agree_with_pandas(report: StatisticsReport, split: str) -> None:
    expected = EXPECTED["splits"][split]
    parsed = {f.name: f for f in report.split(split).categorical_features}
    assert sorted(parsed) == sorted(expected["categorical"])
    for name, truth in expected["categorical"].items():
        feature = parsed[name]
        assert (feature.count, feature.missing, feature.unique) == (truth["count"], truth["missing"], truth["unique"])
        assert feature.top_values[0].value in truth["top_values_with_top_count"], name
        assert feature.top_values[0].count == truth["top_count"], name
        counts = [v.count for v in feature.top_values]
        assert counts == sorted(counts, reverse=True)
        assert feature.avg_length == pytest.approx(truth["avg_length"], rel=0.01), name


def test_empty_value_list_counts_as_missing(report: StatisticsReport) -> None:
    missing = {s.split: {f.name: f.missing for f in s.numeric_features}["release_year"] for s in report.splits}
    assert sum(missing.values()) == 2, "item 267 (unknown release year) has two of the first 4000 ratings"


def test_legacy_tfrecord_statistics_parse_like_binary(report: StatisticsReport) -> None:
    legacy = load_statistics(LocalFileReader(), (FIXTURES / "legacy_statistics").as_uri())
    assert legacy.splits == [report.split("train")]


def test_single_file_uri_names_its_split(report: StatisticsReport) -> None:
    uri = (FIXTURES / "statistics" / "Split-eval" / "FeatureStats.pb").as_uri()
    assert load_statistics(LocalFileReader(), uri).splits == [report.split("eval")]


def test_path_named_features_and_bytes_features() -> None:
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    dataset = stats.datasets.add(num_examples=4)
    image = dataset.features.add(type=statistics_pb2.FeatureNameStatistics.BYTES)
    image.path.step.extend(["item", "image"])
    image.bytes_stats.common_stats.num_non_missing = 3
    image.bytes_stats.common_stats.num_missing = 1
    image.bytes_stats.common_stats.tot_num_values = 3
    image.bytes_stats.common_stats.max_num_values = 1
    split = parse_statistics(stats.SerializeToString(), "test")
    (feature,) = split.other_features
    assert (feature.name, feature.type, feature.count, feature.missing, feature.missing_percent) == (
        "item.image", "BYTES", 3, 1, 25.0
    )


def test_garbage_is_rejected_with_the_file_named() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_statistics(b"\xff\xff\xff not a proto", "train", source="file:///x/FeatureStats.pb")
    assert "file:///x/FeatureStats.pb" in error.value.message
    assert "StatisticsGen" in error.value.message
    assert error.value.field == "uri"


def test_folder_without_statistics_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "Split-train").mkdir()
    (tmp_path / "Split-train" / "other.txt").write_text("x")
    with pytest.raises(NotFound, match="Split-<name>/FeatureStats.pb"):
        load_statistics(LocalFileReader(), tmp_path.as_uri())


@pytest.mark.parametrize("uri", ["", "/tmp/stats", "http://example.com/stats", "s3://bucket/stats"])
def test_uri_must_be_gs_or_file(uri: str) -> None:
    with pytest.raises(InvalidInput, match="gs://") as error:
        load_statistics(LocalFileReader(), uri)
    assert error.value.field == "uri"


def test_tfrecord_round_trip_and_checksum() -> None:
    framed = write_records([b"first", b"", b"third record"])
    assert read_records(framed) == [b"first", b"", b"third record"]
    corrupted = bytearray(framed)
    corrupted[14] ^= 0x01
    with pytest.raises(TFRecordError, match="checksum"):
        read_records(bytes(corrupted))
    with pytest.raises(TFRecordError, match="truncated"):
        read_records(framed[:-3])
