"""Feature configs: how columns become inputs of the query (buyer) and candidate (product) towers."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from experiments_platform.domain.base import Document, DomainModel, Identifier


class _Feature(DomainModel):
    column: Identifier


class IdFeature(_Feature):
    """An id column (buyer id, product id): vocabulary + embedding."""

    kind: Literal["id"] = "id"
    embedding_dim: int = Field(default=32, ge=1, le=1024)
    max_vocab_size: int | None = Field(default=None, ge=1)
    oov_buckets: int = Field(default=1, ge=1, le=1000)


class CategoricalFeature(_Feature):
    kind: Literal["categorical"] = "categorical"
    embedding_dim: int = Field(default=16, ge=1, le=1024)
    max_vocab_size: int | None = Field(default=None, ge=1)
    oov_buckets: int = Field(default=1, ge=1, le=1000)


class NumericFeature(_Feature):
    """``normalize``: z-score, fed as one value. ``bucketize``: quantile buckets + embedding."""

    kind: Literal["numeric"] = "numeric"
    transform: Literal["normalize", "bucketize"] = "normalize"
    buckets: int = Field(default=10, ge=2, le=1000)
    embedding_dim: int = Field(default=8, ge=1, le=1024)


class TimestampFeature(_Feature):
    """Normalized time plus cyclical hour-of-day / day-of-week encodings."""

    kind: Literal["timestamp"] = "timestamp"
    buckets: int = Field(default=10, ge=2, le=1000)
    embedding_dim: int = Field(default=8, ge=1, le=1024)


class TextFeature(_Feature):
    """Whitespace/punctuation tokens → vocabulary → mean of token embeddings."""

    kind: Literal["text"] = "text"
    embedding_dim: int = Field(default=16, ge=1, le=1024)
    max_vocab_size: int | None = Field(default=10000, ge=1)
    max_tokens: int = Field(default=16, ge=1, le=256)


class HistoryFeature(_Feature):
    """The buyer's own history in a product column: for each of the column's ``max_values`` most frequent
    values (the rest as one "other" value), the log ratio of its share among the buyer's training
    interactions, shrunk towards the overall share with ``shrinkage`` pseudo-interactions, to the overall
    share. Computed by the Trainer from the training split, served as a fixed table in the query tower
    (a buyer absent from training reads ratios of 1). Query tower only (decision 060, amendment 6)."""

    kind: Literal["history"] = "history"
    max_values: int = Field(default=32, ge=1, le=1000)
    shrinkage: float = Field(default=50.0, gt=0.0, le=1_000_000.0,
                             description="pseudo-interactions at the overall shares; above 0, so a value the buyer "
                                         "never bought has a finite log ratio")


Feature = Annotated[
    Union[IdFeature, CategoricalFeature, NumericFeature, TimestampFeature, TextFeature, HistoryFeature],
    Field(discriminator="kind"),
]


class CrossFeature(DomainModel):
    """Hash-crossed features of one tower, embedded together."""

    tower: Literal["query", "candidate"]
    columns: list[Identifier] = Field(min_length=2, max_length=4)
    hash_buckets: int = Field(default=1000, ge=2, le=10_000_000)
    embedding_dim: int = Field(default=16, ge=1, le=1024)

    @property
    def name(self) -> str:
        return "_x_".join(self.columns)


class FeatureConfig(Document):
    dataset_id: str | None = None
    created_by: str | None = Field(default=None, description="the user IAP vouched for who created it (decision 053)")
    query_features: list[Feature] = Field(min_length=1)
    candidate_features: list[Feature] = Field(min_length=1)
    cross_features: list[CrossFeature] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> FeatureConfig:
        for tower in ("query", "candidate"):
            features = self.tower_features(tower)
            columns = [f.column for f in features]
            duplicates = sorted({c for c in columns if columns.count(c) > 1})
            if duplicates:
                raise ValueError(f"{tower}_features: column(s) {duplicates} listed twice")
        for i, feature in enumerate(self.candidate_features):
            if feature.kind == "history":
                raise ValueError(
                    f"candidate_features[{i}]: a history feature describes the buyer; move {feature.column!r} "
                    "to query_features (kind history counts the product column among each buyer's interactions)"
                )
        for i, cross in enumerate(self.cross_features):
            tower_columns = [f.column for f in self.tower_features(cross.tower) if f.kind != "history"]
            missing = [c for c in cross.columns if c not in tower_columns]
            if missing:
                raise ValueError(
                    f"cross_features[{i}]: {missing} not among the {cross.tower} tower's features "
                    f"{tower_columns}; add them to {cross.tower}_features first"
                )
        return self

    def tower_features(self, tower: str) -> list[Feature]:
        return list(self.query_features if tower == "query" else self.candidate_features)

    def columns(self) -> set[str]:
        return {f.column for f in [*self.query_features, *self.candidate_features]}
