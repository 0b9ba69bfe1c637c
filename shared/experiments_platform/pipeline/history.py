"""History features' tables: per buyer, the standardized log ratio of each value's shrunk share among the
buyer's training interactions to its overall share (``HistoryFeature``). NumPy only; both trainers fill
them from the training split's buyer and value indices and hand them to the query tower as fixed tables.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from experiments_platform.domain.features import FeatureConfig, HistoryFeature
from experiments_platform.pipeline.feature_names import feature_name, history_value_name

Arrays = dict[str, np.ndarray]


def history_features(config: FeatureConfig) -> list[HistoryFeature]:
    return [f for f in config.query_features if isinstance(f, HistoryFeature)]


def history_columns(config: FeatureConfig) -> list[str]:
    """The transformed columns the tables are counted from (each history feature's buyer and value indices)."""
    return [name for f in history_features(config)
            for name in (feature_name("query", f.column), history_value_name(f.column))]


def count_table(buyers: np.ndarray, values: np.ndarray, shape: tuple[int, int], counts: np.ndarray | None = None
                ) -> np.ndarray:
    """``counts`` (zeros of ``shape`` when None) plus one per (buyer index, value index) pair."""
    out = np.zeros(shape, dtype=np.int64) if counts is None else counts
    np.add.at(out, (np.asarray(buyers, np.int64).reshape(-1), np.asarray(values, np.int64).reshape(-1)), 1)
    return out


def history_table(counts: np.ndarray, shrinkage: float) -> np.ndarray:
    """Rows: buyers (the last one, out of vocabulary, never counted); columns: values. Each cell is
    ``log((n_bv + k·p_v) / (n_b + k) / p_v)``, ``p_v`` the value's overall share and ``k`` the shrinkage, then
    standardized per value over the training interactions (each buyer weighted by its rows). A value never
    seen in training (``p_v`` = 0) reads 0; a buyer without rows reads the standardized ratio of 1."""
    counts = counts.astype(np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    overall = counts.sum(axis=0) / max(float(counts.sum()), 1.0)
    seen = overall > 0
    ratio = np.ones_like(counts)
    shares = (counts[:, seen] + shrinkage * overall[seen]) / np.maximum(rows + shrinkage, 1e-12)
    ratio[:, seen] = shares / overall[seen]
    ratio[rows[:, 0] == 0] = 1.0
    log_ratio = np.log(ratio)
    weights = rows[:, 0] / max(float(rows.sum()), 1.0)
    mean = weights @ log_ratio
    std = np.sqrt(weights @ np.square(log_ratio - mean))
    std[std == 0] = 1.0
    return ((log_ratio - mean) / std).astype(np.float32)


def history_tables(config: FeatureConfig, vocabulary_sizes: dict[str, int], batches: Iterable[Arrays]
                   ) -> dict[str, np.ndarray]:
    """Each history feature's table (by its model input's name), counted from the training split's
    ``batches`` (arrays holding ``history_columns``)."""
    features = history_features(config)
    counts = {feature_name("query", f.column): np.zeros(
        (vocabulary_sizes[feature_name("query", f.column)] + 1,
         vocabulary_sizes[history_value_name(f.column)] + 1), dtype=np.int64) for f in features}
    if not features:
        return {}
    for batch in batches:
        for f in features:
            name = feature_name("query", f.column)
            count_table(batch[name], batch[history_value_name(f.column)], counts[name].shape, counts[name])
    return {feature_name("query", f.column): history_table(counts[feature_name("query", f.column)], f.shrinkage)
            for f in features}
