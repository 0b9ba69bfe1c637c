"""The platform's records in a pipeline task on Vertex AI keep their fields (issue 15, Pipeline tab logs).

A Vertex AI pipeline task runs TFX's ``kubeflow_v2_run_executor`` under ``absl.app.run``, whose handler on the
root logger writes ``I1204 21:28:59.758 123 trainer_data.py:80] split read``: a record's fields (the rows, an
epoch's losses) were lost before Cloud Logging saw the line. The pipeline image sets
``PLATFORM_COMPONENT_LOGS=json`` (docker/tfx-pipeline/Dockerfile): the platform's records are then one JSON line
each on stdout, which Cloud Logging parses into the entry's ``jsonPayload`` and the Cloud Logging adapter turns
back into the component log's line (tests/contract/test_logs_contract.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# A task's process as kubeflow_v2_run_executor runs it: absl's app.run, INFO verbosity, then the component's code.
TASK = """
from absl import app, logging as absl_logging

def main(argv):
    absl_logging.set_verbosity(absl_logging.INFO)
    import numpy as np
    from experiments_platform.pipeline.trainer_data import counted
    counted("train", {"item": np.zeros(1200)})
    absl_logging.info("TFX's own line")

app.run(main)
"""


def run_task(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "PLATFORM_COMPONENT_LOGS"}
    return subprocess.run([sys.executable, "-c", TASK], capture_output=True, text=True, timeout=300, check=True,
                          env={**environment, "TF_CPP_MIN_LOG_LEVEL": "3", **env})


def test_in_the_pipeline_image_the_platforms_records_are_json_lines_with_their_fields():
    done = run_task(PLATFORM_COMPONENT_LOGS="json")
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    [record] = [r for r in records if r.get("message") == "split read"]
    assert record["logger"] == "experiments_platform.pipeline.trainer_data" and record["severity"] == "INFO"
    assert (record["split"], record["rows"]) == ("train", 1200)
    assert "split read" not in done.stderr, "once, not also through absl's handler"
    assert "TFX's own line" in done.stderr, "TFX's records still go through absl"


def test_elsewhere_the_records_go_through_the_root_loggers_handlers():
    done = run_task()
    assert "split read" not in done.stdout
    assert "split read" in done.stderr


def test_the_pipeline_image_sets_it():
    dockerfile = Path(__file__).resolve().parents[2] / "docker" / "tfx-pipeline" / "Dockerfile"
    assert "PLATFORM_COMPONENT_LOGS=json" in dockerfile.read_text()
