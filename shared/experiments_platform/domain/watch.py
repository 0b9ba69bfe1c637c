"""Watched datasets: quick tests pinned to a dataset, run again when its source changes (issue 13).

A ``Watch`` pins one quick test (the configs and parameters of a completed experiment, or configs
named directly) to a dataset. Each change of the dataset's source (``Dataset.source_changes``: a
Cloud Storage object finalized, a BigQuery table's data changed, a local file rewritten) starts the
pinned quick test again through the admission queue; the watch keeps its runs, newest last.

``drift`` puts a run against the one before it, so drift is seen before a full training:

* the metrics, each difference in percentage points for rates, with a noise verdict where both runs
  kept their per-buyer test hits. The two runs rank different test sets (the data changed), so the
  paired bootstrap of decision 065 does not apply: each run's test buyers are resampled on their own
  (``independent_interval``), the interval of the difference covering which buyers each test split
  happened to draw. Training noise (seeds) is not in it: a seed group says how large that is;
* the data the launch check counted (``DataCheck``): rows of the dataset, interactions and distinct
  buyers per split, distinct products (the candidate corpus), and the test split's cold-start
  (out-of-vocabulary) shares of interactions whose buyer or product the training split lacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from experiments_platform.domain import metrics
from experiments_platform.domain.base import Document, DomainModel, Timestamp, utcnow
from experiments_platform.domain.launch import DataCheck
from experiments_platform.domain.metrics_report import final_metrics
from experiments_platform.domain.noise import (
    CONFIDENCE,
    DEFAULT_RESAMPLES,
    VERDICT_TEXT,
    BuyerHits,
    recall_metric_parts,
    verdict,
)

if TYPE_CHECKING:
    import numpy as np

RunTrigger = Literal["pinned", "source_change"]
KEEP_RUNS = 50
DRIFT_METRICS = tuple(f"recall_at_{k}{suffix}" for suffix in ("", f"_{metrics.EXCLUDING_TRAIN_ITEMS}")
                      for k in metrics.RECALL_KS)


class WatchRun(DomainModel):
    """One run of a watch's quick test: the experiment started, or why the launch was refused."""

    at: Timestamp = Field(default_factory=utcnow)
    trigger: RunTrigger
    experiment_id: str | None = Field(default=None, description="the quick test started (None when refused)")
    number: int | None = Field(default=None, description="its Exp #N")
    event_id: str = Field(default="", description="the source change that started it")
    rows: int | None = Field(default=None, ge=0, description="the dataset's rows when it started")
    refused: str | None = Field(default=None, description="why the launch check refused it on the new data")


class Watch(Document):
    """A quick test pinned to a dataset: run again on every change of the dataset's source."""

    dataset_id: str = Field(min_length=1)
    feature_config_id: str = Field(min_length=1)
    model_config_id: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict, description="the quick test's parameters")
    pinned_from: str | None = Field(default=None, description="the completed experiment the pin was made from")
    created_by: str | None = None
    runs: list[WatchRun] = Field(default_factory=list, description="newest last")

    def has_run_for(self, event_id: str) -> bool:
        return bool(event_id) and any(r.event_id == event_id for r in self.runs)

    def add(self, run: WatchRun) -> None:
        self.runs = [*self.runs, run][-KEEP_RUNS:]


def independent_interval(a: BuyerHits, b: BuyerHits, variant: str, k: int, *, resamples: int = DEFAULT_RESAMPLES,
                         seed: int = 0, confidence: float = CONFIDENCE) -> tuple[float, float, float] | None:
    """``(difference, low, high)`` of recall(b) − recall(a) (fractions) for two different test sets:
    each run's buyers resampled with replacement on their own; None without hits at ``k``."""
    import numpy as np  # only here: the services' images without numpy import this module

    va, vb = a.variants.get(variant), b.variants.get(variant)
    if va is None or vb is None or str(k) not in va.hits or str(k) not in vb.hits:
        return None
    rng = np.random.default_rng(seed)

    def recalls(interactions: Sequence[int], hits: Sequence[int]) -> tuple[float, np.ndarray] | None:
        n, h = np.asarray(interactions, dtype=np.float64), np.asarray(hits, dtype=np.float64)
        if not len(n) or n.sum() == 0:
            return None
        counts = rng.multinomial(len(n), np.full(len(n), 1.0 / len(n)), size=resamples).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(h.sum() / n.sum()), counts @ h / (counts @ n)

    ra, rb = recalls(va.interactions, va.hits[str(k)]), recalls(vb.interactions, vb.hits[str(k)])
    if ra is None or rb is None:
        return None
    diffs = rb[1] - ra[1]
    diffs = diffs[np.isfinite(diffs)]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return rb[0] - ra[0], float(low), float(high)


