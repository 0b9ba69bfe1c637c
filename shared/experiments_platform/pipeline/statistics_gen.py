"""StatisticsGen without a Beam pipeline where one process does the work (decision 099).

TFX's StatisticsGen executor runs TFDV's ``GenerateStatistics`` as a Beam pipeline. On the in-process
DirectRunner almost all of its time is Beam's: building the pipeline, pickling its DoFns, moving every
record batch and every (feature, value) pair of the exact top-k through bundles (a quick test of
MovieLens 100k: about 90 % of the stage's samples; 1M rows: 47 s). ``StatisticsGenExecutor`` computes
the same ``DatasetFeatureStatisticsList`` in the calling process from the same generators:

- TFDV's ``BasicStatsGenerator`` (a combiner: ``add_input`` per record batch, ``compact``,
  ``extract_output``), built by TFDV's own ``get_generators`` from the same ``StatsOptions``;
- the exact top-k and uniques of ``TopKUniquesStatsGenerator`` (the Beam path's default, not the
  sketch): each batch's ``value_counts`` per string (or categorical int) feature, summed by value with
  Arrow, the largest ``(count, value)`` pairs made into protos by TFDV's own ``top_k_uniques_stats_util``.

Record batches come from the split's TFXIO (``RecordBatches``, tf.data reading the same files), so
the decoding is TFX's. The artifact (``Split-<name>/FeatureStats.pb``, its custom properties) is the
one the base executor writes. Anything the in-process path does not cover (a schema input, stats
options, per-split sample rates, sharded output, a non-tf.Example payload, a runner other than the
DirectRunner, e.g. Dataflow) runs the base executor's Beam pipeline.
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_data_validation.arrow import arrow_util
from tensorflow_data_validation.statistics import stats_impl
from tensorflow_data_validation.statistics.generators import basic_stats_generator
from tensorflow_data_validation.statistics.generators import top_k_uniques_stats_generator as top_k
from tensorflow_data_validation.utils import stats_util
from tensorflow_data_validation.utils import top_k_uniques_stats_util as top_k_util
from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx.components.statistics_gen import executor as statistics_gen_executor
from tfx.components.util import examples_utils, tfxio_utils
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import json_utils, stats_utils
from tfx_bsl.arrow import array_util
from tfx_bsl.statistics import merge_util
from tfx_bsl.tfxio import dataset_options, tf_example_record

from experiments_platform.jsonlog import fields, get_logger

log = get_logger(__name__)

BATCH_ROWS = 1000
"""Rows per record batch: the largest batch Beam's ``BatchElements`` gives TFDV on the DirectRunner."""
COMPACT_EVERY = 64
"""Batches of value counts kept per feature before they are summed by value (memory ∝ distinct values)."""


class ExactTopK:
    """Exact value counts of one feature over many record batches, as ``TopKUniquesStatsGenerator`` counts."""

    def __init__(self) -> None:
        self.parts: list[pa.StructArray] = []

    def add(self, values: pa.Array) -> None:
        if len(values):
            self.parts.append(values.value_counts())
        if len(self.parts) >= COMPACT_EVERY:
            self.parts = [self.counts()]

    def counts(self) -> pa.StructArray:
        if len(self.parts) == 1:
            return self.parts[0]
        table = pa.Table.from_arrays(
            [pa.chunked_array([p.field("values") for p in self.parts]),
             pa.chunked_array([p.field("counts") for p in self.parts])], names=["values", "counts"])
        summed = table.group_by("values").aggregate([("counts", "sum")])
        return pa.StructArray.from_arrays([summed["values"].combine_chunks(), summed["counts_sum"].combine_chunks()],
                                          names=["values", "counts"])


def _top_k_generator(generators: list[Any]) -> top_k.TopKUniquesStatsGenerator | None:
    for generator in generators:
        if isinstance(generator, top_k.TopKUniquesStatsGenerator):
            return generator
    return None


def in_process_generators(options: tfdv.StatsOptions) -> list[Any] | None:
    """TFDV's generators for ``options`` when this module can run them all (combiners plus the exact
    top-k), else None."""
    if (options.schema is not None or options.feature_allowlist or options.slicing_config
            or options.experimental_slice_functions or options.experimental_slice_sqls
            or options.example_weight_map.all_weight_features() or options.sample_rate not in (None, 1.0)
            or options.experimental_num_feature_partitions != 1):
        return None
    generators = stats_impl.get_generators(options)
    others = [g for g in generators if not isinstance(g, top_k.TopKUniquesStatsGenerator)]
    if _top_k_generator(generators) is None or \
            not all(isinstance(g, basic_stats_generator.BasicStatsGenerator) for g in others):
        return None
    return generators


