"""Final metrics of a trained model: exact recall against the full corpus, popularity baseline, OOV.

Each part is a section of the typed ``MetricsReport`` (``domain.metrics_report``); the final
metrics take their names from the metric catalogue (``domain.metrics``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.metrics import CORPUS_PERCENTS, EXCLUDING_TRAIN_ITEMS, PER_BUYER, RECALL_KS
from experiments_platform.domain.metrics_report import (
    CorpusPoint,
    EpochMetrics,
    MetricsReport,
    Protocol,
    RecallSection,
    RecallVariant,
    VocabularyEntry,
)
from experiments_platform.domain.noise import BuyerHits
from experiments_platform.domain.pipeline_spec import QuickTestSpec
from experiments_platform.pipeline.corpus_curve import corpus_curve
from experiments_platform.pipeline.corpus_index import corpus_positions
from experiments_platform.pipeline.feature_names import CANDIDATE_KEY, QUERY_KEY, TOWERS, feature_name
from experiments_platform.pipeline.recall import (
    history_pairs,
    popularity_scores,
    rank_positives,
    recall_at_k,
    recall_from_ranks,
    recall_variants,
)
from experiments_platform.pipeline.recent_popularity import recent_popularity_metrics

Arrays = dict[str, np.ndarray]

PROTOCOL_TEXT = (
    "Each test interaction is one query with its item as the positive. Every candidate of the corpus is "
    "scored exactly (dot product of tower outputs; popularity = training interaction count). Hit at k when "
    "fewer than k candidates rank before the positive; ties go to the earlier candidate in corpus order. "
    "recall@k = hits / test interactions. 'excluding_train_items' removes the buyer's training items from "
    "the ranking and drops test interactions whose item the buyer already had in training."
)


def sampling_probabilities(train_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Each row's candidate frequency in the training split (unseen candidates: 1 / rows)."""
    values, counts = np.unique(train_keys, return_counts=True)
    frequency = dict(zip(values.tolist(), (counts / len(train_keys)).tolist(), strict=True))
    floor = 1.0 / max(len(train_keys), 1)
    return np.array([frequency.get(k, floor) for k in keys.tolist()], dtype=np.float32)


