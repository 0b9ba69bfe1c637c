"""The launch rules of ``domain.preflight`` and the protocol key of ``domain.protocol``, on models alone."""

from __future__ import annotations

import pytest
from experiments_platform.domain.experiment import (
    BuyerTimeSplit,
    QuickTestParameters,
    RandomSplit,
    StrictTimeSplit,
    TimeHoldoutSplit,
)
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.launch import DataCheck, SplitSize
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.preflight import Minimums, check_counts, check_towers, tower_width
from experiments_platform.domain.protocol import protocol_of, run_protocol
from experiments_platform.errors import InvalidInput

FEATURES = FeatureConfig(
    name="f",
    query_features=[{"kind": "id", "column": "user_id", "embedding_dim": 32},
                    {"kind": "numeric", "column": "age"},
                    {"kind": "timestamp", "column": "ts", "embedding_dim": 8}],
    candidate_features=[{"kind": "id", "column": "item_id", "embedding_dim": 16},
                        {"kind": "text", "column": "title", "embedding_dim": 8}],
    cross_features=[{"tower": "candidate", "columns": ["item_id", "title"], "embedding_dim": 4}],
)
BIG = SplitSize(interactions=5000, buyers=900)


def check(train: SplitSize = BIG, eval: SplitSize = BIG, test: SplitSize = BIG, corpus: int = 5000) -> DataCheck:
    return DataCheck(splits={"train": train, "eval": eval, "test": test}, corpus_size=corpus)


