"""Another process using the local runners on the same data folder (run by the cross-process tests).

    python runner_process.py DATA_DIR TFX_PYTHON cancel-job JOB_NAME
    python runner_process.py DATA_DIR TFX_PYTHON cancel-build BUILD_ID
    python runner_process.py DATA_DIR TFX_PYTHON state JOB_NAME
    python runner_process.py DATA_DIR TFX_PYTHON start EXPERIMENT_ID SPEC_URI

Every message it publishes is printed as one JSON line ``{"topic", "data", "attributes"}``; the
result is one line ``{"result": ...}``, which messages published while the process exits may
follow. ``start`` returns as soon as the build has submitted its pipeline job and exits without
waiting for it: a runner process that goes away mid-job.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from experiments_platform.adapters.local_builds import LocalBuildService
from experiments_platform.adapters.local_pipelines import LocalPipelineService
from experiments_platform.config import Settings


class PrintingBus:
    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        print(json.dumps({"topic": topic, "data": data.decode(), "attributes": dict(attributes or {})}), flush=True)
        return "1"


def main(data_dir: str, tfx_python: str, command: str, *args: str) -> object:
    settings = Settings(data_dir=Path(data_dir), tfx_python=tfx_python)
    bus = PrintingBus()
    pipelines = LocalPipelineService(settings, bus)
    builds = LocalBuildService(settings, bus, pipelines)
    if command == "cancel-job":
        pipelines.cancel(args[0])
        return pipelines.state(args[0])
    if command == "cancel-build":
        builds.cancel(args[0])
        return builds.status(args[0])
    if command == "state":
        return pipelines.state(args[0])
    if command == "start":
        pipelines.pool.idle = 0
        build_id = builds.start(args[0], args[1])
        status = builds.wait(build_id, timeout=300)
        return {"build_id": build_id, "status": status, "job": builds.result(build_id).pipeline_job_name}
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    print(json.dumps({"result": main(*sys.argv[1:])}), flush=True)
