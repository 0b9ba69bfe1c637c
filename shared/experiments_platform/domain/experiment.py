"""The experiment document (``experiments/{id}``) and its quick-test parameters."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from experiments_platform.domain.base import DomainModel, Identifier, Timestamp, new_id, utcnow
from experiments_platform.domain.dataset import Dataset
from experiments_platform.domain.features import FeatureConfig
from experiments_platform.domain.full_training import FullTrainingParameters, RunKind
from experiments_platform.domain.launch import DataCheck, LaunchWarning, RunProtocol
from experiments_platform.domain.metrics_report import MetricsReport
from experiments_platform.domain.model import ModelConfig
from experiments_platform.domain.status import STAGE_ORDER, Stage, StageStatus, Status, stage_order
from experiments_platform.domain.tracking import TrackingState


class RandomSplit(DomainModel):
    """Hash-based train/val/test split of rows (percentages of the sample)."""

    strategy: Literal["random"] = "random"
    train_percent: int = Field(default=80, ge=1, le=98)
    val_percent: int = Field(default=10, ge=1, le=98)

    @model_validator(mode="after")
    def _fits(self) -> RandomSplit:
        if self.train_percent + self.val_percent >= 100:
            raise ValueError("train_percent + val_percent must leave room for a test split (< 100)")
        return self


class TimeHoldoutSplit(DomainModel):
    """Rows of the last ``holdout_days`` form the test split; earlier rows are hash-split train/val."""

    strategy: Literal["time_holdout"] = "time_holdout"
    date_column: Identifier
    holdout_days: int = Field(default=7, ge=1, le=3650)
    history_days: int | None = Field(
        default=None, ge=1, le=36500, description="only keep this many days before the holdout"
    )
    val_percent: int = Field(default=10, ge=1, le=50)


class StrictTimeSplit(DomainModel):
    """True temporal windows: train, then validation, then test, each a number of days."""

    strategy: Literal["strict_time"] = "strict_time"
    date_column: Identifier
    train_days: int = Field(default=60, ge=1, le=36500)
    val_days: int = Field(default=7, ge=1, le=3650)
    test_days: int = Field(default=7, ge=1, le=3650)


class BuyerTimeSplit(DomainModel):
    """Per buyer, in time order: each buyer's latest ``test_percent`` % of interactions (rounded down) form the
    test split, the ``val_percent`` % before them validation, the rest training. Every test buyer is known from
    training (a leave-latest-out protocol); a buyer with too few interactions for a test row trains only."""

    strategy: Literal["buyer_time"] = "buyer_time"
    date_column: Identifier
    val_percent: int = Field(default=10, ge=1, le=49)
    test_percent: int = Field(default=10, ge=1, le=49)


Split = Annotated[Union[RandomSplit, TimeHoldoutSplit, StrictTimeSplit, BuyerTimeSplit],
                  Field(discriminator="strategy")]

HardwareTier = Literal["small", "medium", "large"]
SamplePercent = Literal[5, 10, 25, 100]


class QuickTestParameters(DomainModel):
    sample_percent: SamplePercent = 10
    split: Split = Field(default_factory=RandomSplit)
    epochs: int = Field(default=3, ge=1, le=100)
    batch_size: int = Field(default=1024, ge=8, le=65536)
    learning_rate: float = Field(default=0.1, gt=0, le=10)
    hardware_tier: HardwareTier = "small"
    seed: int = Field(default=42, ge=0, description="sampling and split hash seed (decision 010)")
    training_seed: int | None = Field(
        default=None, ge=0,
        description="initialisation and shuffling seed of the trainer; None uses seed. The repeats of a seed "
                    "group differ only in it, so they share the split (decision 065)")

    @property
    def trainer_seed(self) -> int:
        return self.seed if self.training_seed is None else self.training_seed


class SweepMembership(DomainModel):
    """Where an experiment sits in a sweep: its cell (axis → value) and which repeat of that cell it is.

    The repeats of one cell form a seed group (``seed_group``); a seed group launched alone is a
    sweep without axes (decisions 065, 066).
    """

    sweep_id: str
    cell_key: str = Field(description="'-' for a sweep without axes; otherwise the cell's axis values")
    cell: dict[str, str] = Field(default_factory=dict, description="axis name → value as text")
    repeat: int = Field(ge=0)
    repeats: int = Field(ge=1)

    @property
    def seed_group(self) -> str:
        return f"{self.sweep_id}/{self.cell_key}"


class StageState(DomainModel):
    status: StageStatus = StageStatus.PENDING
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    cached: bool = False
    message: str | None = None


class ClassifiedError(DomainModel):
    """A failure as the user sees it: what happened, how to fix it, and the raw excerpt."""

    code: str
    title: str
    suggestion: str
    stage: Stage | None = None
    excerpt: str = ""


class Estimate(DomainModel):
    """Launch estimate for one hardware tier (``domain.estimates``); ``target`` says where it would run."""

    duration_s: float
    cost_usd: float
    hardware_tier: HardwareTier
    recommended_tier: HardwareTier
    target: Literal["local", "vertex"] = "vertex"
    stage_durations_s: dict[Stage, float] = Field(default_factory=dict)


def _initial_stages() -> dict[Stage, StageState]:
    return {stage: StageState() for stage in STAGE_ORDER}


class Experiment(DomainModel):
    id: str = Field(default_factory=new_id)
    number: int = Field(ge=1, description="per-project Exp #N, assigned in a transaction")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    dataset_id: str
    feature_config_id: str
    model_config_id: str
    dataset_snapshot: Dataset
    feature_config_snapshot: FeatureConfig
    model_config_snapshot: ModelConfig
    parameters: QuickTestParameters
    full_training: FullTrainingParameters | None = Field(
        default=None, description="set for a full training: early stopping, export, the quick test it came from "
                                  "(decisions 070, 075); None for a quick test")
    status: Status = Status.PENDING
    stages: dict[Stage, StageState] = Field(default_factory=_initial_stages)
    cancel_requested: bool = False
    cloud_build_id: str | None = None
    pipeline_job_name: str | None = None
    mlflow_run_id: str | None = None
    results: MetricsReport | None = None
    comparison: dict[str, Any] | None = None
    error: ClassifiedError | None = None
    estimate: Estimate | None = None
    tracking: TrackingState | None = Field(default=None, description="whether MLflow holds the run's tracking yet")
    protocol: RunProtocol | None = Field(default=None, description="what its numbers compare with (decision 062)")
    data_check: DataCheck | None = Field(default=None, description="split and corpus counts at launch")
    warnings: list[LaunchWarning] = Field(default_factory=list, description="launch warnings (decision 061)")
    sweep: SweepMembership | None = Field(default=None, description="its sweep cell and seed group (decision 066)")
    created_by: str | None = Field(default=None, description="the user IAP vouched for who started it (decision 053)")
    created_at: Timestamp = Field(default_factory=utcnow)
    updated_at: Timestamp = Field(default_factory=utcnow)
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None

    @model_validator(mode="after")
    def _stages_of_its_kind(self) -> Experiment:
        for stage in stage_order(self.run_kind):
            self.stages.setdefault(stage, StageState())
        return self

    @property
    def run_kind(self) -> RunKind:
        return "quick_test" if self.full_training is None else "full_training"

    @property
    def label(self) -> str:
        return f"Exp #{self.number}"
