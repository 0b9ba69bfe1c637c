"""Names of transformed features and vocabularies, derived from validated config names only.

Every name here is built from ``Identifier``-validated columns (``[A-Za-z_][A-Za-z0-9_]*``), a
tower name and fixed suffixes; nothing from a config is ever evaluated. Pure Python, no TF.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from experiments_platform.domain.features import CrossFeature, FeatureConfig
from experiments_platform.domain.names import check_identifier

Tower = Literal["query", "candidate"]
TOWERS: tuple[Tower, ...] = ("query", "candidate")
QUERY_KEY = "qt_query_key"
CANDIDATE_KEY = "qt_candidate_key"


def feature_name(tower: Tower, column: str, suffix: str = "") -> str:
    check_identifier(column)
    return f"{tower}__{column}{'__' + suffix if suffix else ''}"


def cross_name(cross: CrossFeature) -> str:
    return feature_name(cross.tower, "_x_".join(check_identifier(c) for c in cross.columns), "cross")


@dataclass(frozen=True)
class ModelInput:
    """One transformed input of a tower.

    ``embedding``: int64 index in [0, size) → embedding of ``dim``.
    ``bag``: int64 [batch, length] token indices, 0 = padding, mean of embeddings.
    ``dense``: float32 [batch, width] values fed as they are.
    ``table``: int64 index in [0, size) → a fixed row of ``width`` values (a history feature's table,
    computed by the Trainer from the training split; never trained).
    """

    name: str
    kind: Literal["embedding", "bag", "dense", "table"]
    size: int = 0
    dim: int = 0
    width: int = 1


def history_value_name(column: str) -> str:
    """A history feature's second Transform output: the row's value of ``column`` as a vocabulary index (the
    feature's own input, ``feature_name("query", column)``, is the row's buyer as a vocabulary index)."""
    return feature_name("query", column, "history_value")


def vocabulary_features(config: FeatureConfig) -> list[tuple[Tower, str, int]]:
    """(tower, transformed name, oov buckets) of every feature that gets a vocabulary (a history feature: two,
    its buyers' and its values')."""
    out: list[tuple[Tower, str, int]] = []
    for tower in TOWERS:
        for feature in config.tower_features(tower):
            if feature.kind in ("id", "categorical"):
                out.append((tower, feature_name(tower, feature.column), feature.oov_buckets))
            elif feature.kind == "text":
                out.append((tower, feature_name(tower, feature.column), 1))
            elif feature.kind == "history":
                out.append((tower, feature_name(tower, feature.column), 1))
                out.append((tower, history_value_name(feature.column), 1))
    return out


def buyer_inputs(config: FeatureConfig, vocabulary_sizes: dict[str, int]) -> dict[str, int]:
    """The query tower's inputs that identify the buyer (id features, history features' buyer index), each with
    its out-of-vocabulary index: what a cold-start buyer (absent from training) reads there."""
    return {feature_name("query", f.column): vocabulary_sizes[feature_name("query", f.column)]
            for f in config.query_features if f.kind in ("id", "history")}


def tower_inputs(config: FeatureConfig, tower: Tower, vocabulary_sizes: dict[str, int]) -> list[ModelInput]:
    """The model inputs of one tower, given the vocabulary size of each vocabulary feature."""
    inputs: list[ModelInput] = []
    for feature in config.tower_features(tower):
        name = feature_name(tower, feature.column)
        if feature.kind in ("id", "categorical"):
            size = vocabulary_sizes[name] + feature.oov_buckets
            inputs.append(ModelInput(name, "embedding", size=size, dim=feature.embedding_dim))
        elif feature.kind == "text":
            size = vocabulary_sizes[name] + 2
            inputs.append(ModelInput(name, "bag", size=size, dim=feature.embedding_dim, width=feature.max_tokens))
        elif feature.kind == "numeric" and feature.transform == "normalize":
            inputs.append(ModelInput(name, "dense"))
        elif feature.kind == "numeric":
            inputs.append(ModelInput(name, "embedding", size=feature.buckets + 1, dim=feature.embedding_dim))
        elif feature.kind == "history":
            inputs.append(ModelInput(name, "table", size=vocabulary_sizes[name] + 1,
                                     width=vocabulary_sizes[history_value_name(feature.column)] + 1))
        elif feature.kind == "timestamp":
            inputs.append(ModelInput(feature_name(tower, feature.column, "z"), "dense"))
            inputs.append(ModelInput(feature_name(tower, feature.column, "cyclic"), "dense", width=4))
            inputs.append(ModelInput(feature_name(tower, feature.column, "bucket"), "embedding",
                                     size=feature.buckets + 1, dim=feature.embedding_dim))
    for cross in config.cross_features:
        if cross.tower == tower:
            inputs.append(ModelInput(cross_name(cross), "embedding", size=cross.hash_buckets, dim=cross.embedding_dim))
    return inputs
