"""Domain models reject bad configs with errors that name the field and the reason."""

from __future__ import annotations

from typing import Any

import pytest
from experiments_platform.domain.dataset import Column, Dataset, TableSource
from experiments_platform.domain.experiment import (
    Experiment,
    QuickTestParameters,
    RandomSplit,
    StrictTimeSplit,
    TimeHoldoutSplit,
)
from experiments_platform.domain.features import CrossFeature, FeatureConfig
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.names import check_identifier, closest_names, unknown_name_message
from experiments_platform.domain.status import STAGE_ORDER, StageStatus, Status
from pydantic import BaseModel, ValidationError

INJECTION = "x'); import os; os.system('id') #"


def errors_of(model: type[BaseModel], **values: Any) -> list[tuple[str, str]]:
    """(field path, message) of every validation error."""
    with pytest.raises(ValidationError) as raised:
        model.model_validate(values)
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in raised.value.errors()]


def dataset_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "MovieLens 100k",
        "source": {"kind": "file", "uri": "file:///data/ml-100k.parquet"},
        "row_count": 100_000,
        "columns": [{"name": "user_id", "type": "string"}, {"name": "item_id", "type": "string"},
                    {"name": "timestamp", "type": "timestamp"}],
        "query_id_column": "user_id",
        "candidate_id_column": "item_id",
        "date_column": "timestamp",
    }
    values.update(overrides)
    return values


def features_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "ids + genre",
        "query_features": [{"kind": "id", "column": "user_id", "embedding_dim": 32},
                           {"kind": "categorical", "column": "occupation"}],
        "candidate_features": [{"kind": "id", "column": "item_id"}, {"kind": "text", "column": "title"}],
    }
    values.update(overrides)
    return values


def test_valid_configs_round_trip_through_documents() -> None:
    dataset = Dataset.model_validate(dataset_values())
    features = FeatureConfig.model_validate(features_values(
        cross_features=[{"tower": "query", "columns": ["user_id", "occupation"], "hash_buckets": 500}]))
    model = ModelConfig(name="towers", query_tower_layers=[256, 128, 64])
    for instance in (dataset, features, model):
        assert type(instance).model_validate(instance.to_document()) == instance
    doc = dataset.to_document()
    assert isinstance(doc["created_at"], str) and doc["created_at"].endswith("Z")
    assert model.tower_summary() == "256→128→64"
    assert features.cross_features[0].name == "user_id_x_occupation"


def test_identifier_rule_names_the_rule() -> None:
    assert check_identifier("user_id") == "user_id"
    for bad in ("", "1abc", "a-b", "a b", INJECTION, "x" * 65):
        with pytest.raises(ValueError, match="is not a valid name: use letters, digits and underscores"):
            check_identifier(bad)


def test_unknown_names_get_suggestions() -> None:
    assert closest_names("user", ["user_id", "item_id", "USERNAME"]) == ["user_id", "USERNAME"]
    message, suggestions = unknown_name_message("column", "usr_id", ["user_id", "item_id"])
    assert message == "unknown column 'usr_id'; did you mean 'user_id'?"
    assert suggestions == ["user_id"]
    assert unknown_name_message("column", "zzz", ["user_id"]) == ("unknown column 'zzz'", [])


def test_dataset_id_column_must_be_a_real_column() -> None:
    [(field, message)] = errors_of(Dataset, **dataset_values(query_id_column="usr_id"))
    assert field == ""
    assert "query_id_column: unknown column 'usr_id'; did you mean 'user_id'?" in message


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"row_count": -1}, "row_count", "greater than or equal to 0"),
        ({"columns": []}, "columns", "at least 1 item"),
        ({"columns": [{"name": INJECTION, "type": "string"}]}, "columns.0.name", "is not a valid name"),
        ({"columns": [{"name": "user_id", "type": "uuid"}]}, "columns.0.type", "Input should be 'string'"),
        ({"source": {"kind": "s3", "uri": "s3://x"}}, "source.kind", "Input should be 'file' or 'bigquery'"),
        ({"name": ""}, "name", "at least 1 character"),
        ({"owner": "me"}, "owner", "Extra inputs are not permitted"),
    ],
)
def test_dataset_errors_name_field_and_reason(overrides: dict[str, Any], field: str, reason: str) -> None:
    errors = errors_of(Dataset, **dataset_values(**overrides))
    assert any(f == field and reason in m for f, m in errors), errors


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"query_features": []}, "query_features", "at least 1 item"),
        ({"query_features": [{"kind": "embedding", "column": "user_id"}]}, "query_features.0",
         "does not match any of the expected tags: 'id', 'categorical', 'numeric', 'timestamp', 'text'"),
        ({"query_features": [{"kind": "id", "column": "user_id", "embedding_dim": 0}]},
         "query_features.0.id.embedding_dim", "greater than or equal to 1"),
        ({"candidate_features": [{"kind": "numeric", "column": "price", "transform": "log"}]},
         "candidate_features.0.numeric.transform", "Input should be 'normalize' or 'bucketize'"),
        ({"candidate_features": [{"kind": "id", "column": INJECTION}]}, "candidate_features.0.id.column",
         "is not a valid name"),
    ],
)
def test_feature_config_errors_name_field_and_reason(overrides: dict[str, Any], field: str, reason: str) -> None:
    errors = errors_of(FeatureConfig, **features_values(**overrides))
    assert any(f == field and reason in m for f, m in errors), errors


