"""``domain.watch``: the drift of a watched quick test between two runs on different data (issue 13)."""

from __future__ import annotations

import re

import pytest
from experiments_platform.domain.noise import summarize_hits
from experiments_platform.domain.watch import Watch, WatchRun, data_statistics, drift, independent_interval


def hits(rate_hits: list[int], per_buyer: int = 5) -> object:
    buyers = [f"b{i}" for i in range(len(rate_hits))]
    return summarize_hits(buyers, {"all_items": [per_buyer] * len(buyers)}, {"all_items": {100: rate_hits}})


def test_the_interval_of_two_different_test_sets_covers_the_difference_and_narrows_with_more_buyers() -> None:
    small = independent_interval(hits([2, 3] * 20), hits([3, 3] * 20), "all_items", 100)
    large = independent_interval(hits([2, 3] * 500), hits([3, 3] * 500), "all_items", 100)
    assert small is not None and large is not None
    for difference, low, high in (small, large):
        assert difference == pytest.approx(0.1) and low < difference < high
    assert (large[2] - large[1]) < (small[2] - small[1]) / 3
    assert large[1] > 0, "a 10 pp rise on 1,000 buyers each is beyond buyer-sampling noise"
    assert independent_interval(hits([1]), hits([1]), "all_items", 10) is None, "no hits at k=10"


def experiment(identifier: str, number: int, rows: int, recall: float, test: dict[str, int], corpus: int) -> dict:
    return {"id": identifier, "number": number, "dataset_snapshot": {"row_count": rows},
            "results": {"final": {"recall_at_100": recall}},
            "data_check": {"corpus_size": corpus, "splits": {"train": {"interactions": rows - test["interactions"],
                                                                       "buyers": 90}, "test": test}}}


def test_drift_puts_metrics_in_pp_and_the_data_counts_side_by_side() -> None:
    before = experiment("a", 1, 1000, 0.40, {"interactions": 100, "buyers": 50, "cold_item_interactions": 5}, 300)
    after = experiment("b", 2, 1500, 0.31, {"interactions": 150, "buyers": 70, "cold_item_interactions": 30}, 420)

    view = drift(before, after, {"a": None, "b": None})

    [metric] = view["metrics"]
    assert metric["difference_pp"] == pytest.approx(-9.0) and metric["verdict"] == "unknown"
    data = {r["key"]: r for r in view["data"]}
    assert (data["rows"]["change"], data["rows"]["change_percent"]) == (500, 50.0)
    assert data["products"]["value"] == 420
    assert data["test_cold_product_share"]["previous"] == pytest.approx(0.05)
    assert data["test_cold_product_share"]["change"] == pytest.approx(15.0), "a share's change in pp"
    assert view["summary"].startswith("Exp #2 vs Exp #1: ")
    assert "rows 1,000 → 1,500" in view["summary"] and "5.0 % → 20.0 %" in view["summary"]
    assert data_statistics({})["test_cold_buyer_share"] is None, "a run without a data check counts nothing"


def test_the_drift_summary_writes_the_difference_as_vs_previous_best_does() -> None:
    """One convention for differences of rates (``MetricSpec.display_change``, as "vs previous best"): an arrow
    and pp, ``= 0.0 pp`` when it rounds to zero; never a hyphen-minus or ``+0.0 pp``."""
    test = {"interactions": 100, "buyers": 50}
    cases = {0.31: "Recall@100 ↓ 9.0 pp (", 0.4004: "Recall@100 = 0.0 pp (", 0.3996: "Recall@100 = 0.0 pp (",
             0.452: "Recall@100 ↑ 5.2 pp ("}
    for recall, words in cases.items():
        summary = drift(experiment("a", 1, 1000, 0.40, test, 300), experiment("b", 2, 1000, recall, test, 300),
                        {"a": None, "b": None})["summary"]
        assert words in summary, (recall, summary)
        assert not re.search(r"[-+]\d", summary), (recall, summary)


def test_a_watch_runs_once_per_source_change_and_keeps_its_newest_runs() -> None:
    watch = Watch(name="w", dataset_id="d", feature_config_id="f", model_config_id="m")
    for i in range(60):
        watch.add(WatchRun(trigger="source_change", event_id=f"e{i}", experiment_id=f"x{i}"))
    assert len(watch.runs) == 50 and watch.runs[-1].event_id == "e59"
    assert watch.has_run_for("e59") and not watch.has_run_for("") and not watch.has_run_for("e0")
