"""The history feature kind (decision 060, amendment 6): its table against a pandas recomputation, the query
tower's fixed lookup, and the config rules around it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.pipeline.feature_names import buyer_inputs, tower_inputs, vocabulary_features
from experiments_platform.pipeline.history import count_table, history_table, history_tables
from experiments_platform.pipeline.model import build_model
from pydantic import ValidationError

CONFIG = FeatureConfig(
    name="history",
    query_features=[{"kind": "history", "column": "category", "max_values": 3, "shrinkage": 4.0}],
    candidate_features=[{"kind": "id", "column": "product_id"}],
)


def pandas_table(frame: pd.DataFrame, buyers: int, values: int, k: float) -> np.ndarray:
    """The same cells written the long way (every value seen): shrunk share over overall share, log, z-scored
    over interactions."""
    counts = frame.groupby(["buyer", "value"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=range(buyers), columns=range(values), fill_value=0).astype(float)
    overall = counts.sum() / counts.to_numpy().sum()
    ratio = np.log((counts + k * overall).div(counts.sum(axis=1) + k, axis=0) / overall)
    per_row = ratio.loc[frame["buyer"]]
    return ((ratio - per_row.mean()) / per_row.std(ddof=0)).to_numpy()


def test_the_table_is_the_buyers_shrunk_log_share_ratio_standardized_over_training_rows():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"buyer": rng.integers(0, 6, 400), "value": rng.choice(3, 400, p=[0.6, 0.3, 0.1])})
    table = history_table(count_table(frame["buyer"], frame["value"], (7, 4)), shrinkage=4.0)
    assert table.shape == (7, 4)
    np.testing.assert_allclose(table[:6, :3], pandas_table(frame, 6, 3, 4.0)[:, :3], rtol=1e-5, atol=1e-5)
    assert np.all(table[:, 3] == 0.0)  # the "other" value, never seen: no signal
    cold = table[6, :3]  # a buyer with no training rows reads the overall shares (ratio 1), standardized
    log_ratio = pandas_table(frame, 6, 3, 4.0)
    assert np.all(np.isfinite(cold)) and not np.allclose(cold, log_ratio[0])
    heavy = (frame["value"] == 2).groupby(frame["buyer"]).mean().idxmax()  # the largest share of the rare value
    assert table[heavy, 2] == table[:6, 2].max()


def test_with_little_shrinkage_values_never_bought_and_buyers_without_rows_read_finite_values():
    table = history_table(count_table(np.array([0, 0, 1]), np.array([0, 1, 1]), (3, 2)), shrinkage=0.01)
    assert np.all(np.isfinite(table))
    with pytest.raises(ValidationError, match="shrinkage"):
        FeatureConfig(name="x", query_features=[{"kind": "history", "column": "genres", "shrinkage": 0}],
                      candidate_features=[{"kind": "id", "column": "item_id"}])


def test_tables_are_counted_over_batches_and_the_tower_looks_them_up_untrained():
    sizes = {"query__category": 4, "query__category__history_value": 3, "candidate__product_id": 10}
    assert [name for _, name, _ in vocabulary_features(CONFIG)] == [
        "query__category", "query__category__history_value", "candidate__product_id"]
    batches = [{"query__category": np.array([0, 0, 1]), "query__category__history_value": np.array([0, 1, 2])},
               {"query__category": np.array([2, 3]), "query__category__history_value": np.array([2, 2])}]
    tables = history_tables(CONFIG, sizes, batches)
    whole = history_table(count_table(np.array([0, 0, 1, 2, 3]), np.array([0, 1, 2, 2, 2]), (5, 4)), 4.0)
    np.testing.assert_array_equal(tables["query__category"], whole)
    query_inputs = tower_inputs(CONFIG, "query", sizes)
    assert [(i.name, i.kind, i.size, i.width) for i in query_inputs] == [("query__category", "table", 5, 4)]
    assert buyer_inputs(CONFIG, sizes) == {"query__category": 4}
    model = build_model(query_inputs, tower_inputs(CONFIG, "candidate", sizes),
                        ModelConfig(name="m", query_tower_layers=[], candidate_tower_layers=[], output_dim=4), 0.1,
                        tables)
    looked_up = model.query_tower({"query__category": np.array([3, 4])}).numpy()
    assert looked_up.shape == (2, 4)
    assert not model.query_tower.trainable_variables[0:0] and all(
        "table" not in v.name for v in model.query_tower.trainable_variables)
    with pytest.raises(ValueError, match="history table of 5 × 4"):
        build_model(query_inputs, tower_inputs(CONFIG, "candidate", sizes),
                    ModelConfig(name="m", query_tower_layers=[], candidate_tower_layers=[]), 0.1, {})


def test_a_history_feature_belongs_to_the_query_tower():
    with pytest.raises(ValidationError, match=r"candidate_features\[1\]: a history feature describes the buyer"):
        FeatureConfig(name="x", query_features=[{"kind": "id", "column": "user_id"}],
                      candidate_features=[{"kind": "id", "column": "item_id"},
                                          {"kind": "history", "column": "genres"}])