def data_statistics(experiment: Mapping[str, Any]) -> dict[str, float | int | None]:
    """What the launch check counted on the data a quick test ran on (None where it was not counted)."""
    check = DataCheck.model_validate(experiment.get("data_check") or {})
    train, test = check.split("train"), check.split("test")
    snapshot = experiment.get("dataset_snapshot") or {}

    def share(part: int) -> float | None:
        return part / test.interactions if test.interactions else None

    return {
        "rows": snapshot.get("row_count"),
        "train_interactions": train.interactions, "test_interactions": test.interactions,
        "train_buyers": train.buyers, "test_buyers": test.buyers, "products": check.corpus_size,
        "test_cold_buyer_share": share(test.cold_buyer_interactions),
        "test_cold_product_share": share(test.cold_item_interactions),
    }


DATA_LABELS = {
    "rows": ("Dataset rows", "count"), "train_interactions": ("Train interactions", "count"),
    "test_interactions": ("Test interactions", "count"), "train_buyers": ("Distinct train buyers", "count"),
    "test_buyers": ("Distinct test buyers", "count"), "products": ("Distinct products (corpus)", "count"),
    "test_cold_buyer_share": ("Test interactions of buyers unseen in training (OOV)", "share"),
    "test_cold_product_share": ("Test interactions of products unseen in training (OOV)", "share"),
}


def _data_rows(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, (label, kind) in DATA_LABELS.items():
        old, new = before.get(key), after.get(key)
        change: float | None = None
        if old is not None and new is not None:
            change = (new - old) * 100 if kind == "share" else new - old
        relative = (new - old) / old * 100 if kind == "count" and old and new is not None else None
        rows.append({"key": key, "label": label, "kind": kind, "previous": old, "value": new,
                     "change": change, "change_percent": relative})
    return rows


HitsByExperiment = Mapping[str, BuyerHits | None]


def _metric_rows(before: Mapping[str, Any], after: Mapping[str, Any], hits_before: BuyerHits | None,
                 hits_after: BuyerHits | None) -> list[dict[str, Any]]:
    old, new = final_metrics(before.get("results")), final_metrics(after.get("results"))
    rows = []
    for name in DRIFT_METRICS:
        if name not in old or name not in new:
            continue
        spec = metrics.spec(name)
        scale = 100 if spec.is_rate else 1
        low = high = None
        parts = recall_metric_parts(name, metrics.EXCLUDING_TRAIN_ITEMS)
        if parts is not None and hits_before is not None and hits_after is not None:
            interval = independent_interval(hits_before, hits_after, *parts)
            if interval is not None:
                low, high = interval[1] * scale, interval[2] * scale
        v = verdict(low, high, spec.direction)
        rows.append({"metric": name, "label": spec.label, "previous": old[name], "value": new[name],
                     "difference_pp": (new[name] - old[name]) * scale, "low_pp": low, "high_pp": high,
                     "verdict": v, "verdict_text": VERDICT_TEXT[v]})
    return rows


def drift(before: Mapping[str, Any], after: Mapping[str, Any], hits: HitsByExperiment) -> dict[str, Any]:
    """The later run ``after`` against ``before``: metric rows (pp, verdict) and data rows, with a summary."""
    metric_rows = _metric_rows(before, after, hits.get(before["id"]), hits.get(after["id"]))
    data_before, data_after = data_statistics(before), data_statistics(after)
    head = next((r for r in metric_rows if r["metric"] == metrics.PRIMARY_METRIC), None)
    parts = []
    if head is not None:
        change = metrics.spec(head["metric"]).display_change(head["value"] - head["previous"])
        parts.append(f"{head['label']} {change} ({head['verdict_text']})")
    if data_before["rows"] is not None and data_after["rows"] is not None:
        parts.append(f"rows {data_before['rows']:,} → {data_after['rows']:,}")
    share_before, share_after = data_before["test_cold_product_share"], data_after["test_cold_product_share"]
    if share_before is not None and share_after is not None:
        parts.append(f"cold-start products in test {share_before * 100:.1f} % → {share_after * 100:.1f} %")
    return {"previous": {"id": before["id"], "number": before.get("number")},
            "current": {"id": after["id"], "number": after.get("number")},
            "metrics": metric_rows, "data": _data_rows(data_before, data_after),
            "summary": f"Exp #{after.get('number')} vs Exp #{before.get('number')}: " + "; ".join(parts)}


def latest_pair(runs: Sequence[WatchRun], completed: Mapping[str, Mapping[str, Any]]
                ) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """The two newest runs whose experiments completed (older, newer), or None."""
    done = [completed[r.experiment_id] for r in runs if r.experiment_id and r.experiment_id in completed]
    return (done[-2], done[-1]) if len(done) >= 2 else None
