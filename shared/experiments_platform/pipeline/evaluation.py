"""Final metrics of a trained model: exact recall against the full corpus, popularity baseline, OOV."""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments_platform.domain.features import FeatureConfig
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY, TOWERS, feature_name
from experiments_platform.pipeline.recall import DEFAULT_KS, history_by_query, popularity_scores, recall_at_k

Arrays = dict[str, np.ndarray]

PROTOCOL_TEXT = (
    "Each test interaction is one query with its item as the positive. Every candidate of the corpus is "
    "scored exactly (dot product of tower outputs; popularity = training interaction count). Hit at k when "
    "fewer than k candidates rank before the positive; ties go to the earlier candidate in corpus order. "
    "recall@k = hits / test interactions. 'excluding_train_items' removes the buyer's training items from "
    "the ranking and drops test interactions whose item the buyer already had in training."
)


def corpus_positions(corpus_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Corpus index of each key, -1 when the key is not in the corpus."""
    index = {key: i for i, key in enumerate(corpus_keys.tolist())}
    return np.array([index.get(key, -1) for key in keys.tolist()], dtype=np.int64)


def sampling_probabilities(train_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Each row's candidate frequency in the training split (unseen candidates: 1 / rows)."""
    values, counts = np.unique(train_keys, return_counts=True)
    frequency = dict(zip(values.tolist(), (counts / len(train_keys)).tolist(), strict=True))
    floor = 1.0 / max(len(train_keys), 1)
    return np.array([frequency.get(k, floor) for k in keys.tolist()], dtype=np.float32)


def recall_report(
    query_embeddings: np.ndarray,
    candidate_embeddings: np.ndarray,
    test: Arrays,
    train: Arrays,
    corpus: Arrays,
    ks: tuple[int, ...] = DEFAULT_KS,
) -> dict[str, Any]:
    """Model and popularity recall@k, with and without the buyer's training items."""
    positives = corpus_positions(corpus[CANDIDATE_KEY], test[CANDIDATE_KEY])
    train_positions = corpus_positions(corpus[CANDIDATE_KEY], train[CANDIDATE_KEY])
    popularity = popularity_scores(train_positions, len(corpus[CANDIDATE_KEY]))
    ones = np.ones((len(positives), 1), dtype=np.float32)
    history = history_by_query(test[QUERY_KEY], train[QUERY_KEY], train_positions)
    report: dict[str, Any] = {}
    for variant, excluded in (("all_items", None), ("excluding_train_items", history)):
        model = recall_at_k(query_embeddings, candidate_embeddings, positives, ks, excluded=excluded)
        baseline = recall_at_k(ones, popularity, positives, ks, excluded=excluded)
        report[variant] = {
            "model": {str(k): v for k, v in model.recall.items()},
            "popularity": {str(k): v for k, v in baseline.recall.items()},
            "evaluated_interactions": model.evaluated,
            "dropped_interactions": model.dropped,
        }
    report["positives_outside_corpus"] = int(np.sum(positives < 0))
    report["random_recall_at_100"] = min(100, len(corpus[CANDIDATE_KEY])) / len(corpus[CANDIDATE_KEY])
    return report


def vocabulary_report(config: FeatureConfig, vocabulary_sizes: dict[str, int], evaluation: Arrays) -> dict[str, Any]:
    """Vocabulary size and OOV rate on the evaluation split of every id, categorical and text feature."""
    report: dict[str, Any] = {}
    for tower in TOWERS:
        for feature in config.tower_features(tower):
            if feature.kind not in ("id", "categorical", "text"):
                continue
            name = feature_name(tower, feature.column)
            size = vocabulary_sizes[name]
            values = evaluation[name]
            if feature.kind == "text":
                tokens = values[values > 0]
                oov = float(np.mean(tokens > size)) if tokens.size else 0.0
                counted = int(tokens.size)
            else:
                oov = float(np.mean(values >= size)) if values.size else 0.0
                counted = int(values.size)
            report[f"{tower}.{feature.column}"] = {
                "tower": tower, "column": feature.column, "kind": feature.kind,
                "vocab_size": size, "oov_rate": oov, "values_counted": counted, "split": "eval",
            }
    return report


def flat_final_metrics(test_loss: float, recall: dict[str, Any]) -> dict[str, float]:
    """The final numbers under stable names (MLflow metric names and ``metrics.json`` ``final``)."""
    out = {"test_loss": float(test_loss)}
    for variant, suffix in (("all_items", ""), ("excluding_train_items", "_excluding_train_items")):
        for k, value in recall[variant]["model"].items():
            out[f"recall_at_{k}{suffix}"] = float(value)
        for k, value in recall[variant]["popularity"].items():
            out[f"popularity_recall_at_{k}{suffix}"] = float(value)
    return out
