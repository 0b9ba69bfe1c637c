"""TFDV statistics (``DatasetFeatureStatisticsList``) as the JSON the UI shows.

TFX 1.x StatisticsGen writes one binary ``FeatureStats.pb`` per split (``Split-<name>/``); TFX
releases before 1.0 wrote ``stats_tfrecord``, the same proto inside a TFRecord. Both are read.

Missing values: CsvExampleGen writes an empty CSV cell as a present feature with an empty value
list, which TFDV counts as non-missing. For single-valued features (at most one value per example)
such examples are counted as missing here, so ``missing`` means "no value", whatever the source.
"""

from __future__ import annotations

from typing import Literal

from google.protobuf.message import DecodeError
from pydantic import BaseModel, ConfigDict
from tensorflow_metadata.proto.v0 import statistics_pb2

from experiments_platform.errors import InvalidInput
from experiments_platform.tfdv.tfrecord import TFRecordError, looks_like_tfrecord, read_records

SPLIT_ORDER = ("train", "eval", "validation", "val", "test")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bucket(_Model):
    low: float
    high: float
    count: float


class TopValue(_Model):
    value: str
    count: float


class _FeatureStats(_Model):
    name: str
    type: str
    count: int
    missing: int
    missing_percent: float
    avg_num_values: float
    max_num_values: int


class NumericFeatureStats(_FeatureStats):
    kind: Literal["numeric"] = "numeric"
    mean: float
    std_dev: float
    zeros: int
    zeros_percent: float
    min: float
    median: float
    max: float
    histogram: list[Bucket]
    quantiles: list[Bucket]


class CategoricalFeatureStats(_FeatureStats):
    kind: Literal["categorical"] = "categorical"
    unique: int
    top_values: list[TopValue]
    avg_length: float


class OtherFeatureStats(_FeatureStats):
    """Bytes and struct features: only their presence is summarised."""

    kind: Literal["other"] = "other"


class SplitStatistics(_Model):
    split: str
    num_examples: int
    numeric_features: list[NumericFeatureStats]
    categorical_features: list[CategoricalFeatureStats]
    other_features: list[OtherFeatureStats]

    @property
    def feature_count(self) -> int:
        return len(self.numeric_features) + len(self.categorical_features) + len(self.other_features)


class StatisticsReport(_Model):
    splits: list[SplitStatistics]

    def split(self, name: str) -> SplitStatistics:
        for split in self.splits:
            if split.split == name:
                return split
        raise KeyError(f"no split {name!r}; the statistics have {[s.split for s in self.splits]}")


def decode_statistics(data: bytes, source: str = "statistics") -> statistics_pb2.DatasetFeatureStatisticsList:
    """Decode a binary or TFRecord-framed ``DatasetFeatureStatisticsList``.

    Raise ``InvalidInput`` naming ``source`` when the bytes are neither.
    """
    try:
        if looks_like_tfrecord(data):
            merged = statistics_pb2.DatasetFeatureStatisticsList()
            for record in read_records(data):
                merged.MergeFromString(record)
            return merged
        return statistics_pb2.DatasetFeatureStatisticsList.FromString(data)
    except (DecodeError, TFRecordError) as exc:
        raise InvalidInput(
            f"{source} is not a TFDV statistics file ({exc}); expected the FeatureStats.pb that StatisticsGen "
            "writes under Split-<name>/",
            field="uri",
        ) from None


def feature_name(feature: statistics_pb2.FeatureNameStatistics) -> str:
    if feature.HasField("path") and feature.path.step:
        return ".".join(feature.path.step)
    return feature.name


def _percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def _buckets(histogram: statistics_pb2.Histogram) -> list[Bucket]:
    return [Bucket(low=b.low_value, high=b.high_value, count=b.sample_count) for b in histogram.buckets]


def _common_fields(
    feature: statistics_pb2.FeatureNameStatistics, common: statistics_pb2.CommonStatistics, num_examples: int
) -> dict[str, object]:
    missing = int(common.num_missing)
    if common.max_num_values <= 1:
        missing += max(0, int(common.num_non_missing) - int(common.tot_num_values))
    return {
        "name": feature_name(feature),
        "type": statistics_pb2.FeatureNameStatistics.Type.Name(feature.type),
        "count": num_examples - missing,
        "missing": missing,
        "missing_percent": _percent(missing, num_examples),
        "avg_num_values": common.avg_num_values,
        "max_num_values": int(common.max_num_values),
    }


def _numeric(feature: statistics_pb2.FeatureNameStatistics, num_examples: int) -> NumericFeatureStats:
    stats = feature.num_stats
    standard = [h for h in stats.histograms if h.type == statistics_pb2.Histogram.STANDARD]
    quantiles = [h for h in stats.histograms if h.type == statistics_pb2.Histogram.QUANTILES]
    return NumericFeatureStats(
        **_common_fields(feature, stats.common_stats, num_examples),  # type: ignore[arg-type]
        mean=stats.mean,
        std_dev=stats.std_dev,
        zeros=int(stats.num_zeros),
        zeros_percent=_percent(stats.num_zeros, stats.common_stats.tot_num_values),
        min=stats.min,
        median=stats.median,
        max=stats.max,
        histogram=_buckets(standard[0]) if standard else [],
        quantiles=_buckets(quantiles[0]) if quantiles else [],
    )


def _categorical(feature: statistics_pb2.FeatureNameStatistics, num_examples: int) -> CategoricalFeatureStats:
    stats = feature.string_stats
    return CategoricalFeatureStats(
        **_common_fields(feature, stats.common_stats, num_examples),  # type: ignore[arg-type]
        unique=int(stats.unique),
        top_values=[TopValue(value=v.value, count=v.frequency) for v in stats.top_values],
        avg_length=stats.avg_length,
    )


def _other(feature: statistics_pb2.FeatureNameStatistics, num_examples: int) -> OtherFeatureStats:
    which = feature.WhichOneof("stats")
    if which == "bytes_stats":
        common = feature.bytes_stats.common_stats
    elif which == "struct_stats":
        common = feature.struct_stats.common_stats
    else:
        common = statistics_pb2.CommonStatistics(num_missing=num_examples)
    return OtherFeatureStats(**_common_fields(feature, common, num_examples))  # type: ignore[arg-type]


def split_statistics(dataset: statistics_pb2.DatasetFeatureStatistics, split: str) -> SplitStatistics:
    """One split's statistics as JSON-ready models, features sorted by name."""
    num_examples = int(dataset.num_examples)
    numeric, categorical, other = [], [], []
    for feature in dataset.features:
        which = feature.WhichOneof("stats")
        if which == "num_stats":
            numeric.append(_numeric(feature, num_examples))
        elif which == "string_stats":
            categorical.append(_categorical(feature, num_examples))
        else:
            other.append(_other(feature, num_examples))
    return SplitStatistics(
        split=split,
        num_examples=num_examples,
        numeric_features=sorted(numeric, key=lambda f: f.name),
        categorical_features=sorted(categorical, key=lambda f: f.name),
        other_features=sorted(other, key=lambda f: f.name),
    )


def parse_statistics(data: bytes, split: str, source: str = "statistics") -> SplitStatistics:
    """Parse one split's statistics file (the first dataset in it, as StatisticsGen writes one)."""
    stats = decode_statistics(data, source)
    if not stats.datasets:
        raise InvalidInput(f"{source} holds no dataset statistics", field="uri")
    return split_statistics(stats.datasets[0], split)


def split_sort_key(name: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(name) if name in SPLIT_ORDER else len(SPLIT_ORDER), name)
