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
    """

    name: str
    kind: Literal["embedding", "bag", "dense"]
    size: int = 0
    dim: int = 0
    width: int = 1


def vocabulary_features(config: FeatureConfig) -> list[tuple[Tower, str, int]]:
    """(tower, transformed name, oov buckets) of every feature that gets a vocabulary."""
    out = []
    for tower in TOWERS:
        for feature in config.tower_features(tower):
            if feature.kind in ("id", "categorical"):
                out.append((tower, feature_name(tower, feature.column), feature.oov_buckets))
            elif feature.kind == "text":
                out.append((tower, feature_name(tower, feature.column), 1))
    return out


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
        elif feature.kind == "timestamp":
            inputs.append(ModelInput(feature_name(tower, feature.column, "z"), "dense"))
            inputs.append(ModelInput(feature_name(tower, feature.column, "cyclic"), "dense", width=4))
            inputs.append(ModelInput(feature_name(tower, feature.column, "bucket"), "embedding",
                                     size=feature.buckets + 1, dim=feature.embedding_dim))
    for cross in config.cross_features:
        if cross.tower == tower:
            inputs.append(ModelInput(cross_name(cross), "embedding", size=cross.hash_buckets, dim=cross.embedding_dim))
    return inputs
