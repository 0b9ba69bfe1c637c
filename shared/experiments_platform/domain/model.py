"""Model configs: the two towers' architecture and the optimisation defaults."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from experiments_platform.domain.base import Document

Layer = Annotated[int, Field(ge=1, le=8192)]
Optimizer = Literal["adagrad", "adam", "sgd", "rmsprop"]


class ModelConfig(Document):
    created_by: str | None = Field(default=None, description="the user IAP vouched for who created it (decision 053)")
    query_tower_layers: list[Layer] = Field(default_factory=lambda: [128, 64], max_length=8)
    candidate_tower_layers: list[Layer] = Field(default_factory=lambda: [128, 64], max_length=8)
    output_dim: int | None = Field(
        default=None, ge=1, le=1024,
        description="embedding size of both towers; None uses the last layer (or the concatenated inputs)",
    )
    activation: Literal["relu", "gelu", "tanh"] = "relu"
    optimizer: Optimizer = "adagrad"
    learning_rate: float = Field(default=0.1, gt=0, le=10)
    l2_regularization: float = Field(default=0.0, ge=0, le=1)
    epochs: int = Field(default=3, ge=1, le=100)
    batch_size: int = Field(default=1024, ge=8, le=65536)
    sampling_bias_correction: bool = Field(
        default=True,
        description="pass candidate sampling probabilities to the in-batch softmax (Yi et al. 2019)",
    )

    def tower_summary(self, tower: str = "query") -> str:
        layers = self.query_tower_layers if tower == "query" else self.candidate_tower_layers
        return "→".join(str(n) for n in layers) or "—"
