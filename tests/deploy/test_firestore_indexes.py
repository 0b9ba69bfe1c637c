"""Terraform declares exactly the Firestore composite indexes the platform's queries need."""

from __future__ import annotations

import json

from deploy_model import firestore_indexes
from experiments_platform.ports.documents import Filter, Order
from firestore_queries import Query, indexes_for, record_queries, required_indexes

REWRITE = "rewrite it with: .venv/bin/python tests/deploy/firestore_queries.py"


def keys(indexes: list[dict]) -> set[str]:
    return {json.dumps(index, sort_keys=True) for index in indexes}


def test_indexes_json_is_what_the_queries_need() -> None:
    needed, declared = keys(required_indexes(record_queries())), keys(firestore_indexes())
    assert not needed - declared, f"queries need indexes Terraform lacks: {sorted(needed - declared)}; {REWRITE}"
    assert not declared - needed, f"Terraform declares indexes no query uses: {sorted(declared - needed)}; {REWRITE}"


def test_the_recorder_sees_the_queries_of_every_handler() -> None:
    collections = {q.collection for q in record_queries()}
    assert {"experiments", "datasets", "feature_configs", "model_configs"} <= collections


def test_index_rules() -> None:
    equality_only = Query("experiments", (Filter("dataset_id", "==", "d"), Filter("status", "==", "completed")), ())
    one_order = Query("experiments", (), (Order("created_at", "desc"),))
    filtered_order = Query("experiments", (Filter("status", "in", ["a", "b"]), Filter("dataset_id", "==", "d")),
                           (Order("updated_at", "desc"),))
    two_orders = Query("experiments", (), (Order("created_at", "desc"), Order("number", "desc")))
    ranged = Query("experiments", (Filter("status", "==", "running"), Filter("created_at", ">", "t")), ())

    assert indexes_for(equality_only) == []
    assert indexes_for(one_order) == []
    assert indexes_for(filtered_order) == [
        {"collection": "experiments", "fields": [{"field": "status", "order": "ASCENDING"},
                                                 {"field": "updated_at", "order": "DESCENDING"}]},
        {"collection": "experiments", "fields": [{"field": "dataset_id", "order": "ASCENDING"},
                                                 {"field": "updated_at", "order": "DESCENDING"}]},
    ]
    assert indexes_for(two_orders) == [
        {"collection": "experiments", "fields": [{"field": "created_at", "order": "DESCENDING"},
                                                 {"field": "number", "order": "DESCENDING"}]},
    ]
    assert indexes_for(ranged) == [
        {"collection": "experiments", "fields": [{"field": "status", "order": "ASCENDING"},
                                                 {"field": "created_at", "order": "ASCENDING"}]},
    ]