def refusal(data: DataCheck, parameters: QuickTestParameters | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        check_counts(data, parameters or QuickTestParameters(), Minimums(), "Shop", "item_id")
    return caught.value


def test_tower_widths_follow_output_dim_then_last_layer_then_the_concatenated_inputs():
    assert tower_width(FEATURES, ModelConfig(name="m", output_dim=24), "query") == 24
    assert tower_width(FEATURES, ModelConfig(name="m", query_tower_layers=[64, 8]), "query") == 8
    flat = ModelConfig(name="m", query_tower_layers=[], candidate_tower_layers=[])
    assert tower_width(FEATURES, flat, "query") == 32 + 1 + (1 + 4 + 8)
    assert tower_width(FEATURES, flat, "candidate") == 16 + 8 + 4


def test_towers_of_different_widths_are_refused_naming_the_model_config():
    with pytest.raises(InvalidInput) as caught:
        check_towers(FEATURES, ModelConfig(name="lopsided", query_tower_layers=[128, 64],
                                           candidate_tower_layers=[128, 32]))
    assert caught.value.field == "model_config_id"
    assert "query tower 64 outputs" in caught.value.message and "candidate tower 32" in caught.value.message
    assert "output_dim" in caught.value.message
    check_towers(FEATURES, ModelConfig(name="fixed", query_tower_layers=[128, 64], candidate_tower_layers=[32],
                                       output_dim=32))


def test_a_corpus_not_larger_than_the_largest_k_is_refused_with_the_trivial_ks():
    error = refusal(check(corpus=45))
    assert error.field == "dataset_id"
    assert "45 distinct item_id values" in error.message and "recall@50, @100 is 100 %" in error.message
    assert refusal(check(corpus=100)).field == "dataset_id"
    assert check_counts(check(corpus=101), QuickTestParameters(), Minimums(), "Shop", "item_id")[0].code == \
        "SMALL_CORPUS"


@pytest.mark.parametrize(("parameters", "split", "field"), [
    (QuickTestParameters(sample_percent=10), "test", "parameters.sample_percent"),
    (QuickTestParameters(sample_percent=100), "eval", "parameters.split"),
    (QuickTestParameters(split=TimeHoldoutSplit(date_column="d")), "test", "parameters.split.holdout_days"),
    (QuickTestParameters(split=TimeHoldoutSplit(date_column="d")), "eval", "parameters.split.val_percent"),
    (QuickTestParameters(split=TimeHoldoutSplit(date_column="d", history_days=30)), "train",
     "parameters.split.history_days"),
    (QuickTestParameters(split=StrictTimeSplit(date_column="d")), "eval", "parameters.split.val_days"),
    (QuickTestParameters(split=StrictTimeSplit(date_column="d")), "train", "parameters.split.train_days"),
    (QuickTestParameters(split=BuyerTimeSplit(date_column="d")), "test", "parameters.split.test_percent"),
    (QuickTestParameters(split=BuyerTimeSplit(date_column="d")), "eval", "parameters.split.val_percent"),
    (QuickTestParameters(split=BuyerTimeSplit(date_column="d")), "train", "parameters.split"),
])
def test_an_empty_split_is_refused_naming_the_field_that_widens_it(parameters, split, field):
    error = refusal(check(**{split: SplitSize()}), parameters)
    assert error.field == field
    assert f"the {split} split would be empty" in error.message and field in error.message


def test_too_few_test_buyers_is_refused_with_the_counts_and_the_settings():
    error = refusal(check(test=SplitSize(interactions=353, buyers=33)),
                    QuickTestParameters(split=TimeHoldoutSplit(date_column="d")))
    assert error.field == "parameters.split.holdout_days"
    assert "353 interactions from 33 buyers" in error.message
    assert "PLATFORM_PREFLIGHT_MIN_BUYERS" in error.message and "(now 7)" in error.message
    assert error.details["splits"]["test"]["buyers"] == 33


def test_warnings_small_test_set_cold_start_share_and_small_corpus():
    test = SplitSize(interactions=586, buyers=60, cold_buyers=11, cold_buyer_interactions=285,
                     cold_item_interactions=5)
    warnings = check_counts(check(test=test, corpus=800), QuickTestParameters(sample_percent=25), Minimums(),
                            "Shop", "item_id")
    assert [w.code for w in warnings] == ["SMALL_TEST_SET", "HIGH_TEST_OOV", "SMALL_CORPUS"]
    assert "586 interactions from 60 buyers" in warnings[0].message
    assert warnings[0].field == "parameters.sample_percent"
    assert "49% of test interactions (285 of 586) have a buyer" in warnings[1].message
    assert "800 candidates, fewer than 10 × 100" in warnings[2].message
    assert check_counts(check(corpus=5000), QuickTestParameters(), Minimums(), "Shop", "item_id") == []


def test_the_protocol_key_names_what_the_numbers_were_measured_on():
    base = run_protocol("ds1", "Shop", "item_id", QuickTestParameters(sample_percent=10))
    assert base.key.startswith("p-") and base.label == "Shop · 10% sample · random 80/10/10 · seed 42"
    same = run_protocol("ds1", "Renamed shop", "item_id",
                        QuickTestParameters(sample_percent=10, epochs=9, learning_rate=0.5, hardware_tier="large"))
    assert same.key == base.key, "model and training parameters do not change what is measured"
    for other in (run_protocol("ds2", "Shop", "item_id", QuickTestParameters(sample_percent=10)),
                  run_protocol("ds1", "Shop", "item_id", QuickTestParameters(sample_percent=25)),
                  run_protocol("ds1", "Shop", "item_id", QuickTestParameters(sample_percent=10, seed=7)),
                  run_protocol("ds1", "Shop", "item_id",
                               QuickTestParameters(sample_percent=10, split=RandomSplit(train_percent=70))),
                  run_protocol("ds1", "Shop", "sku", QuickTestParameters(sample_percent=10))):
        assert other.key != base.key


def test_documents_without_a_stored_protocol_get_the_same_key_as_new_ones():
    parameters = QuickTestParameters(split=TimeHoldoutSplit(date_column="day", holdout_days=14))
    stored = run_protocol("ds1", "Shop", "item_id", parameters)
    legacy = {"dataset_id": "ds1", "dataset_snapshot": {"name": "Shop", "candidate_id_column": "item_id"},
              "parameters": parameters.model_dump(mode="json")}
    assert protocol_of(legacy) == stored
    assert protocol_of({**legacy, "protocol": stored.to_document()}) == stored
    assert protocol_of({"dataset_id": "ds1"}) is None
    assert "time_holdout on day: last 14 d test, 10% val" in stored.label
