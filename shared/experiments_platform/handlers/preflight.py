"""The launch check: what a quick test would see, measured before any compute (decision 061).

``check_launch`` runs at ``POST /api/experiments`` and at the estimate: tower widths from the
configs; the dataset's table as it is now (the warehouse's ``describe``) against the
registration rules (``data.registration.check_columns``) and the query model
(``sql.build_query_plan``); then one count query per launch (``sql.counts``) whose answer the
rules of ``domain.preflight`` refuse or warn about. A refusal is an ``InvalidInput`` naming the
request field to change (``model_config_id``, ``dataset_id``, ``feature_config_id``,
``parameters.…``); the counts, the warnings and the run's protocol are kept on the experiment.
"""

from __future__ import annotations

from dataclasses import dataclass

from experiments_platform.data.registration import check_columns
from experiments_platform.domain.dataset import Dataset, FeatureTable
from experiments_platform.domain.experiment import QuickTestParameters
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.launch import DataCheck, LaunchWarning, RunProtocol
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.preflight import Minimums, check_counts, check_towers
from experiments_platform.domain.protocol import run_protocol
from experiments_platform.errors import InvalidInput
from experiments_platform.jsonlog import fields, get_logger
from experiments_platform.ports.warehouse import Warehouse
from experiments_platform.sql import build_query_plan
from experiments_platform.sql.counts import render_count_query, split_counts

log = get_logger(__name__)
_FEATURE_FIELDS = ("query_features", "candidate_features", "cross_features")


@dataclass(frozen=True)
class LaunchCheck:
    data: DataCheck
    warnings: list[LaunchWarning]
    protocol: RunProtocol


def live_dataset(warehouse: Warehouse, dataset: Dataset) -> Dataset:
    """The dataset with the columns and row counts its tables have now (``Warehouse.describe``)."""
    columns, row_count = warehouse.describe(dataset.source)
    update: dict[str, object] = {"columns": columns, "row_count": row_count}
    for side in ("buyer_features", "product_features"):
        table: FeatureTable | None = getattr(dataset, side)
        if table is not None:
            side_columns, side_rows = warehouse.describe(table.source)
            update[side] = table.model_copy(update={"columns": side_columns, "row_count": side_rows})
    return dataset.model_copy(update=update)


def _request_field(inner: str | None) -> str:
    """The start request's field for a problem the dataset or query model names (``query_features[0].column``)."""
    if inner and inner.startswith("parameters."):
        return inner
    if inner and inner.startswith(_FEATURE_FIELDS):
        return "feature_config_id"
    return "dataset_id"


def _as_launch_problem(problem: InvalidInput, dataset: Dataset, what: str) -> InvalidInput:
    field = _request_field(problem.field)
    where = f"{problem.field}: " if problem.field and problem.field != field else ""
    return InvalidInput(
        f"{field}: {what.format(name=repr(dataset.name))}: {where}{problem.message}",
        field=field, suggestions=problem.suggestions, details={"problem_field": problem.field, **problem.details},
    )


def check_launch(warehouse: Warehouse, dataset: Dataset, features: FeatureConfig, model: ModelConfig,
                 parameters: QuickTestParameters, minimums: Minimums) -> LaunchCheck:
    """Refuse (``InvalidInput``) a quick test that cannot give a meaningful result; else its counts,
    warnings and protocol."""
    check_towers(features, model)
    try:
        live = live_dataset(warehouse, dataset)
    except InvalidInput as exc:
        raise _as_launch_problem(exc, dataset, "cannot read the table of dataset {name} as it is now") from None
    try:
        check_columns({c.name: c.type for c in live.columns}, live.query_id_column, live.candidate_id_column,
                      live.date_column)
        plan = build_query_plan(live, features, parameters)
    except InvalidInput as exc:
        raise _as_launch_problem(exc, dataset, "the table of dataset {name} as it is now does not fit") from None
    data = split_counts(warehouse.query(render_count_query(plan, warehouse.dialect)))
    warnings = check_counts(data, parameters, minimums, dataset.name, dataset.candidate_id_column)
    protocol = run_protocol(dataset.id, dataset.name, dataset.candidate_id_column, parameters)
    log.info("launch checked", extra=fields(dataset_id=dataset.id, protocol=protocol.key,
                                            corpus_size=data.corpus_size, warnings=[w.code for w in warnings]))
    return LaunchCheck(data=data, warnings=warnings, protocol=protocol)
