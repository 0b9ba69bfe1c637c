"""The metric catalogue: one entry per reported number, its direction, label and display format."""

from __future__ import annotations

import re

import pytest
from experiments_platform.domain import metrics
from experiments_platform.domain.metrics import CATALOGUE, spec


def test_names_are_unique_stable_identifiers():
    names = [m.name for m in CATALOGUE]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names), names


def test_quality_metrics_have_a_direction_and_baselines_have_none():
    assert spec("recall_at_100").direction == "higher" and spec("recall_at_100").group == "quality"
    assert spec("test_loss_per_example").direction == "lower" and spec("val_loss").direction == "lower"
    assert spec("test_loss").direction == "none", "summed per batch, it grows with the batch size (decision 079)"
    for name in ("popularity_recall_at_10", "popularity_recall_at_100_excluding_train_items", "random_recall_at_100"):
        assert spec(name).direction == "none" and spec(name).group == "baseline", name
    assert all(m.direction != "none" for m in metrics.rankable())
    assert {m.name for m in metrics.rankable()} >= {"recall_at_10", "recall_at_100_excluding_train_items",
                                                           "test_loss_per_example"}


def test_labels():
    assert spec("recall_at_100").label == "Recall@100"
    assert spec("recall_at_100_excluding_train_items").label == "Recall@100 (excl. training items)"
    assert spec("popularity_recall_at_10").label == "Popularity Recall@10"
    assert spec("val_loss").label == "Validation loss"
    assert spec("val_regularization_loss").label == "Validation regularization loss"


def test_rates_read_as_percent_and_differences_of_rates_as_points():
    recall = spec("recall_at_100")
    assert recall.is_rate and recall.format == "percent"
    assert recall.display(0.473) == "47.3%" and recall.display(0.0891) == "8.9%"
    assert recall.display_delta(0.012) == "+1.2 pp" and recall.display_delta(-0.0049) == "−0.5 pp"
    assert recall.display(None) == "—"


@pytest.mark.parametrize(("name", "value", "text"), [
    ("test_loss", 0.034, "0.034"), ("test_loss", 0.03, "0.03"), ("test_loss", 1523.7, "1,524"),
    ("test_loss", 12.34567, "12.35"), ("test_loss", 9999.7, "10,000"), ("test_loss", 0.000123456, "0.0001235"),
    ("corpus_size", 1682, "1,682"), ("corpus_size", 1234567, "1,234,567"),
    ("fit_s", 45.4, "45 s"), ("fit_s", 93.4, "1 min 33 s"), ("fit_s", 119.6, "2 min"), ("fit_s", 3900, "1 h 5 min"),
])
def test_one_display_convention(name: str, value: float, text: str):
    assert spec(name).display(value) == text


def test_a_name_outside_the_catalogue_reads_as_itself_without_direction():
    unknown = spec("ndcg_at_10")
    assert (unknown.label, unknown.direction, unknown.format) == ("ndcg_at_10", "none", "decimal")
    assert not metrics.is_known("ndcg_at_10") and unknown.display(0.2) == "0.2"


def test_better_follows_the_direction():
    assert spec("recall_at_100").better(0.5, 0.4) and not spec("recall_at_100").better(0.4, 0.5)
    assert spec("test_loss_per_example").better(0.1, 0.2) and not spec("test_loss_per_example").better(0.2, 0.1)
    assert not spec("popularity_recall_at_100").better(0.9, 0.1)


def test_the_served_document_lists_every_metric_with_its_rate_flag():
    document = metrics.catalogue_document()
    served = {m["name"]: m for m in document["metrics"]}
    assert list(served) == [m.name for m in CATALOGUE]
    assert served["recall_at_10"]["is_rate"] is True and served["test_loss"]["is_rate"] is False
    assert document["primary"] == "recall_at_100" and document["recall_ks"] == [10, 50, 100]
