"""Every error code an experiment can fail with, once: its title and how to fix it.

A code is found in raw failure text (``domain.error_patterns`` holds the regexes that find it and
the more precise fixes built from what they capture) or decided by the platform itself (a build
that submitted no pipeline, a pipeline that wrote no metrics, ...). Code that fails an experiment
names the code here (``error_codes.METRICS_MISSING.error(stage=Stage.TRAIN)``) and never writes
a title or a fix of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from experiments_platform.domain.experiment import ClassifiedError
from experiments_platform.domain.status import Stage


@dataclass(frozen=True)
class ErrorCode:
    """One kind of failure as the user sees it: a stable ``code``, a ``title`` and a ``fix``."""

    code: str
    title: str
    fix: str

    def error(self, *, stage: Stage | None = None, excerpt: str = "", fix: str | None = None) -> ClassifiedError:
        """The error stored on a failed experiment; ``fix`` replaces the general fix with a precise one."""
        return ClassifiedError(code=self.code, title=self.title, suggestion=fix or self.fix, stage=stage,
                               excerpt=excerpt)


# --- found in failure text (domain.error_patterns), most specific first ---------------------------

PIPELINE_CANCELLED = ErrorCode(
    code="PIPELINE_CANCELLED",
    title="The run was cancelled",
    fix="The experiment was cancelled before it finished. Start it again when you are ready.",
)
DISK_FULL = ErrorCode(
    code="DISK_FULL",
    title="The disk is full",
    fix="A worker ran out of disk space. Use a smaller sample, clean up old pipeline runs, or choose a larger "
        "hardware tier (its workers get larger disks).",
)
QUOTA_EXCEEDED = ErrorCode(
    code="QUOTA_EXCEEDED",
    title="A Google Cloud quota was exceeded",
    fix="The project has hit a quota (CPUs, jobs or API requests). Wait for running experiments to finish, choose a "
        "smaller hardware tier, or request a quota increase in the Cloud console (IAM & Admin → Quotas).",
)
IMAGE_PULL_FAILED = ErrorCode(
    code="IMAGE_PULL_FAILED",
    title="The container image could not be pulled",
    fix="The pipeline or compiler image does not exist or cannot be read. Check PLATFORM_PIPELINE_IMAGE / "
        "PLATFORM_COMPILER_IMAGE, that the image was pushed to Artifact Registry, and that the Vertex AI service agent "
        "may read the repository.",
)
MLFLOW_UNREACHABLE = ErrorCode(
    code="MLFLOW_UNREACHABLE",
    title="The MLflow tracking server could not be reached",
    fix="Training stopped because it could not log to MLflow. Check that the tracking server is running and that "
        "PLATFORM_MLFLOW_TRACKING_URI points to it, then start the experiment again.",
)
BIGQUERY_TABLE_NOT_FOUND = ErrorCode(
    code="BIGQUERY_TABLE_NOT_FOUND",
    title="The BigQuery table was not found",
    fix="The dataset's table does not exist (or is in another location). Check the table reference of the dataset and "
        "the region it lives in.",
)
BIGQUERY_ACCESS_DENIED = ErrorCode(
    code="BIGQUERY_ACCESS_DENIED",
    title="Access to BigQuery was denied",
    fix="The pipeline's service account may not read the table or run query jobs. Grant it roles/bigquery.dataViewer "
        "on the dataset and roles/bigquery.jobUser on the project.",
)
BIGQUERY_SYNTAX_ERROR = ErrorCode(
    code="BIGQUERY_SYNTAX_ERROR",
    title="The generated BigQuery SQL was rejected",
    fix="BigQuery could not parse the sampling/split query. This is a platform bug when it happens with valid "
        "configs: report it with the experiment id and the raw details.",
)
UNKNOWN_COLUMN = ErrorCode(
    code="UNKNOWN_COLUMN",
    title="A configured column does not exist in the data",
    fix="The feature config or split settings refer to a column the table does not have. Compare the configured "
        "column names with the dataset's columns.",
)
COLUMN_TYPE_MISMATCH = ErrorCode(
    code="COLUMN_TYPE_MISMATCH",
    title="A column holds values of the wrong type",
    fix="A column's values are not of the type the experiment needs: text in a numeric feature's column, a date "
        "column stored as text, an id column of decimals. Fix the column in the data and register the dataset "
        "again, or change the feature's kind (categorical or text for words).",
)
EMPTY_SPLIT = ErrorCode(
    code="EMPTY_SPLIT",
    title="A data split is empty",
    fix="After sampling and splitting, a split has no rows. Increase the sample percentage, widen the time windows of "
        "the split, or check the date column's range.",
)
EMPTY_VOCABULARY = ErrorCode(
    code="EMPTY_VOCABULARY",
    title="A feature's vocabulary is empty",
    fix="A categorical or id feature has no values in the training split, so its vocabulary is empty. Check that the "
        "column is filled for the sampled rows, or remove it from the feature config.",
)
NAN_LOSS = ErrorCode(
    code="NAN_LOSS",
    title="Training diverged (the loss became NaN)",
    fix="The loss became NaN or infinite. Lower the learning rate, add L2 regularisation, or normalise numeric "
        "features; check numeric columns for extreme values.",
)
EMBEDDING_INDEX_OUT_OF_RANGE = ErrorCode(
    code="EMBEDDING_INDEX_OUT_OF_RANGE",
    title="An id is outside its embedding table",
    fix="A feature produced an index larger than its embedding table, usually a vocabulary size that does not match "
        "the embedding's input size. Report it with the raw details; as a workaround raise max_vocab_size or the OOV "
        "buckets of that feature.",
)
SCHEMA_MISMATCH = ErrorCode(
    code="SCHEMA_MISMATCH",
    title="The data does not match the expected schema",
    fix="A column's type or presence differs from what the pipeline expects (for example numbers stored as text, or "
        "missing values in a required feature). Check the column types of the dataset and the feature kinds in the "
        "feature config.",
)
TRANSFORM_ANALYZER_FAILED = ErrorCode(
    code="TRANSFORM_ANALYZER_FAILED",
    title="Feature preprocessing (Transform) failed",
    fix="Computing vocabularies or statistics for a feature failed. Check the feature kinds against the column types "
        "(a text column configured as numeric, for example) and the Transform component log.",
)
TOWER_WIDTH_MISMATCH = ErrorCode(
    code="TOWER_WIDTH_MISMATCH",
    title="The two towers' embeddings differ in width",
    fix="A pair is scored by the dot product of the query and the candidate embedding, so both towers must end "
        "in the same width. Give both towers the same last layer, or set output_dim.",
)
TENSOR_SHAPE_MISMATCH = ErrorCode(
    code="TENSOR_SHAPE_MISMATCH",
    title="Tensor shapes or types do not fit",
    fix="Two layers or features disagree on shape or type, usually embedding dimensions that differ between the "
        "towers or a cross feature. Give both towers the same output dimension and check the model config.",
)
OUT_OF_MEMORY = ErrorCode(
    code="OUT_OF_MEMORY",
    title="Out of memory",
    fix="A step needed more memory than the machine has. Reduce batch_size or the sample percentage, use smaller "
        "embeddings, or select a larger hardware tier (medium 30 GB, large 60 GB).",
)
WORKER_KILLED = ErrorCode(
    code="WORKER_KILLED",
    title="The pipeline worker was killed",
    fix="Something outside the pipeline ended the worker's process: the kernel's out-of-memory killer when the "
        "machine ran out of memory, a kill by hand, or a shutdown. Start the experiment again; if it is killed "
        "again in the same stage, give it more memory (a smaller sample or batch_size, or a larger hardware tier).",
)
RUNNER_LOST = ErrorCode(
    code="RUNNER_LOST",
    title="The local runner stopped before the experiment finished",
    fix="The process running the local build and pipeline runners (the local stack) stopped or crashed while this "
        "experiment ran, and its build or pipeline worker ended without a result. Start the experiment again, and "
        "keep the stack running until it finishes.",
)
DATAFLOW_WORKER_FAILED = ErrorCode(
    code="DATAFLOW_WORKER_FAILED",
    title="A Dataflow (Beam) worker failed",
    fix="The Dataflow job of a data step failed. Open the component log for the first worker error; out-of-memory "
        "workers need a larger hardware tier.",
)
PERMISSION_DENIED = ErrorCode(
    code="PERMISSION_DENIED",
    title="Permission denied",
    fix="A service account lacks a role. The raw details name the permission: grant the matching role to the service "
        "account of the failing step (see docs/deploy.md for each service's roles).",
)
TIMEOUT = ErrorCode(
    code="TIMEOUT",
    title="The run timed out",
    fix="A step ran longer than its time limit. Use a smaller sample or fewer epochs, or a larger hardware tier; if "
        "it happened while starting, try again later.",
)
MISSING_MODULE = ErrorCode(
    code="MISSING_MODULE",
    title="A Python module is missing",
    fix="The pipeline environment lacks a module the pipeline imports. On Google Cloud rebuild the pipeline image "
        "from the project's Dockerfile and make sure PLATFORM_PIPELINE_IMAGE points to it; on one machine "
        "PLATFORM_TFX_PYTHON must be the pipeline environment's python (.venv-tfx/bin/python).",
)
SERVICE_UNAVAILABLE = ErrorCode(
    code="SERVICE_UNAVAILABLE",
    title="A Google Cloud service was temporarily unavailable",
    fix="A service did not answer (a transient failure). Start the experiment again; if it keeps failing, check the "
        "Google Cloud status page.",
)
INVALID_ARGUMENT = ErrorCode(
    code="INVALID_ARGUMENT",
    title="TensorFlow rejected an input",
    fix="An operation received a value it cannot handle. The raw details name the operation; check the feature kinds "
        "and the model config, and report it if the configs are valid.",
)
BUILD_FAILED = ErrorCode(
    code="BUILD_FAILED",
    title="The pipeline compile step failed",
    fix="The build that compiles and submits the pipeline failed. Open the Compile log for the failing step.",
)

# --- decided by the platform ----------------------------------------------------------------------

BUILD_WITHOUT_JOB = ErrorCode(
    code="BUILD_WITHOUT_JOB",
    title="The build finished without submitting a pipeline",
    fix="Check the Compile log: the submit step must report the pipeline job name.",
)
METRICS_MISSING = ErrorCode(
    code="METRICS_MISSING",
    title="The pipeline finished without writing its metrics",
    fix="Open the Trainer log: the evaluation step must write metrics.json.",
)
METRICS_MALFORMED = ErrorCode(
    code="METRICS_MALFORMED",
    title="The pipeline wrote metrics the platform cannot read",
    fix="metrics.json is not a metrics report (the raw details name the fields): the pipeline and the services "
        "run different versions of the platform, or the file was changed. Run the experiment again; if it "
        "persists, open the Evaluator log.",
)
SUBMIT_UNAVAILABLE = ErrorCode(
    code="SUBMIT_UNAVAILABLE",
    title="The experiment could not be submitted",
    fix="The message bus did not accept the submit command; start the experiment again.",
)
UNKNOWN = ErrorCode(
    code="UNKNOWN",
    title="The experiment failed",
    fix="The error was not recognised. Read the raw details and the component logs; if it persists, report it "
    "with the experiment id.",
)

CODES: dict[str, ErrorCode] = {value.code: value for value in list(globals().values()) if isinstance(value, ErrorCode)}
"""Every code by its name."""
