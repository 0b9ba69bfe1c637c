"""The typed metrics report: well-formed on read (old shapes included), complete before publishing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from experiments_platform.domain.metrics_report import (
    IncompleteReport,
    MalformedReport,
    MetricsReport,
    final_metrics,
    parse_report,
)

WRITTEN = Path(__file__).resolve().parents[1] / "fixtures" / "metrics" / "metrics.json"


def test_the_pipelines_report_reads_complete():
    """``tests/fixtures/metrics/metrics.json`` is written by the evaluator's own code (tests/pipeline keeps it so)."""
    report = parse_report(WRITTEN.read_bytes(), str(WRITTEN))
    report.check_complete()
    assert report.metric("recall_at_100") == report.final["recall_at_100"]
    assert report.metric("random_recall_at_100") == report.recall.random_recall_at_100  # type: ignore[union-attr]
    assert report.metric("corpus_size") == report.protocol.corpus_size  # type: ignore[union-attr]
    assert report.metric("fit_s") == report.timings["fit_s"]
    assert report.metric("val_loss") == report.history[-1].values()["val_loss"]
    assert json.loads(report.to_json()) == json.loads(WRITTEN.read_text()), "reading and writing change nothing"


def test_results_stored_before_the_model_still_read():
    flat = MetricsReport.model_validate({"recall_at_100": 0.42, "test_loss": 0.3})
    assert flat.final == {"recall_at_100": 0.42, "test_loss": 0.3}
    partial = MetricsReport.model_validate({
        "mlflow_run_id": "run-1", "final": {"recall_at_100": 0.4}, "history": [{"epoch": 0, "loss": 1.0}],
        "recall": {"random_recall_at_100": 0.06}, "vocabularies": {"query.user_id": {"vocab_size": 3, "oov_rate": 0.0}},
        "protocol": {"split_strategy": "random", "corpus_size": 3, "dialect": "duckdb"},
    })
    assert partial.protocol is not None and partial.protocol.model_extra == {"dialect": "duckdb"}
    document = partial.to_document()
    assert "experiment_id" not in document and document["protocol"]["dialect"] == "duckdb", "absent stays absent"


@pytest.mark.parametrize(("raw", "where"), [
    ('{"final": {"recall_at_100": "high"}}', "final.recall_at_100"),
    ('{"final": {"recall_at_100": NaN}}', "final.recall_at_100"),
    ('{"final": {}, "history": [{"epoch": 1, "loss": "x"}]}', "history.0"),
    ('{"final": {}, "surprise": 1}', "surprise"),
    ("[1, 2]", "(document)"),
    ("not json", "(document)"),
])
def test_a_malformed_file_is_refused_naming_the_field(raw: str, where: str):
    with pytest.raises(MalformedReport) as caught:
        parse_report(raw, "gs://bucket/metrics.json")
    assert "gs://bucket/metrics.json is not a metrics report" in caught.value.message
    assert where in caught.value.message


def test_completeness_names_what_is_missing():
    report = parse_report(WRITTEN.read_bytes(), str(WRITTEN))
    final = dict(report.final)
    del final["recall_at_50"]
    with pytest.raises(IncompleteReport, match=r"\['recall_at_50'\] are missing"):
        report.model_copy(update={"final": final}).check_complete()
    with pytest.raises(IncompleteReport, match="not in the metric catalogue"):
        report.model_copy(update={"final": {**report.final, "ndcg_at_10": 0.2}}).check_complete()
    with pytest.raises(IncompleteReport, match="history is empty"):
        report.model_copy(update={"history": []}).check_complete()


def test_final_metrics_of_a_stored_dict_without_validating_it():
    assert final_metrics({"final": {"recall_at_100": 0.4, "note": "x"}, "history": "ignored"}) == {"recall_at_100": 0.4}
    assert final_metrics({"recall_at_100": 0.42, "flag": True}) == {"recall_at_100": 0.42}
    assert final_metrics(None) == {}
