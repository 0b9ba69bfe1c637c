"""The typed metrics report: what the trainer writes as ``metrics.json`` and the services read.

One model in both environments (the pipeline writes it, the status watcher validates it and the
experiment document keeps it as ``results``). Two levels of checking:

- *well-formed* (``MetricsReport.model_validate``): every section present has the right shape and
  every metric is a finite number. Sections are optional, so that the ``results`` of experiments
  stored before this model (today's shape, or a flat dict of metrics) still read.
- *complete* (``check_complete``): what the evaluator demands before it publishes: the headline
  metrics, only catalogued final metrics, the per-epoch history, recall and protocol sections.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from experiments_platform.domain import metrics
from experiments_platform.errors import PlatformError


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value}")
    return value


Finite = Annotated[float, AfterValidator(_finite)]
Metrics = dict[str, Finite]
REPORT_VERSION = 1


class IncompleteReport(PlatformError):
    """A report that is well-formed but lacks what the platform shows (raised by the evaluator)."""

    code = "METRICS_INCOMPLETE"


class MalformedReport(PlatformError):
    """``metrics.json`` that is not a metrics report (not JSON, or a section of the wrong shape)."""

    code = "METRICS_MALFORMED"


class _Section(BaseModel):
    """A part of the report: immutable, unknown keys refused, absent (None) fields left out when dumped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # No return annotation: pydantic then describes the model itself in JSON Schema (the OpenAPI
        # document), where an annotation would reduce it to "any object".
        return {k: v for k, v in handler(self).items() if v is not None}


class EpochMetrics(_Section):
    """One epoch of training: its number (from 1) and the catalogue's history metrics."""

    model_config = ConfigDict(extra="allow", frozen=True)

    epoch: int = Field(ge=0)

    @model_validator(mode="after")
    def _finite_values(self) -> EpochMetrics:
        for name, value in (self.model_extra or {}).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name}: must be a finite number, got {value!r}")
        return self

    def values(self) -> dict[str, float]:
        return {name: float(value) for name, value in (self.model_extra or {}).items()}


class RecallVariant(_Section):
    """Model and popularity recall@k (keys: k as text) under one ranking variant."""

    model: Metrics = Field(default_factory=dict)
    popularity: Metrics = Field(default_factory=dict)
    evaluated_interactions: int = Field(default=0, ge=0)
    dropped_interactions: int = Field(default=0, ge=0)


class CorpusPoint(_Section):
    """Model and popularity recall@k (keys: k as text), each test item ranked against a seeded sample of the
    corpus plus itself: ``percent`` of the candidates, ``corpus_size`` of them (decision 079)."""

    percent: int = Field(gt=0, le=100)
    corpus_size: int = Field(ge=0)
    model: Metrics = Field(default_factory=dict)
    popularity: Metrics = Field(default_factory=dict)


class RecallSection(_Section):
    all_items: RecallVariant | None = None
    excluding_train_items: RecallVariant | None = None
    per_buyer: RecallVariant | None = Field(default=None, description=(
        "recall@k per test buyer, mean over buyers, training and validation items masked (decision 063)"))
    buyers_evaluated: int | None = Field(default=None, ge=0)
    known_buyers: Metrics | None = Field(default=None,
                                         description="per-interaction recall@k of buyers seen in training")
    cold_buyers: Metrics | None = Field(default=None, description="per-interaction recall@k of cold-start buyers")
    test_cold_buyer_rate: Finite | None = Field(default=None, ge=0, le=1)
    test_cold_item_rate: Finite | None = Field(default=None, ge=0, le=1)
    positives_outside_corpus: int | None = Field(default=None, ge=0)
    random_recall_at_100: Finite | None = None
    corpus_curve: list[CorpusPoint] | None = Field(default=None, description=(
        "recall@k (all items, per interaction) as the corpus grows: each test item ranked against seeded, nested "
        "samples of the corpus plus itself, smallest first, the last the whole corpus (decision 079)"))


class VocabularyEntry(_Section):
    """Vocabulary size and OOV rate on the evaluation split of one id, categorical or text feature."""

    tower: str | None = None
    column: str | None = None
    kind: str | None = None
    vocab_size: int = Field(ge=0)
    oov_rate: Finite = Field(ge=0, le=1)
    values_counted: int | None = Field(default=None, ge=0)
    split: str | None = None


class Protocol(_Section):
    """How the numbers were produced: the split queries' protocol plus what the trainer counted."""

    model_config = ConfigDict(extra="allow", frozen=True)

    split_strategy: str | None = None
    corpus_size: int | None = Field(default=None, ge=0)
    test_interactions: int | None = Field(default=None, ge=0)
    rows: dict[str, int] = Field(default_factory=dict)
    ks: list[int] = Field(default_factory=list)
    sampling_bias_correction: bool | None = None
    description: str | None = None


