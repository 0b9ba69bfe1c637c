"""Decisions beyond noise: seed groups, paired intervals, "vs previous best" as a table, attribution.

- ``seed_groups``: the completed repeats of each seed group, per metric mean ± std (cards,
  leaderboard, heatmap and compare read it).
- ``paired_comparison``: two runs on the same split (one protocol): per recall metric the paired
  bootstrap interval of the difference over test buyers, from each run's ``test_hits.json``.
- ``noise_table``: an experiment against the best other run of its protocol, per metric:
  difference in percentage points, its interval (paired bootstrap when both runs have per-buyer
  hits; else Welch's from their seed groups) and better / within noise / worse.
- ``attribution_view``: across the completed runs of one protocol, per parameter its effect on the
  metric and share of variance (``domain.attribution``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from experiments_platform.domain import metrics
from experiments_platform.domain.attribution import attribute
from experiments_platform.domain.metrics import EXCLUDING_TRAIN_ITEMS, RECALL_KS
from experiments_platform.domain.metrics_report import final_metrics
from experiments_platform.domain.names import closest_names
from experiments_platform.domain.noise import (
    HITS_FILE,
    VERDICT_TEXT,
    BuyerHits,
    PairedInterval,
    Spread,
    interval_from_spreads,
    paired_interval,
    recall_metric_parts,
    spread,
    t_quantile_975,
    verdict,
)
from experiments_platform.domain.protocol import protocol_key, protocol_of
from experiments_platform.domain.status import Status
from experiments_platform.errors import InvalidInput, NotFound
from experiments_platform.handlers.dashboard import AXES, CHOICE_AXES, axis_text
from experiments_platform.ports.documents import Doc

TABLE_METRICS = tuple(f"recall_at_{k}{suffix}" for suffix in ("", f"_{EXCLUDING_TRAIN_ITEMS}") for k in RECALL_KS)
NOISE_TABLE_METRICS = (*TABLE_METRICS, "test_loss_per_example")
"""The "vs previous best" rows (the spec's results table): the recalls, then the loss per example (in its units)."""

HitsReader = Callable[[str], BuyerHits | None]


def _completed(docs: Sequence[Doc]) -> list[Doc]:
    return [d for d in docs if d.get("status") == Status.COMPLETED.value and d.get("results")]


def seed_group_of(doc: Mapping[str, Any]) -> str | None:
    sweep = doc.get("sweep")
    if not isinstance(sweep, Mapping) or int(sweep.get("repeats") or 1) < 2:
        return None
    return f"{sweep.get('sweep_id')}/{sweep.get('cell_key')}"


def seed_groups(docs: Sequence[Doc], metric_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Per seed group: its members, how many completed, and mean ± std of every final metric."""
    groups: dict[str, list[Doc]] = {}
    for d in docs:
        group = seed_group_of(d)
        if group:
            groups.setdefault(group, []).append(d)
    out = []
    for group, members in groups.items():
        completed = _completed(members)
        names = metric_names or sorted({m for d in completed for m in final_metrics(d.get("results"))},
                                       key=metrics.display_order)
        stats = {}
        for name in names:
            s = spread([v for d in completed if (v := final_metrics(d.get("results")).get(name)) is not None])
            if s is not None:
                stats[name] = s.to_document()
        sweep = members[0].get("sweep") or {}
        out.append({"id": group, "sweep_id": sweep.get("sweep_id"), "cell": sweep.get("cell") or {},
                    "repeats": sweep.get("repeats"), "experiment_ids": [d["id"] for d in members],
                    "numbers": sorted(d.get("number") or 0 for d in members), "completed": len(completed),
                    "protocol_key": protocol_key(members[0]), "metrics": stats})
    return {"items": out, "total": len(out)}


def _group_spread(docs: Sequence[Doc], doc: Doc, metric: str) -> Spread | None:
    group = seed_group_of(doc)
    if group is None:
        return None
    return spread([v for d in _completed(docs) if seed_group_of(d) == group
                   and (v := final_metrics(d.get("results")).get(metric)) is not None])


def _has(hits: BuyerHits, variant: str, k: int) -> bool:
    return variant in hits.variants and str(k) in hits.variants[variant].hits


def _interval(metric: str, a: Doc, b: Doc, docs: Sequence[Doc], hits: HitsReader) -> tuple[
        float, float | None, float | None, str]:
    """``(b − a, low, high, source)`` of one metric, in the metric's units."""
    va, vb = final_metrics(a.get("results")).get(metric), final_metrics(b.get("results")).get(metric)
    assert va is not None and vb is not None
    parts = recall_metric_parts(metric, EXCLUDING_TRAIN_ITEMS)
    if parts is not None and protocol_key(a) == protocol_key(b):
        ha, hb = hits(a["id"]), hits(b["id"])
        if ha is not None and hb is not None and _has(ha, *parts) and _has(hb, *parts):
            p = paired_interval(ha, hb, parts[0], parts[1], metric)
            return vb - va, p.low_pp / 100, p.high_pp / 100, "paired bootstrap over test buyers"
    sa, sb = _group_spread(docs, a, metric), _group_spread(docs, b, metric)
    if sa is not None and sb is not None and seed_group_of(a) == seed_group_of(b) and sa.std is not None:
        half = t_quantile_975(sa.n - 1) * sa.std * math.sqrt(2)  # two draws of one configuration
        return vb - va, vb - va - half, vb - va + half, "repeats of one seed group"
    if sa is not None and sb is not None:
        welch = interval_from_spreads(sa, sb)
        if welch is not None:
            return welch[0], welch[1], welch[2], "seed group means (Welch)"
    return vb - va, None, None, "none"


def paired_comparison(a: Doc, b: Doc, hits: HitsReader, metric_names: Sequence[str] = TABLE_METRICS
                      ) -> dict[str, Any]:
    """``b − a`` per recall metric with the paired bootstrap's 95 % interval (same split only)."""
    if protocol_key(a) != protocol_key(b):
        pa, pb = protocol_of(a), protocol_of(b)
        raise InvalidInput(
            f"experiment_ids: Exp #{a.get('number')} and Exp #{b.get('number')} were not evaluated on the same "
            f"split ({pa.label if pa else '?'} vs {pb.label if pb else '?'}); a paired interval needs one protocol",
            field="experiment_ids")
    ha, hb = hits(a["id"]), hits(b["id"])
    missing = [f"Exp #{d.get('number')}" for d, h in ((a, ha), (b, hb)) if h is None]
    if missing or ha is None or hb is None:
        raise NotFound(f"experiment_ids: {', '.join(missing)} has no per-buyer test hits ({HITS_FILE}); "
                       "runs trained before decision 065 lack them: run it again", field="experiment_ids")
    rows = []
    for name in metric_names:
        parts = recall_metric_parts(name, EXCLUDING_TRAIN_ITEMS)
        if parts is None or not (_has(ha, *parts) and _has(hb, *parts)):
            continue
        interval: PairedInterval = paired_interval(ha, hb, parts[0], parts[1], name)
        spec = metrics.spec(name)
        v = verdict(interval.low_pp, interval.high_pp, spec.direction)
        rows.append({**interval.to_document(), "label": spec.label, "verdict": v, "verdict_text": VERDICT_TEXT[v]})
    return {"a": {"id": a["id"], "number": a.get("number")}, "b": {"id": b["id"], "number": b.get("number")},
            "protocol_key": protocol_key(a), "rows": rows}


def noise_table(doc: Doc, docs: Sequence[Doc], hits: HitsReader, metric_names: Sequence[str] = NOISE_TABLE_METRICS,
                primary: str = metrics.PRIMARY_METRIC) -> dict[str, Any] | None:
    """The experiment against the best other completed run of its protocol (by ``primary``), per metric."""
    key = protocol_key(doc)
    spec = metrics.spec(primary)
    mine = final_metrics(doc.get("results"))
    if key is None or primary not in mine:
        return None
    others = [d for d in _completed(docs) if d["id"] != doc["id"] and protocol_key(d) == key
              and final_metrics(d.get("results")).get(primary) is not None]
    if not others:
        return {"previous": None, "rows": [], "summary": "first completed run of this protocol"}
    best = others[0]
    for d in others[1:]:
        if spec.better(final_metrics(d.get("results"))[primary], final_metrics(best.get("results"))[primary]):
            best = d
    theirs = final_metrics(best.get("results"))
    rows = []
    for name in metric_names:
        if name not in mine or name not in theirs:
            continue
        m = metrics.spec(name)
        difference, low, high, source = _interval(name, best, doc, docs, hits)
        v = verdict(low, high, m.direction)
        scale = 100 if m.is_rate else 1
        rows.append({"metric": name, "label": m.label, "value": mine[name], "previous": theirs[name],
                     "difference_pp": difference * scale, "low_pp": None if low is None else low * scale,
                     "high_pp": None if high is None else high * scale, "verdict": v,
                     "verdict_text": VERDICT_TEXT[v], "interval_source": source})
    head = next((r for r in rows if r["metric"] == primary), None)
    summary = (f"{head['label']} {head['difference_pp']:+.1f} pp vs Exp #{best.get('number')}: {head['verdict_text']}"
               if head else f"vs Exp #{best.get('number')}")
    return {"previous": {"id": best["id"], "number": best.get("number")}, "rows": rows, "summary": summary}


def _label(doc: Doc, key: str) -> str:
    protocol = protocol_of(doc)
    return protocol.label if protocol else key


def attribution_view(docs: Sequence[Doc], metric: str = metrics.PRIMARY_METRIC, protocol: str | None = None
                     ) -> dict[str, Any]:
    """Per configuration choice that varies across the completed runs of one protocol (the most recent
    run's when ``protocol`` is None): mean per value with intervals, share of variance, effect."""
    spec = metrics.spec(metric)
    if spec.direction == "none":
        raise InvalidInput(f"metric: {metric!r} has no better direction to attribute",
                           field="metric", suggestions=closest_names(metric, [m.name for m in metrics.rankable()]))
    completed = [d for d in _completed(docs) if final_metrics(d.get("results")).get(metric) is not None]
    groups: dict[str, list[Doc]] = {}
    for d in completed:
        key = protocol_key(d)
        if key:
            groups.setdefault(key, []).append(d)
    ordered = sorted(groups, key=lambda k: max(str(d.get("created_at") or "") for d in groups[k]), reverse=True)
    protocols = [{"key": k, "label": _label(groups[k][0], k), "runs": len(groups[k])} for k in ordered]
    if protocol is None and ordered:
        protocol = ordered[0]
    if protocol is not None and protocol not in groups:
        raise InvalidInput(f"protocol: no completed run with {metric} has protocol {protocol!r}", field="protocol",
                           suggestions=ordered[:5])
    runs = groups.get(protocol or "", [])
    rows = [({name: axis_text(AXES[name].value(d)) for name in CHOICE_AXES},
             float(final_metrics(d.get("results"))[metric])) for d in runs]
    result = attribute(rows, spec.direction) if rows else None
    scale = 100 if spec.is_rate else 1
    parameters = []
    order = {name: i for i, name in enumerate(CHOICE_AXES)}
    for p in result.parameters if result else []:
        if any(order[other] < order[p.parameter] for other in p.confounded_with):
            continue  # one row for parameters that changed together: the first axis, naming the others
        doc = p.to_document()
        doc["label"] = AXES[p.parameter].label
        doc["effect_pp"] = p.effect * scale
        doc["effect_low_pp"] = None if p.effect_low is None else p.effect_low * scale
        doc["effect_high_pp"] = None if p.effect_high is None else p.effect_high * scale
        parameters.append(doc)
    return {"metric": metric, "label": spec.label, "direction": spec.direction, "is_rate": spec.is_rate,
            "protocol": protocol, "protocols": protocols, "runs": len(runs),
            "total_variance": result.total_variance if result else None, "parameters": parameters}