PRIOR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""The weights ``prior_weight`` tries for the popularity prior (decision 060, amendment 2); 0 is the model alone."""
PRIOR_K = 100
"""The recall@k the weight is chosen on (the k the card's verdict compares, decision 064)."""


def log_popularity(train_positions: np.ndarray, corpus_size: int) -> np.ndarray:
    """log(1 + training interactions) of every corpus candidate: the popularity prior's column."""
    return np.log1p(popularity_scores(train_positions, corpus_size)[:, 0]).astype(np.float32)


def with_prior(query: np.ndarray, candidates: np.ndarray, prior: np.ndarray, weight: float | np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings whose dot product is ``q · c + weight × prior(c)``: ``weight`` (one for all queries, or one per
    query) appended to every query, the candidate's prior to every candidate. Weight 0 returns the embeddings
    unchanged."""
    if not np.any(weight):
        return query, candidates
    weights = np.broadcast_to(np.asarray(weight, dtype=query.dtype), (len(query),)).reshape(-1, 1)
    return (np.concatenate([query, weights], axis=1),
            np.concatenate([candidates, prior.reshape(-1, 1).astype(candidates.dtype)], axis=1))


def prior_weight(val_queries: np.ndarray, candidates: np.ndarray, val_positions: np.ndarray, prior: np.ndarray,
                 weights: Sequence[float] = PRIOR_WEIGHTS, k: int = PRIOR_K) -> tuple[float, dict[float, float]]:
    """The weight of the popularity prior with the best validation recall@k (the smallest on a tie), and the
    validation recall@k of every weight tried. Chosen on the validation split only: the test split decides
    nothing, so the test recall stays an honest estimate."""
    recall: dict[float, float] = {}
    for weight in weights:
        queries, scored = with_prior(val_queries, candidates, prior, weight)
        recall[float(weight)] = recall_at_k(queries, scored, val_positions, (k,)).recall[k]
    best = max(recall.values())
    return min(w for w, value in recall.items() if value == best), recall


def recall_report(
    query_embeddings: np.ndarray,
    candidate_embeddings: np.ndarray,
    test: Arrays,
    train: Arrays,
    corpus: Arrays,
    ks: tuple[int, ...] = RECALL_KS,
    *,
    val: Arrays | None = None,
) -> RecallSection:
    """Model and popularity recall@k, with and without the buyer's training items; per buyer with
    training and validation (``val``) items masked; the cold-start shares and recall (decision 063)."""
    return evaluate_test_split(query_embeddings, candidate_embeddings, test, train, corpus, ks, val=val)[0]


def evaluate_test_split(
    query_embeddings: np.ndarray,
    candidate_embeddings: np.ndarray,
    test: Arrays,
    train: Arrays,
    corpus: Arrays,
    ks: tuple[int, ...] = RECALL_KS,
    *,
    val: Arrays | None = None,
) -> tuple[RecallSection, BuyerHits]:
    """``recall_report`` and the per-buyer hits of ``test_hits.json`` (``buyer_hits``) from one ranking of the
    test queries (issue 14: the hits were ranked a second time)."""
    from experiments_platform.pipeline.buyer_hits import hits_from_ranks
    from experiments_platform.pipeline.buyer_recall import buyer_recall

    positives = corpus_positions(corpus[CANDIDATE_KEY], test[CANDIDATE_KEY])
    train_positions = corpus_positions(corpus[CANDIDATE_KEY], train[CANDIDATE_KEY])
    popularity = popularity_scores(train_positions, len(corpus[CANDIDATE_KEY]))
    ones = np.ones((len(positives), 1), dtype=np.float32)
    history = history_pairs(test[QUERY_KEY], train[QUERY_KEY], train_positions, len(candidate_embeddings))
    variants: dict[str, RecallVariant] = {}
    ranks = rank_positives(query_embeddings, candidate_embeddings, positives, history, limit=max(ks))  # one pass
    assert ranks.excluding is not None
    models = (recall_from_ranks(ranks.all_items, positives, len(candidate_embeddings), ks, excluding=False),
              recall_from_ranks(ranks.excluding, positives, len(candidate_embeddings), ks, excluding=True))
    baselines = recall_variants(ones, popularity, positives, history, ks)
    for variant, model, baseline in zip(("all_items", EXCLUDING_TRAIN_ITEMS), models, baselines, strict=True):
        variants[variant] = RecallVariant(
            model={str(k): v for k, v in model.recall.items()},
            popularity={str(k): v for k, v in baseline.recall.items()},
            evaluated_interactions=model.evaluated,
            dropped_interactions=model.dropped,
        )
    curve = corpus_curve(query_embeddings, candidate_embeddings, positives, popularity, ks,
                         [p for p in CORPUS_PERCENTS if p < 100])
    curve.append(CorpusPoint(percent=100, corpus_size=len(corpus[CANDIDATE_KEY]), model=variants["all_items"].model,
                             popularity=variants["all_items"].popularity))
    val_positions = corpus_positions(corpus[CANDIDATE_KEY], val[CANDIDATE_KEY]) if val is not None else None
    buyers = buyer_recall(query_embeddings, candidate_embeddings, positives, test, train, train_positions, val,
                          val_positions, ks)
    section = RecallSection(
        **variants,
        per_buyer=RecallVariant(model={str(k): v for k, v in buyers.model.items()},
                                popularity={str(k): v for k, v in buyers.popularity.items()},
                                evaluated_interactions=buyers.evaluated, dropped_interactions=buyers.dropped),
        buyers_evaluated=buyers.buyers,
        known_buyers={str(k): v for k, v in buyers.known_buyers.items()},
        cold_buyers={str(k): v for k, v in buyers.cold_buyers.items()} if buyers.cold_buyers is not None else None,
        test_cold_buyer_rate=buyers.cold_buyer_rate,
        test_cold_item_rate=buyers.cold_item_rate,
        positives_outside_corpus=int(np.sum(positives < 0)),
        random_recall_at_100=min(100, len(corpus[CANDIDATE_KEY])) / len(corpus[CANDIDATE_KEY]),
        corpus_curve=curve,
    )
    return section, hits_from_ranks(ranks, positives, test[QUERY_KEY], len(candidate_embeddings), ks)


def vocabulary_report(config: FeatureConfig, vocabulary_sizes: dict[str, int],
                      evaluation: Arrays) -> dict[str, VocabularyEntry]:
    """Vocabulary size and OOV rate on the evaluation split of every id, categorical and text feature."""
    report: dict[str, VocabularyEntry] = {}
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
            report[f"{tower}.{feature.column}"] = VocabularyEntry(
                tower=tower, column=feature.column, kind=feature.kind,
                vocab_size=size, oov_rate=oov, values_counted=counted, split="eval",
            )
    return report


def final_metrics(test_loss: float, recall: RecallSection, test_loss_per_example: float | None = None
                  ) -> dict[str, float]:
    """The final numbers under their catalogue names (MLflow metric names and ``metrics.json`` ``final``)."""
    out = {"test_loss": float(test_loss)}
    if test_loss_per_example is not None:
        out["test_loss_per_example"] = float(test_loss_per_example)
    for variant, suffix in ((recall.all_items, ""), (recall.excluding_train_items, f"_{EXCLUDING_TRAIN_ITEMS}")):
        if variant is None:
            continue
        for k, value in variant.model.items():
            out[f"recall_at_{k}{suffix}"] = float(value)
        for k, value in variant.popularity.items():
            out[f"popularity_recall_at_{k}{suffix}"] = float(value)
    if recall.per_buyer is not None:
        for k, value in recall.per_buyer.model.items():
            out[f"recall_at_{k}_{PER_BUYER}"] = float(value)
        for k, value in recall.per_buyer.popularity.items():
            out[f"popularity_recall_at_{k}_{PER_BUYER}"] = float(value)
    for group, values in (("known_buyers", recall.known_buyers), ("cold_buyers", recall.cold_buyers)):
        for k, value in (values or {}).items():
            out[f"recall_at_{k}_{group}"] = float(value)
    for point in recall.corpus_curve or []:
        if point.percent < 100:
            for who, values in (("", point.model), ("popularity_", point.popularity)):
                out.update({f"{who}recall_at_{k}_corpus_{point.percent}pct": float(v) for k, v in values.items()})
    for name in ("test_cold_buyer_rate", "test_cold_item_rate"):
        if getattr(recall, name) is not None:
            out[name] = float(getattr(recall, name))
    return out


def evaluation_report(
    spec: QuickTestSpec,
    *,
    mlflow_run_id: str | None,
    mlflow_experiment_id: str | None,
    test_loss: float,
    test_loss_per_example: float | None = None,
    history: Sequence[Mapping[str, float]],
    recall: RecallSection,
    vocabularies: dict[str, VocabularyEntry],
    splits: Mapping[str, Arrays],
    corpus: Arrays,
    timings: Mapping[str, float],
) -> MetricsReport:
    """The trainer's ``MetricsReport``: final metrics, per-epoch history, recall, OOV, protocol, timings."""
    return MetricsReport(
        experiment_id=spec.experiment_id,
        experiment_number=spec.experiment_number,
        pipeline_name=spec.pipeline_name,
        mlflow_run_id=mlflow_run_id,
        mlflow_experiment_id=mlflow_experiment_id,
        final={**final_metrics(test_loss, recall, test_loss_per_example),
               **recent_popularity_metrics(splits, corpus)},  # time splits only (decision 064)
        history=[EpochMetrics.model_validate(row) for row in history],
        recall=recall,
        vocabularies=vocabularies,
        protocol=Protocol.model_validate({
            **spec.queries.protocol,
            "split_strategy": spec.parameters.split.strategy,
            "corpus_size": len(corpus[CANDIDATE_KEY]),
            "test_interactions": len(splits["test"][CANDIDATE_KEY]),
            "rows": {name: len(split[CANDIDATE_KEY]) for name, split in splits.items()},
            "ks": list(RECALL_KS),
            "sampling_bias_correction": spec.model.sampling_bias_correction,
            "description": PROTOCOL_TEXT,
        }),
        timings=dict(timings),
    )
