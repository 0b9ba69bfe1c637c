"""No text from a config can become code: names are validated, values travel as data."""

from __future__ import annotations

import json

import pytest
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.pipeline_spec import QuickTestSpec
from experiments_platform.pipeline.feature_names import feature_name, tower_inputs
from pydantic import ValidationError

from .factories import make_spec

PAYLOADS = [
    "x'); import os; os.system('id') #",
    "__import__('os').system('id')",
    "a; DROP TABLE t",
    "user_id\nimport os",
    "{{7*7}}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_feature_config_rejects_payload_names(payload):
    with pytest.raises(ValidationError, match="not a valid name"):
        FeatureConfig(name="x", query_features=[{"kind": "id", "column": payload}],
                      candidate_features=[{"kind": "id", "column": "item_id"}])


@pytest.mark.parametrize("payload", PAYLOADS)
def test_tampered_spec_json_is_rejected_before_anything_runs(tmp_path, payload):
    document = json.loads(make_spec(tmp_path).to_json())
    document["features"]["query_features"][0]["column"] = payload
    document["query_id_column"] = payload
    with pytest.raises(ValidationError, match="not a valid name"):
        QuickTestSpec.from_json(json.dumps(document))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_transform_config_is_validated_in_the_preprocessing_fn(payload):
    from experiments_platform.pipeline.preprocessing import preprocessing_fn

    config = {
        "features": {"query_features": [{"kind": "id", "column": payload}],
                     "candidate_features": [{"kind": "id", "column": "item_id"}], "cross_features": []},
        "query_id_column": "user_id", "candidate_id_column": "item_id",
    }
    with pytest.raises(ValidationError, match="not a valid name"):
        preprocessing_fn({}, config)


def test_derived_names_refuse_unvalidated_text():
    with pytest.raises(ValueError, match="not a valid name"):
        feature_name("query", PAYLOADS[0])


def test_pipeline_refers_to_fixed_module_paths_only(tmp_path):
    from experiments_platform.pipeline.compile import compile_local

    spec = make_spec(tmp_path)
    ir = compile_local(spec)
    assert "experiments_platform.pipeline.preprocessing.preprocessing_fn" in ir
    assert "experiments_platform.pipeline.trainer.run_fn" in ir
    assert "module_file" not in ir


def test_inputs_follow_the_config_values():
    config = FeatureConfig(
        name="f",
        query_features=[{"kind": "id", "column": "u", "embedding_dim": 8, "oov_buckets": 2},
                        {"kind": "timestamp", "column": "ts", "buckets": 5, "embedding_dim": 3}],
        candidate_features=[{"kind": "text", "column": "title", "max_tokens": 4},
                            {"kind": "numeric", "column": "price"}],
        cross_features=[{"tower": "query", "columns": ["u", "ts"], "hash_buckets": 10, "embedding_dim": 2}],
    )
    query = tower_inputs(config, "query", {"query__u": 100})
    assert [(i.name, i.kind, i.size, i.dim, i.width) for i in query] == [
        ("query__u", "embedding", 102, 8, 1),
        ("query__ts__z", "dense", 0, 0, 1),
        ("query__ts__cyclic", "dense", 0, 0, 4),
        ("query__ts__bucket", "embedding", 6, 3, 1),
        ("query__u_x_ts__cross", "embedding", 10, 2, 1),
    ]
    candidate = tower_inputs(config, "candidate", {"candidate__title": 50})
    assert [(i.name, i.kind, i.size, i.width) for i in candidate] == [
        ("candidate__title", "bag", 52, 4), ("candidate__price", "dense", 0, 1)]
