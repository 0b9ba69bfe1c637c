"""Settings of a benchmark's own local stack: a fresh data folder with the cached MovieLens wheel and an
MLflow server on a free port."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from experiments_platform.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def benchmark_stack_settings(data_dir: Path) -> Settings:
    wheels = ROOT / "var" / "cache"
    if wheels.is_dir() and not (data_dir / "cache").exists():
        shutil.copytree(wheels, data_dir / "cache")  # the MovieLens wheel, not downloaded again
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        mlflow_port = probe.getsockname()[1]
    return Settings(data_dir=data_dir, tfx_python=str(ROOT / ".venv-tfx" / "bin" / "python"),
                    mlflow_tracking_uri=f"http://127.0.0.1:{mlflow_port}")