class TrainingSection(_Section):
    """How the epochs ran: a quick test's fixed epochs, or a full training's early stopping (decision 071)."""

    run_kind: Literal["quick_test", "full_training"] = "quick_test"
    epochs_run: int = Field(ge=0)
    max_epochs: int | None = Field(default=None, ge=1)
    patience: int | None = Field(default=None, ge=1)
    monitor: str | None = Field(default=None, description="the history metric early stopping watched")
    best_epoch: int | None = Field(default=None, ge=1, description="the epoch whose weights were restored and exported")
    best_value: Finite | None = None
    early_stopped: bool | None = Field(default=None, description="stopped before max_epochs for lack of improvement")
    source_experiment_id: str | None = Field(default=None, description="the quick test the full training came from")
    prior_weight: Finite | None = Field(default=None, description=(
        "full training: the popularity prior's weight chosen on the validation split (decision 060, amendment 3)"))
    cold_prior_weight: Finite | None = Field(default=None, description=(
        "full training: the prior's weight of cold-start test buyers in the evaluation (None: no cold-start buyer)"))
    served_prior_weight: Finite | None = Field(default=None, description=(
        "full training: the prior's weight inside the exported model, for every buyer (the known buyers' weight)"))


class MetricsReport(_Section):
    """``metrics.json``: final metrics under catalogue names, history, recall, vocabularies, protocol."""

    version: int = REPORT_VERSION
    experiment_id: str | None = None
    experiment_number: int | None = None
    pipeline_name: str | None = None
    mlflow_run_id: str | None = None
    mlflow_experiment_id: str | None = None
    final: Metrics = Field(default_factory=dict, description="final metrics under their catalogue names")
    history: list[EpochMetrics] = Field(default_factory=list)
    recall: RecallSection | None = None
    vocabularies: dict[str, VocabularyEntry] = Field(default_factory=dict)
    protocol: Protocol | None = None
    timings: Metrics = Field(default_factory=dict)
    training: TrainingSection | None = None

    @model_validator(mode="before")
    @classmethod
    def _flat_legacy_shape(cls, data: Any) -> Any:
        """A flat dict of metrics (results stored before ``final`` existed) reads as its ``final``."""
        if isinstance(data, Mapping) and "final" not in data and not set(data) & set(cls.model_fields):
            return {"final": {k: v for k, v in data.items() if not isinstance(v, bool)}}
        return data

    def metric(self, name: str) -> float | None:
        """A metric by catalogue name, wherever the report keeps it (final, recall, protocol, timings)."""
        where = metrics.spec(name).source
        if where == "final" or name in self.final:
            return self.final.get(name)
        if where == "timings":
            return self.timings.get(name)
        if where == "recall" and self.recall is not None:
            value = getattr(self.recall, name, None)
            return float(value) if value is not None else None
        if where == "protocol" and self.protocol is not None:
            value = getattr(self.protocol, name, None)
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if where == "history" and self.history:
            last = self.history[-1].values()
            return last.get(name)
        return None

    def check_complete(self) -> None:
        """``IncompleteReport`` naming what the evaluator would otherwise publish without."""
        missing = [name for name in metrics.REQUIRED_FINAL if name not in self.final]
        if missing:
            raise IncompleteReport(f"final metrics {missing} are missing", field="final")
        unknown = sorted(name for name in self.final if not metrics.is_known(name))
        if unknown:
            raise IncompleteReport(f"final metrics {unknown} are not in the metric catalogue "
                                   "(experiments_platform.domain.metrics); add them there", field="final")
        if not self.history:
            raise IncompleteReport("the per-epoch history is empty", field="history")
        unknown_history = sorted({n for row in self.history for n in row.values() if not metrics.is_known(n)})
        if unknown_history:
            raise IncompleteReport(f"history metrics {unknown_history} are not in the metric catalogue",
                                   field="history")
        for section in ("recall", "protocol"):
            if getattr(self, section) is None:
                raise IncompleteReport(f"{section} is missing", field=section)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def to_document(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def final_metrics(results: MetricsReport | Mapping[str, Any] | None) -> dict[str, float]:
    """The final metrics of a report or of a stored ``results`` dict, without validating the rest of it.

    For views over many documents (dashboard, export), where validating whole reports would cost
    more than the view itself. Reads ``final`` or, for results stored before it, the flat dict.
    """
    if isinstance(results, MetricsReport):
        return dict(results.final)
    if not results:
        return {}
    final = results.get("final")
    holder = final if isinstance(final, Mapping) else results
    return {k: float(v) for k, v in holder.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def parse_report(raw: bytes | str, source: str) -> MetricsReport:
    """The report in ``raw`` (JSON text), or ``MalformedReport`` naming ``source`` and the bad fields."""
    from pydantic import ValidationError

    try:
        return MetricsReport.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(document)'}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise MalformedReport(f"{source} is not a metrics report: {problems}", field="metrics") from None
