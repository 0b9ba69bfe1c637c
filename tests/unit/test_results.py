"""Results of a finished pipeline: metrics.json read as a report, "vs previous best" by the catalogue direction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain.metrics_report import MalformedReport
from experiments_platform.handlers import results
from experiments_platform.repositories.experiments import COLLECTION

WRITTEN = Path(__file__).resolve().parents[1] / "fixtures" / "metrics" / "metrics.json"


@pytest.fixture
def store(tmp_path: Path) -> SqliteDocumentStore:
    return SqliteDocumentStore(tmp_path / "documents.sqlite")


def finished(store: SqliteDocumentStore, number: int, final: dict[str, float], status: str = "completed") -> None:
    store.set(COLLECTION, f"e{number}", {"id": f"e{number}", "number": number, "dataset_id": "d", "status": status,
                                        "results": {"final": final}})


def test_a_higher_is_better_metric_compares_in_percentage_points(store: SqliteDocumentStore):
    finished(store, 2, {"recall_at_100": 0.40})
    finished(store, 3, {"recall_at_100": 0.45}, status="failed")
    comparison = results.compare_with_previous_best(store, "e9", "d", {"final": {"recall_at_100": 0.412}})
    assert comparison is not None
    assert comparison["summary"] == "↑ 1.2 pp vs Exp #2" and comparison["label"] == "Recall@100"
    assert (comparison["outcome"], comparison["improved"], comparison["delta_points"]) == ("better", True, 1.2)


def test_a_lower_is_better_metric_finds_the_lowest_and_calls_a_drop_better(store: SqliteDocumentStore):
    finished(store, 2, {"test_loss_per_example": 0.30})
    finished(store, 3, {"test_loss_per_example": 0.25})
    finished(store, 4, {"test_loss_per_example": 0.50})
    loss = "test_loss_per_example"  # test_loss (summed per batch) has no direction since decision 079
    better = results.compare_with_previous_best(store, "e9", "d", {"final": {loss: 0.2}}, metric=loss)
    assert better is not None and better["previous_number"] == 3, "the best loss is the lowest"
    assert (better["summary"], better["outcome"], better["improved"]) == ("↓ 0.05 vs Exp #3", "better", True)
    assert better["delta_points"] is None, "percentage points only for rates"
    worse = results.compare_with_previous_best(store, "e9", "d", {"final": {loss: 0.26}}, metric=loss)
    assert worse is not None and (worse["summary"], worse["outcome"]) == ("↑ 0.01 vs Exp #3", "worse")


def test_the_first_run_and_a_metric_without_direction(store: SqliteDocumentStore):
    first = results.compare_with_previous_best(store, "e1", "d", {"final": {"recall_at_100": 0.3}})
    assert first is not None and first["summary"] == "first completed experiment of this protocol"
    baseline = {"final": {"popularity_recall_at_100": 0.3}}
    assert results.compare_with_previous_best(store, "e1", "d", baseline, metric="popularity_recall_at_100") is None
    assert results.compare_with_previous_best(store, "e1", "d", {"final": {}}) is None


def test_only_runs_of_the_same_protocol_are_the_previous_best(store: SqliteDocumentStore):
    def run(number: int, sample: int, recall: float | None) -> None:
        store.set(COLLECTION, f"e{number}", {
            "id": f"e{number}", "number": number, "dataset_id": "d", "status": "completed",
            "dataset_snapshot": {"name": "Shop", "candidate_id_column": "item"},
            "parameters": {"sample_percent": sample},
            "results": {"final": {"recall_at_100": recall} if recall else {}}})

    run(2, 100, 0.60)  # the whole dataset: another protocol, higher recall
    run(3, 10, 0.40)
    run(9, 10, None)  # the run being compared
    comparison = results.compare_with_previous_best(store, "e9", "d", {"final": {"recall_at_100": 0.42}})
    assert comparison is not None and comparison["previous_number"] == 3, "Exp #2 sampled 100 %: not comparable"
    assert comparison["summary"] == "↑ 2.0 pp vs Exp #3" and comparison["protocol"].startswith("p-")
    store.delete(COLLECTION, "e3")
    alone = results.compare_with_previous_best(store, "e9", "d", {"final": {"recall_at_100": 0.42}})
    assert alone is not None and alone["summary"] == "first completed experiment of this protocol"


def test_read_metrics_validates_the_file(tmp_path: Path, store: SqliteDocumentStore):
    platform = Platform(Settings(data_dir=tmp_path), documents=store)
    assert results.read_metrics(platform, "e1") is None
    uri = platform.experiment_artifacts_uri("e1", "metrics.json")
    platform.blobs.write_bytes(uri, WRITTEN.read_bytes())
    read = results.read_metrics(platform, "e1")
    assert read is not None and read.final["recall_at_100"] == results.primary_metric(read)
    assert read.to_document() == json.loads(WRITTEN.read_text())
    platform.blobs.write_bytes(uri, b'{"final": {"recall_at_100": "high"}}')
    with pytest.raises(MalformedReport, match=r"metrics.json is not a metrics report: final.recall_at_100"):
        results.read_metrics(platform, "e1")
