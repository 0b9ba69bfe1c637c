"""What a quick test's launch established, kept on the experiment: its protocol, the data check, the warnings.

The rules that produce them live in ``domain.preflight`` and ``domain.protocol``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from experiments_platform.domain.base import DomainModel

WarningCode = Literal["SMALL_TEST_SET", "HIGH_TEST_OOV", "SMALL_CORPUS"]


class SplitSize(DomainModel):
    """One split as the count query sees it: interactions, distinct buyers, and how many of its
    interactions have a buyer (``cold_buyer_interactions``, ``cold_buyers`` distinct) or an item
    (``cold_item_interactions``) that the training split lacks."""

    interactions: int = Field(default=0, ge=0)
    buyers: int = Field(default=0, ge=0)
    cold_buyers: int = Field(default=0, ge=0)
    cold_buyer_interactions: int = Field(default=0, ge=0)
    cold_item_interactions: int = Field(default=0, ge=0)


class DataCheck(DomainModel):
    """The counts a quick test was launched with: per split, and the candidate corpus size."""

    splits: dict[str, SplitSize] = Field(default_factory=dict)
    corpus_size: int = Field(default=0, ge=0)

    def split(self, name: str) -> SplitSize:
        return self.splits.get(name, SplitSize())


class LaunchWarning(DomainModel):
    """Something that makes the result less trustworthy without making it meaningless."""

    code: WarningCode
    title: str
    message: str
    field: str | None = Field(default=None, description="the request field that would change it")


class RunProtocol(DomainModel):
    key: str = Field(description="digest of the fields below except the names; equal keys compare")
    dataset_id: str
    dataset_name: str = ""
    sample_percent: int
    seed: int
    split: dict[str, Any] = Field(description="the split strategy and its parameters")
    corpus: str = Field(description="which candidates every test query ranks")
    label: str = Field(description="the protocol in one line, for the UI")
