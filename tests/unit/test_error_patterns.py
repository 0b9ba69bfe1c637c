"""Error classification: a raw message per pattern, plus the unknown fallback and the excerpt bounds.

The messages of ``RAW`` are written after what TF, Beam, BigQuery, Vertex AI, Cloud Build, MLflow
and the OS print, not recorded here; ``IMAGINED`` names the codes no recorded failure backs yet.
The real failures, provoked and recorded, are the corpus in ``tests/fixtures/failures``
(``test_failure_corpus.py``): every pattern code has a message here or a case there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from experiments_platform.domain.error_patterns import (
    EXCERPT_MAX_CHARS,
    PATTERNS,
    UNKNOWN_TAIL_LINES,
    classify,
)
from experiments_platform.domain.experiment import ClassifiedError
from experiments_platform.domain.status import Stage

TRACEBACK = "Traceback (most recent call last):\n  File \"/pipeline/trainer.py\", line 88, in run_fn\n"
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "failures"
RECORDED = {json.loads(path.read_text())["expected_code"] for path in CORPUS.glob("*/*.json")}
IMAGINED = {
    # no failure provoked here gives these texts: Google Cloud only, or not reproduced on this machine
    "PIPELINE_CANCELLED", "QUOTA_EXCEEDED", "IMAGE_PULL_FAILED", "BIGQUERY_TABLE_NOT_FOUND", "BIGQUERY_ACCESS_DENIED",
    "BIGQUERY_SYNTAX_ERROR", "EMPTY_VOCABULARY", "EMBEDDING_INDEX_OUT_OF_RANGE", "SCHEMA_MISMATCH",
    "TRANSFORM_ANALYZER_FAILED", "TENSOR_SHAPE_MISMATCH", "DATAFLOW_WORKER_FAILED", "PERMISSION_DENIED", "TIMEOUT",
    "SERVICE_UNAVAILABLE", "INVALID_ARGUMENT", "BUILD_FAILED",
}

RAW: dict[str, tuple[str, str]] = {
    # code: (raw text, a line the excerpt must keep)
    "PIPELINE_CANCELLED": (
        "I1127 10:01:02 pipeline_job.py Job state: PIPELINE_STATE_CANCELLING\n"
        "I1127 10:01:09 pipeline_job.py Job state: PIPELINE_STATE_CANCELLED\n",
        "PIPELINE_STATE_CANCELL",
    ),
    "DISK_FULL": (
        TRACEBACK + "    f.write(serialized)\nOSError: [Errno 28] No space left on device: "
        "'/tmp/tftransform_tmp/vocab_user_id'\n",
        "No space left on device",
    ),
    "QUOTA_EXCEEDED": (
        "google.api_core.exceptions.ResourceExhausted: 429 The following quota metrics exceed quota limits: "
        "aiplatform.googleapis.com/custom_model_training_cpus\n",
        "quota metrics exceed",
    ),
    "IMAGE_PULL_FAILED": (
        "Warning  Failed  kubelet  Failed to pull image \"europe-west1-docker.pkg.dev/acme/recs/tfx-pipeline:v7\": "
        "rpc error: code = NotFound desc = failed to pull and unpack image: manifest unknown\n"
        "Warning  Failed  kubelet  Error: ErrImagePull\n",
        "Failed to pull image",
    ),
    "MLFLOW_UNREACHABLE": (
        TRACEBACK + "mlflow.exceptions.MlflowException: API request to http://10.0.0.7:5000/api/2.0/mlflow/runs/create "
        "failed with exception HTTPConnectionPool(host='10.0.0.7', port=5000): Max retries exceeded with url: "
        "/api/2.0/mlflow/runs/create (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at "
        "0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))\n",
        "API request to",
    ),
    "BIGQUERY_TABLE_NOT_FOUND": (
        "google.api_core.exceptions.NotFound: 404 Not found: Table acme-prod:sales.transactions_v2 was not found "
        "in location EU\n\nLocation: EU\nJob ID: 6b1e0e2c-5a40-4d1e-9f3f-1d2c3b4a5e6f\n",
        "Not found: Table",
    ),
    "BIGQUERY_ACCESS_DENIED": (
        "google.api_core.exceptions.Forbidden: 403 Access Denied: Table acme-prod:sales.transactions: User does "
        "not have permission to query table acme-prod:sales.transactions, or perhaps it does not exist.\n",
        "Access Denied: Table",
    ),
    "BIGQUERY_SYNTAX_ERROR": (
        "google.api_core.exceptions.BadRequest: 400 Syntax error: Unexpected keyword FROM at [4:1]; reason: "
        "invalidQuery, location: query, message: Syntax error: Unexpected keyword FROM at [4:1]\n",
        "Syntax error",
    ),
    "UNKNOWN_COLUMN": (
        "google.api_core.exceptions.BadRequest: 400 Unrecognized name: custmer_id; Did you mean customer_id? "
        "at [3:8]\n",
        "Unrecognized name",
    ),
    "EMPTY_SPLIT": (
        TRACEBACK + "  File \"/usr/local/lib/python3.10/site-packages/tf_keras/src/engine/training.py\", line 1816\n"
        "ValueError: Unexpected result of `train_function` (Empty logs). This could be due to issues in input "
        "pipeline that resulted in an empty dataset. Otherwise, please use `Model.compile(..., run_eagerly=True)`\n",
        "Empty logs",
    ),
    "EMPTY_VOCABULARY": (
        TRACEBACK + "  File \"/usr/local/lib/python3.10/site-packages/tf_keras/src/layers/preprocessing/"
        "index_lookup.py\", line 521, in set_vocabulary\nValueError: Cannot set an empty vocabulary, you passed [].\n",
        "Cannot set an empty vocabulary",
    ),
    "NAN_LOSS": (
        "Epoch 2/3\n 41/79 [==============>...............] - ETA: 3s - loss: 7.2031\n"
        "Batch 42: Invalid loss, terminating training\n",
        "Invalid loss",
    ),
    "EMBEDDING_INDEX_OUT_OF_RANGE": (
        "tensorflow.python.framework.errors_impl.InvalidArgumentError: Graph execution error:\n"
        "indices[47] = 20000 is not in [0, 20000)\n\t [[{{node query_tower/embedding/embedding_lookup}}]]\n",
        "is not in [0, 20000)",
    ),
    "SCHEMA_MISMATCH": (
        "tensorflow.python.framework.errors_impl.InvalidArgumentError: Name: <unknown>, Key: age.  Data types "
        "don't match. Data type: int64 but expected type: float\n\t [[{{node ParseExample/ParseExampleV2}}]]\n",
        "Data types don't match",
    ),
    "TRANSFORM_ANALYZER_FAILED": (
        "RuntimeError: TypeError: Input 'x' of 'Mean' Op has type string that is not a numeric type "
        "[while running 'Analyze/AnalyzeDataset[Transform]/ComputeAnalyzerOutputs/scale_to_z_score/mean_and_var']\n",
        "while running 'Analyze",
    ),
    "TENSOR_SHAPE_MISMATCH": (
        TRACEBACK + "tensorflow.python.framework.errors_impl.InvalidArgumentError: Graph execution error:\n"
        "Incompatible shapes: [1024,64] vs. [1024,32]\n\t [[{{node retrieval/MatMul}}]]\n",
        "Incompatible shapes",
    ),
    "OUT_OF_MEMORY": (
        "tensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM when allocating tensor with "
        "shape[1024,2000000] and type float on /job:localhost/replica:0/task:0/device:CPU:0 by allocator cpu\n",
        "OOM when allocating",
    ),
    "DATAFLOW_WORKER_FAILED": (
        "apache_beam.runners.dataflow.dataflow_runner.DataflowRuntimeException: Dataflow pipeline failed. "
        "State: FAILED, Error:\nWorkflow failed. Causes: S04:Analyze/AnalyzeDataset failed., The job failed "
        "because a work item has failed 4 times. Look in previous log entries for the cause of each one of the "
        "4 failures.\n",
        "DataflowRuntimeException",
    ),
    "PERMISSION_DENIED": (
        "google.api_core.exceptions.PermissionDenied: 403 Permission 'aiplatform.pipelineJobs.create' denied on "
        "resource '//aiplatform.googleapis.com/projects/acme-prod/locations/europe-west1' (or it may not exist). "
        "[reason: \"IAM_PERMISSION_DENIED\"]\n",
        "Permission 'aiplatform.pipelineJobs.create' denied",
    ),
    "TIMEOUT": (
        "google.api_core.exceptions.RetryError: Timeout of 600.0s exceeded, last exception: 504 Deadline "
        "Exceeded\n",
        "Deadline",
    ),
    "MISSING_MODULE": (
        TRACEBACK + "ModuleNotFoundError: No module named 'tensorflow_recommenders'\n",
        "No module named",
    ),
    "SERVICE_UNAVAILABLE": (
        "google.api_core.exceptions.ServiceUnavailable: 503 failed to connect to all addresses; last error: "
        "UNAVAILABLE: ipv4:142.250.74.106:443: Socket closed\n",
        "ServiceUnavailable",
    ),
    "INVALID_ARGUMENT": (
        "tensorflow.python.framework.errors_impl.InvalidArgumentError: Graph execution error:\n"
        "Detected at node 'Reshape' defined at (most recent call last):\n"
        "Input to reshape is a tensor with 512 values, but the requested shape has 256\n",
        "InvalidArgumentError",
    ),
    "BUILD_FAILED": (
        "Step #1 - \"compile\": ValueError: pipeline name 'Quick_Test' does not match [a-z0-9][a-z0-9-]{0,127}\n"
        "Finished Step #1 - \"compile\"\n"
        "ERROR: build step 1 \"europe-west1-docker.pkg.dev/acme/recs/compiler:v7\" failed: step exited with "
        "non-zero status: 1\n",
        "ERROR: build step 1",
    ),
}


def test_at_least_fifteen_patterns_with_unique_codes() -> None:
    codes = [p.code for p in PATTERNS]
    assert len(codes) >= 15
    assert len(set(codes)) == len(codes)
    assert all(p.title and p.suggestion for p in PATTERNS)


def test_every_pattern_has_a_message_here_or_a_recorded_failure() -> None:
    codes = {p.code for p in PATTERNS}
    assert codes == set(RAW) | RECORDED
    assert codes - RECORDED == IMAGINED, "IMAGINED must list exactly the codes the corpus does not back"


@pytest.mark.parametrize("code", sorted(RAW))
def test_each_pattern(code: str) -> None:
    text, kept = RAW[code]
    error = classify(text, Stage.TRAIN)
    assert isinstance(error, ClassifiedError)
    assert error.code == code
    assert error.stage == Stage.TRAIN
    assert kept in error.excerpt
    assert error.excerpt in text


def test_details_from_the_message_enter_the_suggestion() -> None:
    assert "'custmer_id'" in classify(RAW["UNKNOWN_COLUMN"][0]).suggestion
    assert "acme-prod:sales.transactions_v2" in classify(RAW["BIGQUERY_TABLE_NOT_FOUND"][0]).suggestion
    assert "aiplatform.googleapis.com/custom_model_training_cpus" in classify(RAW["QUOTA_EXCEEDED"][0]).suggestion
    assert "aiplatform.pipelineJobs.create" in classify(RAW["PERMISSION_DENIED"][0]).suggestion
    assert "tfx-pipeline:v7" in classify(RAW["IMAGE_PULL_FAILED"][0]).suggestion
    assert "'tensorflow_recommenders'" in classify(RAW["MISSING_MODULE"][0]).suggestion


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("google.api_core.exceptions.ResourceExhausted: 429 Quota exceeded for quota metric 'Queries'",
         "QUOTA_EXCEEDED"),
        ("OSError: [Errno 122] Disk quota exceeded", "DISK_FULL"),
        ("API request to http://mlflow:5000/api/2.0/mlflow/runs/log-batch failed with timeout exception "
         "HTTPConnectionPool(host='mlflow', port=5000): Read timed out. (read timeout=120)", "MLFLOW_UNREACHABLE"),
        ("403 Access Denied: Dataset acme:sales: Permission bigquery.tables.getData denied", "BIGQUERY_ACCESS_DENIED"),
        ("The replica workerpool0-0 ran out-of-memory and exited with a non-zero status of 137.", "OUT_OF_MEMORY"),
        ("[2026-11-27 10:00:00] ExampleGen subprocess output:\nKilled\n", "OUT_OF_MEMORY"),
        ("Binder Error: Referenced column \"byuer_id\" not found in FROM clause!", "UNKNOWN_COLUMN"),
        ("InvalidArgumentError: Tensor had NaN values\n\t [[{{node CheckNumerics}}]]", "NAN_LOSS"),
        ("Feature: user_id (data type: string) is required but could not be found.", "SCHEMA_MISMATCH"),
    ],
)
def test_priority_between_overlapping_patterns(text: str, code: str) -> None:
    assert classify(text).code == code


def test_excerpt_keeps_the_lines_around_the_match_only() -> None:
    noise = [f"INFO line {i}" for i in range(200)]
    text = "\n".join([*noise[:100], "ValueError: Cannot set an empty vocabulary, you passed [].", *noise[100:]])
    excerpt = classify(text).excerpt.splitlines()
    assert excerpt[0] == "INFO line 97" and excerpt[3].startswith("ValueError") and excerpt[-1] == "INFO line 105"


def test_excerpt_is_bounded_for_huge_lines() -> None:
    text = "x" * 50_000 + " OOM when allocating tensor " + "y" * 50_000
    assert len(classify(text).excerpt) <= EXCERPT_MAX_CHARS + 3


def test_unknown_error_keeps_the_tail() -> None:
    lines = [f"step {i}" for i in range(100)] + ["SomethingOdd: the flux capacitor refused"]
    error = classify("\n".join(lines), Stage.TRANSFORM)
    assert (error.code, error.stage) == ("UNKNOWN", Stage.TRANSFORM)
    assert error.title and error.suggestion
    assert error.excerpt.splitlines()[-1] == "SomethingOdd: the flux capacitor refused"
    assert len(error.excerpt.splitlines()) == UNKNOWN_TAIL_LINES


def test_empty_text_is_unknown() -> None:
    assert classify("").code == "UNKNOWN"
