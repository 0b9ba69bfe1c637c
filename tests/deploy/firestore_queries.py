"""The Firestore queries the platform makes, recorded from its own handlers, and the indexes they need.

Run as a script to rewrite ``terraform/modules/firestore/indexes.json`` after a query changes:
``.venv/bin/python tests/deploy/firestore_queries.py``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from experiments_platform.bootstrap import Platform
from experiments_platform.config import load_settings
from experiments_platform.handlers import configs, dashboard, experiments, reconcile, results
from experiments_platform.ports.documents import Doc, Filter, Order, Transaction

INDEXES_JSON = Path(__file__).resolve().parents[2] / "terraform" / "modules" / "firestore" / "indexes.json"
EQUALITY = {"==", "in"}
DIRECTION = {"asc": "ASCENDING", "desc": "DESCENDING"}


class Query(NamedTuple):
    collection: str
    filters: tuple[Filter, ...]
    order_by: tuple[Order, ...]


class RecordingStore:
    """A document store that answers every read with nothing and remembers each query's shape."""

    def __init__(self) -> None:
        self.queries: list[Query] = []

    def get(self, collection: str, doc_id: str) -> Doc | None:
        return None

    def create(self, collection: str, doc_id: str, data: Doc) -> None:
        return None

    def set(self, collection: str, doc_id: str, data: Doc) -> None:
        return None

    def delete(self, collection: str, doc_id: str) -> bool:
        return False

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Doc]:
        self.queries.append(Query(collection, tuple(Filter(*f) for f in filters), tuple(Order(*o) for o in order_by)))
        return []

    def run_transaction(self, fn: Callable[[Transaction], Any]) -> Any:
        return fn(self)  # type: ignore[arg-type]


def record_queries() -> list[Query]:
    """Every query shape the handlers can produce, made by calling them."""
    store = RecordingStore()
    statuses = [None, "running", "completed,failed"]
    ids = [None, "x"]
    sorts = [f"{sign}{field}" for field in experiments.SORTABLE for sign in ("", "-")]
    for status, dataset, feature, model, sort in itertools.product(statuses, ids, ids, ids, sorts):
        experiments.list_experiments(
            store, status=status, dataset_id=dataset, feature_config_id=feature, model_config_id=model, sort=sort
        )
    experiments.selectable_experiments(store)
    for dataset in ids:
        dashboard.load_experiments(store, dataset)
    for kind in (configs.DATASETS, configs.FEATURE_CONFIGS, configs.MODEL_CONFIGS):
        configs.list_documents(store, kind)
    configs.list_documents(store, configs.FEATURE_CONFIGS, [Filter("dataset_id", "==", "x")])  # ?dataset_id=
    reconcile.reconcile(Platform(load_settings({}), documents=store))
    store.queries.append(_previous_best_query())
    return store.queries


def _previous_best_query() -> Query:
    """The query of ``compare_with_previous_best``."""
    store = RecordingStore()
    results.compare_with_previous_best(store, "e", "x", {"final": {results.PRIMARY_METRIC: 0.5}})
    [query] = store.queries
    return query


def indexes_for(query: Query) -> list[dict[str, Any]]:
    """Composite indexes Firestore needs for one query, relying on its merging of equality indexes.

    Equality-only queries and queries ordering on one field alone use the automatic single-field
    indexes. An ordering after equality filters needs, for each filtered field, an index of that
    field followed by the orderings; Firestore merges them for combined filters.
    """
    equality = [f.field for f in query.filters if f.op in EQUALITY]
    ranges = [f.field for f in query.filters if f.op not in EQUALITY and f.op != "array_contains"]
    orders = [(o.field, o.direction) for o in query.order_by if o.field not in equality]
    for field in ranges:
        if field not in [name for name, _ in orders]:
            orders.insert(0, (field, "asc"))
    ordered = [{"field": name, "order": DIRECTION[direction]} for name, direction in orders]
    if not equality:
        return [{"collection": query.collection, "fields": ordered}] if len(ordered) >= 2 else []
    if not ordered:
        return []
    return [
        {"collection": query.collection, "fields": [{"field": field, "order": "ASCENDING"}, *ordered]}
        for field in dict.fromkeys(equality)
    ]


def required_indexes(queries: Sequence[Query]) -> list[dict[str, Any]]:
    unique: dict[str, dict[str, Any]] = {}
    for query in queries:
        for index in indexes_for(query):
            unique[json.dumps(index, sort_keys=True)] = index
    return [unique[key] for key in sorted(unique)]


if __name__ == "__main__":
    INDEXES_JSON.write_text(json.dumps(required_indexes(record_queries()), indent=1) + "\n")
    print(f"wrote {INDEXES_JSON}")