def test_feature_listed_twice_in_a_tower() -> None:
    [(_, message)] = errors_of(FeatureConfig, **features_values(
        query_features=[{"kind": "id", "column": "user_id"}, {"kind": "categorical", "column": "user_id"}]))
    assert "query_features: column(s) ['user_id'] listed twice" in message


def test_cross_feature_needs_features_of_its_tower() -> None:
    [(_, message)] = errors_of(FeatureConfig, **features_values(
        cross_features=[{"tower": "query", "columns": ["user_id", "city"]}]))
    assert "cross_features[0]: ['city'] not among the query tower's features" in message
    assert "add them to query_features first" in message
    errors = errors_of(CrossFeature, tower="query", columns=["user_id"])
    assert errors[0][0] == "columns" and "at least 2 items" in errors[0][1]


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"query_tower_layers": [128, 0]}, "query_tower_layers.1", "greater than or equal to 1"),
        ({"candidate_tower_layers": [64] * 9}, "candidate_tower_layers", "at most 8 items"),
        ({"learning_rate": 0}, "learning_rate", "greater than 0"),
        ({"l2_regularization": 2}, "l2_regularization", "less than or equal to 1"),
        ({"optimizer": "lbfgs"}, "optimizer", "Input should be 'adagrad', 'adam', 'sgd' or 'rmsprop'"),
        ({"batch_size": 4}, "batch_size", "greater than or equal to 8"),
    ],
)
def test_model_config_errors_name_field_and_reason(values: dict[str, Any], field: str, reason: str) -> None:
    errors = errors_of(ModelConfig, name="m", **values)
    assert any(f == field and reason in m for f, m in errors), errors


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"sample_percent": 7}, "sample_percent", "Input should be 5, 10, 25 or 100"),
        ({"epochs": 0}, "epochs", "greater than or equal to 1"),
        ({"hardware_tier": "huge"}, "hardware_tier", "Input should be 'small', 'medium' or 'large'"),
        ({"split": {"strategy": "weekly"}}, "split", "expected tags: 'random', 'time_holdout', 'strict_time'"),
        ({"split": {"strategy": "time_holdout"}}, "split.time_holdout.date_column", "Field required"),
        ({"split": {"strategy": "strict_time", "date_column": "ts", "test_days": 0}},
         "split.strict_time.test_days", "greater than or equal to 1"),
        ({"split": {"strategy": "random", "train_percent": 90, "val_percent": 10}}, "split.random",
         "train_percent + val_percent must leave room for a test split"),
    ],
)
def test_quick_test_parameters_errors_name_field_and_reason(values: dict[str, Any], field: str, reason: str) -> None:
    errors = errors_of(QuickTestParameters, **values)
    assert any(f == field and reason in m for f, m in errors), errors


def test_split_strategies_parse_from_documents() -> None:
    params = QuickTestParameters.model_validate({"split": {"strategy": "time_holdout", "date_column": "ts"}})
    assert isinstance(params.split, TimeHoldoutSplit) and params.split.holdout_days == 7
    params = QuickTestParameters.model_validate({"split": {"strategy": "strict_time", "date_column": "ts"}})
    assert isinstance(params.split, StrictTimeSplit)
    assert isinstance(QuickTestParameters().split, RandomSplit)


def test_experiment_defaults_and_number() -> None:
    dataset = Dataset.model_validate(dataset_values())
    features = FeatureConfig.model_validate(features_values())
    model = ModelConfig(name="m")
    base = {
        "name": "first", "dataset_id": dataset.id, "feature_config_id": features.id, "model_config_id": model.id,
        "dataset_snapshot": dataset, "feature_config_snapshot": features, "model_config_snapshot": model,
        "parameters": QuickTestParameters(),
    }
    experiment = Experiment(number=9, **base)
    assert experiment.label == "Exp #9"
    assert experiment.status is Status.PENDING
    assert list(experiment.stages) == list(STAGE_ORDER)
    assert all(s.status is StageStatus.PENDING for s in experiment.stages.values())
    assert Experiment.model_validate(experiment.to_document()) == experiment
    errors = errors_of(Experiment, number=0, **base)
    assert errors == [("number", "Input should be greater than or equal to 1")]


def test_assignment_is_validated() -> None:
    model = ModelConfig(name="m")
    with pytest.raises(ValidationError, match="epochs"):
        model.epochs = 0
    column = Column(name="user_id", type="string")
    with pytest.raises(ValidationError, match="is not a valid name"):
        column.name = INJECTION
    assert TableSource(kind="bigquery", uri="p.d.t").uri == "p.d.t"
