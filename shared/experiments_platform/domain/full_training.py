"""What a full training adds to a quick test's parameters (decision 070), and the GPU tiers (decision 074).

Pure data shared by both environments: the services store ``FullTrainingParameters`` on the
experiment and pass them to ``domain.pipeline_spec.build_spec``; the pipeline reads them from the spec.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RunKind = Literal["quick_test", "full_training"]
Accelerator = Literal["T4", "A100"]
PRODUCTION_ALIAS = "production"


class FullTrainingParameters(BaseModel):
    """Early stopping, the serving signature's k, the quick test it came from and the accelerator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_epochs: int = Field(default=30, ge=1, le=200, description="most epochs; the quick test's `epochs` is ignored")
    patience: int = Field(default=3, ge=1, le=50,
                          description="epochs without improvement of the monitored recall before stopping")
    monitor_k: Literal[10, 50, 100] = Field(
        default=100, description="early stopping monitors val_recall_at_{k}: exact recall@k of the eval split")
    min_delta: float = Field(default=0.0, ge=0, le=1, description="smallest rise of the monitored recall that counts")
    source_experiment_id: str | None = Field(default=None, max_length=64,
                                             description="the quick test this run came from")
    top_k: int = Field(default=100, ge=1, le=1000, description="candidates the exported serving signature returns")
    accelerator: Accelerator | None = Field(default=None, description="GPU of the Vertex AI trainer; None: CPU")

    @property
    def monitor(self) -> str:
        return f"val_recall_at_{self.monitor_k}"


class GpuTier(BaseModel):
    """A Vertex AI custom-job machine with one accelerator (decision 074)."""

    model_config = ConfigDict(frozen=True)

    machine_type: str
    accelerator_type: str
    accelerator_count: int = 1


GPU_TIERS: dict[Accelerator, GpuTier] = {
    "T4": GpuTier(machine_type="n1-standard-8", accelerator_type="NVIDIA_TESLA_T4"),
    "A100": GpuTier(machine_type="a2-highgpu-1g", accelerator_type="NVIDIA_TESLA_A100"),
}
