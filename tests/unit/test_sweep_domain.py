"""Sweep axes and cells (decision 066): what each axis changes, the cells' keys, the request's bounds."""

from __future__ import annotations

import pytest
from experiments_platform.domain.sweep import SweepRequest, apply_axis, cell_key, value_text
from pydantic import ValidationError


def _docs() -> tuple[dict, dict, dict]:
    features = {"query_features": [{"column": "user_id", "kind": "id", "embedding_dim": 32},
                                   {"column": "city", "kind": "categorical", "embedding_dim": 8}],
                "candidate_features": [{"column": "item_id", "kind": "id", "embedding_dim": 32}],
                "cross_features": [{"tower": "query", "columns": ["user_id", "city"]}]}
    return {}, {"query_tower_layers": [64], "candidate_tower_layers": [64]}, features


def test_each_axis_changes_what_it_names():
    parameters, model, features = _docs()
    apply_axis("learning_rate", 0.05, parameters, model, features)
    apply_axis("tower_layers", [128, 64], parameters, model, features)
    apply_axis("embedding_dims", 16, parameters, model, features)
    assert parameters == {"learning_rate": 0.05}
    assert model == {"query_tower_layers": [128, 64], "candidate_tower_layers": [128, 64]}
    assert [f["embedding_dim"] for f in features["query_features"]] == [16, 8], "id features only"
    assert features["candidate_features"][0]["embedding_dim"] == 16


def test_a_feature_axis_switches_the_feature_and_its_crosses_off():
    parameters, model, features = _docs()
    apply_axis("feature:query.city", True, parameters, model, features)
    assert len(features["query_features"]) == 2 and features["cross_features"]
    apply_axis("feature:query.city", False, parameters, model, features)
    assert [f["column"] for f in features["query_features"]] == ["user_id"] and features["cross_features"] == []
    with pytest.raises(ValueError, match="true or false"):
        apply_axis("feature:query.city", "maybe", parameters, model, features)


def test_cells_are_the_product_of_the_axes_and_keys_read_as_values():
    request = SweepRequest(name="s", feature_config_id="f", model_config_id="m", repeats=2, axes=[
        {"field": "learning_rate", "values": [0.05, 0.1]}, {"field": "tower_layers", "values": [[64], [128, 64]]},
        {"field": "feature:query.city", "values": [True, False]}])
    cells = request.cells()
    assert len(cells) == 8
    assert cell_key(cells[-1]) == "learning_rate=0.1,tower_layers=128→64,feature:query.city=off"
    assert cell_key({}) == "-" and value_text(2.0) == "2" and value_text(None) == "none"


@pytest.mark.parametrize(("change", "words"), [
    ({"axes": [], "repeats": 1}, "seed group"),
    ({"axes": [{"field": "epochs", "values": [1]}]}, "at least 2"),
    ({"axes": [{"field": "epochs", "values": [1, 2]}, {"field": "epochs", "values": [3, 4]}]}, "once"),
    ({"axes": [{"field": f"f{i}", "values": [1, 2]} for i in range(4)]}, "at most 3"),
    ({"repeats": 11, "axes": []}, "less than or equal to 10"),
])
def test_request_bounds(change, words):
    with pytest.raises(ValidationError, match=words):
        SweepRequest.model_validate({"name": "s", "feature_config_id": "f", "model_config_id": "m", **change})