def split_statistics(batches: Iterable[pa.RecordBatch], options: tfdv.StatsOptions
                     ) -> statistics_pb2.DatasetFeatureStatisticsList:
    """The ``DatasetFeatureStatisticsList`` TFDV's Beam ``GenerateStatistics`` makes of ``batches``."""
    generators = in_process_generators(options)
    if generators is None:
        raise ValueError("these statistics options need TFDV's Beam pipeline (StatisticsGen's base executor)")
    topk = _top_k_generator(generators)
    combiners = [g for g in generators if g is not topk]
    accumulators = [g.create_accumulator() for g in combiners]
    counts: dict[Any, ExactTopK] = {}
    rows = 0
    for batch in batches:
        rows += batch.num_rows
        accumulators = [g.add_input(a, batch) for g, a in zip(combiners, accumulators, strict=True)]
        for path, array, _ in arrow_util.enumerate_arrays(batch, example_weight_map=options.example_weight_map,
                                                          enumerate_leaves_only=True):
            kind = stats_util.get_feature_type_from_arrow_type(path, array.type)
            if top_k._should_run({}, path, kind):
                values, _ = array_util.flatten_nested(array, False)
                counts.setdefault(path, ExactTopK()).add(values)
    if rows == 0:  # the Beam path's placeholder for an empty split
        return statistics_pb2.DatasetFeatureStatisticsList(datasets=[statistics_pb2.DatasetFeatureStatistics()])
    outputs = [g.extract_output(g.compact(a)) for g, a in zip(combiners, accumulators, strict=True)]
    keep = max(options.num_top_values, options.num_rank_histogram_buckets)
    for path, exact in counts.items():
        summed = exact.counts()
        pairs = zip(summed.field("counts").to_pylist(), summed.field("values").to_pylist(), strict=True)
        top = heapq.nlargest(keep, pairs)  # beam.combiners.Top on (count, value), as the Beam path
        outputs.append(top_k_util.make_dataset_feature_stats_proto_topk_single(
            path.steps(), [top_k_util.FeatureValueCount(value, count) for count, value in top],
            is_weighted_stats=False, num_top_values=options.num_top_values,
            frequency_threshold=options.frequency_threshold,
            num_rank_histogram_buckets=options.num_rank_histogram_buckets))
        outputs.append(top_k_util.make_dataset_feature_stats_proto_unique_single(path.steps(), len(summed)))
    return merge_util.merge_dataset_feature_statistics(outputs)


def _direct_runner(beam_args: list[str]) -> bool:
    runners = [a.split("=", 1)[1] for a in beam_args if a.startswith("--runner=")]
    return all(r in ("DirectRunner", "direct") for r in runners)


class StatisticsGenExecutor(statistics_gen_executor.Executor):
    """StatisticsGen's executor; computes the statistics in process when it can (module docstring)."""

    def beam_reason(self, input_dict: dict[str, list[Any]], exec_properties: dict[str, Any]) -> str | None:
        """Why this run needs the base executor's Beam pipeline, or None."""
        if not _direct_runner(list(self._beam_pipeline_args or [])):
            return "a runner other than the DirectRunner"
        if input_dict.get(standard_component_specs.SCHEMA_KEY):
            return "a schema input"
        for key in (standard_component_specs.STATS_OPTIONS_JSON_KEY, standard_component_specs.SAMPLE_RATE_BY_SPLIT_KEY,
                    standard_component_specs.SHARDED_STATS_OUTPUT_KEY):
            if exec_properties.get(key) not in (None, "", "null", False, 0):
                return key
        return None

    def Do(self, input_dict: dict[str, list[Any]], output_dict: dict[str, list[Any]],  # noqa: N802 (TFX's name)
           exec_properties: dict[str, Any]) -> None:
        reason = self.beam_reason(input_dict, exec_properties)
        examples = artifact_utils.get_single_instance(input_dict[standard_component_specs.EXAMPLES_KEY])
        if reason is None:
            if examples.has_custom_property(examples_utils.CUSTOM_SPLIT_PATTERN_PROPERTY_NAME):
                splits = list(json_utils.loads(examples.get_string_custom_property(
                    examples_utils.CUSTOM_SPLIT_PATTERN_PROPERTY_NAME)))
            else:
                splits = artifact_utils.decode_split_names(examples.split_names)
            exclude = json_utils.loads(exec_properties.get(standard_component_specs.EXCLUDE_SPLITS_KEY, "null")) or []
            names = [s for s in splits if s not in exclude]
            readers = {s: tfxio_utils.get_split_tfxio(examples=[examples], split=s,
                                                      telemetry_descriptors=["StatisticsGen"]) for s in names}
            if not names or not all(isinstance(r, tf_example_record.TFExampleRecord) for r in readers.values()):
                reason = "a payload other than tf.Example"
        if reason is not None:
            log.info("statistics through Beam", extra=fields(reason=reason))
            super().Do(input_dict, output_dict, exec_properties)
            return
        self._log_startup(input_dict, output_dict, exec_properties)
        statistics = artifact_utils.get_single_instance(output_dict[standard_component_specs.STATISTICS_KEY])
        statistics.split_names = artifact_utils.encode_split_names(names)
        statistics.span = examples.span
        try:
            link = stats_utils.generate_stats_dashboard_link(statistics)
        except Exception:  # noqa: BLE001 (the base executor logs and goes on too)
            link = ""
        statistics.set_string_custom_property(statistics_gen_executor.STATS_DASHBOARD_LINK, link)
        options = tfdv.StatsOptions()
        statistics.set_json_value_custom_property(
            statistics_gen_executor.SAMPLE_RATE_BY_SPLIT_PROPERTY_NAME,
            json_utils.dumps({s: options.sample_rate or 1.0 for s in names}))
        for name in names:
            started = time.monotonic()
            batches = readers[name].RecordBatches(dataset_options.RecordBatchesOptions(
                batch_size=BATCH_ROWS, shuffle=False, num_epochs=1))
            result = split_statistics(batches, options)
            uri = artifact_utils.get_split_uri([statistics], name)
            tf.io.gfile.makedirs(uri)
            with tf.io.gfile.GFile(os.path.join(uri, statistics_gen_executor.DEFAULT_FILE_NAME), "wb") as out:
                out.write(result.SerializeToString(deterministic=True))
            log.info("split statistics computed", extra=fields(
                split=name, rows=int(result.datasets[0].num_examples), seconds=round(time.monotonic() - started, 3)))
