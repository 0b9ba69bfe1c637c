from __future__ import annotations

import pytest
from experiments_platform.domain.pipeline_spec import QuickTestSpec, SplitQueries, data_pipeline_name
from pydantic import ValidationError

from .factories import make_spec


def test_spec_round_trips_through_json(tmp_path):
    spec = make_spec(tmp_path)
    assert QuickTestSpec.from_json(spec.to_json()) == spec
    assert spec.machine.machine_type == "n1-standard-4"


@pytest.mark.parametrize("name", ["QT-upper", "-leading-dash", "has_underscore", "x" * 129, ""])
def test_pipeline_name_rule_names_the_field(tmp_path, name):
    with pytest.raises(ValidationError) as err:
        make_spec(tmp_path, pipeline_name=name)
    assert "pipeline_name" in str(err.value)
    assert "[a-z0-9][a-z0-9-]{0,127}" in str(err.value)


def test_pipeline_name_depends_on_data_only():
    queries = SplitQueries(dialect="duckdb", train="a", eval="b", test="c", candidates="d")
    name = data_pipeline_name("ds", queries)
    assert name == data_pipeline_name("ds", queries.model_copy())
    assert name != data_pipeline_name("ds", queries.model_copy(update={"test": "c2"}))
    assert name != data_pipeline_name("other", queries)
    assert len(name) <= 128 and name.startswith("qt-")


def test_id_columns_must_be_tower_features(tmp_path):
    with pytest.raises(ValidationError, match="candidate_id_column: 'title' is not a candidate tower feature"):
        make_spec(tmp_path, candidate_id_column="title")


def test_injection_payload_is_rejected_as_a_name(tmp_path):
    with pytest.raises(ValidationError, match="not a valid name"):
        make_spec(tmp_path, query_id_column="x'); import os; os.system('id') #")


def test_uris_must_be_file_or_gs(tmp_path):
    with pytest.raises(ValidationError, match="pipeline_root"):
        make_spec(tmp_path, pipeline_root="/relative/path")
