"""Classify raw failure text (tracebacks, build logs, Vertex/Dataflow errors) into user-facing errors.

``classify(text, stage)`` tries ``PATTERNS`` in order (the most specific first) and returns a
``ClassifiedError`` with a stable code, a title, a fix suggestion and the raw lines around the
match (bounded), so the details view can show what really happened. Text that matches nothing
becomes ``UNKNOWN`` with the last lines of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from experiments_platform.domain.experiment import ClassifiedError
from experiments_platform.domain.status import Stage

EXCERPT_BEFORE = 3
EXCERPT_AFTER = 6
EXCERPT_MAX_CHARS = 4000
UNKNOWN_TAIL_LINES = 20


@dataclass(frozen=True)
class ErrorPattern:
    """One kind of failure.

    ``detail`` is a more precise suggestion using named groups of the regexes; it is used when
    every group it names matched, otherwise ``suggestion``.
    """

    code: str
    title: str
    suggestion: str
    regexes: tuple[str, ...]
    detail: str | None = None
    compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", tuple(re.compile(r, re.IGNORECASE | re.MULTILINE) for r in self.regexes))

    def search(self, text: str) -> re.Match[str] | None:
        found = [m for m in (regex.search(text) for regex in self.compiled) if m]
        return min(found, key=lambda m: m.start()) if found else None

    def suggestion_for(self, match: re.Match[str]) -> str:
        if self.detail:
            groups = {k: v for k, v in match.groupdict().items() if v}
            try:
                return self.detail.format(**groups)
            except KeyError:
                pass
        return self.suggestion


PATTERNS: tuple[ErrorPattern, ...] = (
    ErrorPattern(
        code="PIPELINE_CANCELLED",
        title="The run was cancelled",
        suggestion="The experiment was cancelled before it finished. Start it again when you are ready.",
        regexes=(
            r"PIPELINE_STATE_CANCELL(?:ED|ING)",
            r"\b(?:build|job|pipeline|run|experiment) (?:was|has been) cancell?ed\b",
            r"\bcancell?ed by (?:the )?user\b",
        ),
    ),
    ErrorPattern(
        code="DISK_FULL",
        title="The disk is full",
        suggestion="A worker ran out of disk space. Use a smaller sample, clean up old pipeline runs, "
        "or choose a larger hardware tier (its workers get larger disks).",
        regexes=(r"No space left on device", r"\[Errno 28\]", r"Disk quota exceeded", r"\bDISK_FULL\b"),
    ),
    ErrorPattern(
        code="QUOTA_EXCEEDED",
        title="A Google Cloud quota was exceeded",
        suggestion="The project has hit a quota (CPUs, jobs or API requests). Wait for running experiments "
        "to finish, choose a smaller hardware tier, or request a quota increase in the Cloud console "
        "(IAM & Admin → Quotas).",
        regexes=(
            r"quota metrics exceed quota limits(?::\s*(?P<metric>[\w./-]+))?",
            r"Quota '(?P<metric>[A-Z_]+)' exceeded",
            r"\bQuota exceeded\b",
            r"\bQUOTA_EXCEEDED\b",
            r"exceeded (?:the )?quota",
            r"\brateLimitExceeded\b",
        ),
        detail="The project has hit the quota {metric}. Wait for running experiments to finish, choose a "
        "smaller hardware tier, or request an increase of {metric} in the Cloud console (IAM & Admin → Quotas).",
    ),
    ErrorPattern(
        code="IMAGE_PULL_FAILED",
        title="The container image could not be pulled",
        suggestion="The pipeline or compiler image does not exist or cannot be read. Check "
        "PLATFORM_PIPELINE_IMAGE / PLATFORM_COMPILER_IMAGE, that the image was pushed to Artifact Registry, "
        "and that the Vertex AI service agent may read the repository.",
        regexes=(
            r"Failed to pull image \"?(?P<image>[^\s\"]+)",
            r"Unable to pull (?:the )?(?:container )?image \"?(?P<image>[^\s\"]+)",
            r"\bErrImagePull\b",
            r"\bImagePullBackOff\b",
            r"manifest for (?P<image>\S+) not found",
            r"manifest unknown",
            r"pull access denied for (?P<image>[^\s,]+)",
        ),
        detail="The image {image} does not exist or cannot be read. Check that it was pushed to Artifact "
        "Registry under that name and tag, and that the Vertex AI service agent may read the repository.",
    ),
    ErrorPattern(
        code="MLFLOW_UNREACHABLE",
        title="The MLflow tracking server could not be reached",
        suggestion="Training stopped because it could not log to MLflow. Check that the tracking server "
        "is running and that PLATFORM_MLFLOW_TRACKING_URI points to it, then start the experiment again.",
        regexes=(
            r"API request to (?P<url>\S*/api/2\.0/mlflow/\S*) failed with (?:timeout )?exception",
            r"MLflow tracking server (?:at (?P<url>\S+) )?(?:is )?(?:unreachable|not reachable|cannot be reached)",
            r"mlflow\S* .*(?:Connection refused|Max retries exceeded)",
        ),
        detail="Training stopped because {url} did not answer. Check that the MLflow tracking server is "
        "running and that PLATFORM_MLFLOW_TRACKING_URI points to it, then start the experiment again.",
    ),
    ErrorPattern(
        code="BIGQUERY_TABLE_NOT_FOUND",
        title="The BigQuery table was not found",
        suggestion="The dataset's table does not exist (or is in another location). Check the table "
        "reference of the dataset and the region it lives in.",
        regexes=(r"Not found: (?:Table|Dataset|View) (?P<table>[\w.:-]+)",),
        detail="The table {table} does not exist, or it is in another location than the pipeline. "
        "Check the dataset's table reference and the region it lives in.",
    ),
    ErrorPattern(
        code="BIGQUERY_ACCESS_DENIED",
        title="Access to BigQuery was denied",
        suggestion="The pipeline's service account may not read the table or run query jobs. Grant it "
        "roles/bigquery.dataViewer on the dataset and roles/bigquery.jobUser on the project.",
        regexes=(
            r"Access Denied: (?:Table|Dataset|Project|BigQuery)\b[^\n]*",
            r"bigquery\.(?:tables|jobs|datasets|readsessions)\.\w+ permission",
            r"Permission bigquery\.\w+\.\w+ denied",
            r"User does not have bigquery\.\w+\.\w+ permission",
        ),
    ),
    ErrorPattern(
        code="BIGQUERY_SYNTAX_ERROR",
        title="The generated BigQuery SQL was rejected",
        suggestion="BigQuery could not parse the sampling/split query. This is a platform bug when it "
        "happens with valid configs: report it with the experiment id and the raw details.",
        regexes=(r"Syntax error: [^\n]*? at \[\d+:\d+\]", r"\binvalidQuery\b"),
    ),
    ErrorPattern(
        code="UNKNOWN_COLUMN",
        title="A configured column does not exist in the data",
        suggestion="The feature config or split settings refer to a column the table does not have. "
        "Compare the configured column names with the dataset's columns.",
        regexes=(
            r"Unrecognized name: (?P<column>\w+)",
            r"Referenced column \"(?P<column>\w+)\" not found",
            r"Name (?P<column>\w+) not found inside \w+",
            r"unknown column '(?P<column>\w+)'",
            r"Column '?(?P<column>\w+)'? (?:does not exist|not found)",
        ),
        detail="The column '{column}' does not exist in the table. Fix its name in the feature config "
        "(or the split's date column) to one of the dataset's columns.",
    ),
    ErrorPattern(
        code="EMPTY_SPLIT",
        title="A data split is empty",
        suggestion="After sampling and splitting, a split has no rows. Increase the sample percentage, "
        "widen the time windows of the split, or check the date column's range.",
        regexes=(
            r"\(Empty logs\)",
            r"resulted in an empty dataset",
            r"\bsplit '?(?P<split>\w+)'? (?:is|was) empty",
            r"\bempty (?P<split>train|eval|validation|test) split\b",
            r"no examples in (?:the )?split '?(?P<split>\w+)",
        ),
        detail="The {split} split has no rows after sampling. Increase the sample percentage, widen the "
        "split's time windows, or check the date column's range.",
    ),
    ErrorPattern(
        code="EMPTY_VOCABULARY",
        title="A feature's vocabulary is empty",
        suggestion="A categorical or id feature has no values in the training split, so its vocabulary is "
        "empty. Check that the column is filled for the sampled rows, or remove it from the feature config.",
        regexes=(
            r"Cannot set an empty vocabulary",
            r"vocabulary (?:file )?(?:for '?(?P<feature>\w+)'? )?is empty",
            r"49d0cd50-04bb-48c0-bc6f-5b575dce351a",
        ),
        detail="The vocabulary of '{feature}' is empty. Check that the column is filled for the sampled "
        "rows, or remove it from the feature config.",
    ),
    ErrorPattern(
        code="NAN_LOSS",
        title="Training diverged (the loss became NaN)",
        suggestion="The loss became NaN or infinite. Lower the learning rate, add L2 regularisation, or "
        "normalise numeric features; check numeric columns for extreme values.",
        regexes=(
            r"Invalid loss, terminating training",
            r"\bloss(?:\s*[:=]\s*|\s+is\s+)(?:nan|inf)\b",
            r"Tensor had (?:NaN|Inf) values",
            r"\bNaN loss\b",
        ),
    ),
    ErrorPattern(
        code="EMBEDDING_INDEX_OUT_OF_RANGE",
        title="An id is outside its embedding table",
        suggestion="A feature produced an index larger than its embedding table, usually a vocabulary "
        "size that does not match the embedding's input size. Report it with the raw details; as a "
        "workaround raise max_vocab_size or the OOV buckets of that feature.",
        regexes=(r"indices\[[\d,]+\] = -?\d+ is not in \[0, \d+\)",),
    ),
    ErrorPattern(
        code="SCHEMA_MISMATCH",
        title="The data does not match the expected schema",
        suggestion="A column's type or presence differs from what the pipeline expects (for example "
        "numbers stored as text, or missing values in a required feature). Check the column types "
        "of the dataset and the feature kinds in the feature config.",
        regexes=(
            r"Feature: (?P<column>\w+) \(data type: \w+\) is required but could not be found",
            r"Key: (?P<column>\w+)\.\s+Data types don't match",
            r"Feature (?P<column>\w+) (?:is )?not (?:found )?in (?:the )?schema",
            r"\bschema mismatch\b",
        ),
        detail="The column '{column}' does not match the schema the pipeline expects (its type or "
        "presence differs). Check its type in the dataset and its kind in the feature config.",
    ),
    ErrorPattern(
        code="TRANSFORM_ANALYZER_FAILED",
        title="Feature preprocessing (Transform) failed",
        suggestion="Computing vocabularies or statistics for a feature failed. Check the feature kinds "
        "against the column types (a text column configured as numeric, for example) and the "
        "Transform component log.",
        regexes=(
            r"\[while running '[^']*Analyze[^']*'\]",
            r"Analyze data list must not be empty",
            r"tensorflow_transform[\w./]*\.py\", line \d+[^\n]*\n[^\n]*\n\w*Error",
        ),
    ),
    ErrorPattern(
        code="TENSOR_SHAPE_MISMATCH",
        title="Tensor shapes or types do not fit",
        suggestion="Two layers or features disagree on shape or type, usually embedding dimensions that "
        "differ between the towers or a cross feature. Give both towers the same output dimension and "
        "check the model config.",
        regexes=(
            r"Incompatible shapes: \[[\d,\s]*\] vs\. \[[\d,\s]*\]",
            r"Shapes \([\w,\s]*\) and \([\w,\s]*\) are incompatible",
            r"Matrix size-incompatible",
            r"Dimensions must be equal",
            r"has type \w+ that does not match type \w+",
        ),
    ),
    ErrorPattern(
        code="OUT_OF_MEMORY",
        title="Out of memory",
        suggestion="A step needed more memory than the machine has. Reduce batch_size or the sample "
        "percentage, use smaller embeddings, or select a larger hardware tier (medium 30 GB, large 60 GB).",
        regexes=(
            r"\bOOM when allocating",
            r"ResourceExhaustedError",
            r"ran out[- ]of[- ]memory",
            r"\bout of memory\b",
            r"\bMemoryError\b",
            r"non-zero status of 137\b",
            r"exit(?:ed with)? (?:code|status) 137\b",
            r"Worker was sent SIGKILL",
            r"^\s*Killed\s*$",
            r"std::bad_alloc",
        ),
    ),
    ErrorPattern(
        code="DATAFLOW_WORKER_FAILED",
        title="A Dataflow (Beam) worker failed",
        suggestion="The Dataflow job of a data step failed. Open the component log for the first worker "
        "error; out-of-memory workers need a larger hardware tier.",
        regexes=(
            r"Workflow failed\. Causes:",
            r"work item (?:has )?failed \d+ times",
            r"The worker lost contact with the service",
            r"DataflowRuntimeException",
            r"Dataflow pipeline failed",
        ),
    ),
    ErrorPattern(
        code="PERMISSION_DENIED",
        title="Permission denied",
        suggestion="A service account lacks a role. The raw details name the permission: grant the "
        "matching role to the service account of the failing step (see docs/deploy.md for each "
        "service's roles).",
        regexes=(
            r"Permission '(?P<permission>[\w.]+)' denied",
            r"does not have (?P<permission>[\w.]+) access",
            r"\bPERMISSION_DENIED\b",
            r"\b403 Forbidden\b",
            r"\bForbidden: 403\b",
            r"caller does not have permission",
        ),
        detail="A service account lacks the permission {permission}. Grant a role that contains it to "
        "the service account of the failing step (see docs/deploy.md for each service's roles).",
    ),
    ErrorPattern(
        code="TIMEOUT",
        title="A step timed out",
        suggestion="A step ran longer than its time limit. Use a smaller sample or fewer epochs, or a "
        "larger hardware tier; if it happened while starting, try again later.",
        regexes=(
            r"\bDeadline Exceeded\b",
            r"\bDEADLINE_EXCEEDED\b",
            r"\bBuild timed out\b",
            r"\btimed out after\b",
            r"\bTimeoutError\b",
            r"status: TIMEOUT\b",
        ),
    ),
    ErrorPattern(
        code="MISSING_MODULE",
        title="A Python module is missing",
        suggestion="The pipeline image lacks a module the pipeline imports. Rebuild the pipeline image "
        "from the project's Dockerfile and make sure PLATFORM_PIPELINE_IMAGE points to it.",
        regexes=(r"ModuleNotFoundError: No module named '(?P<module>[\w.]+)'",),
        detail="The pipeline image lacks the module '{module}'. Rebuild the pipeline image from the "
        "project's Dockerfile and make sure PLATFORM_PIPELINE_IMAGE points to it.",
    ),
    ErrorPattern(
        code="SERVICE_UNAVAILABLE",
        title="A Google Cloud service was temporarily unavailable",
        suggestion="A service did not answer (a transient failure). Start the experiment again; if it "
        "keeps failing, check the Google Cloud status page.",
        regexes=(
            r"\b503 Service Unavailable\b", r"\bServiceUnavailable\b", r"\bUNAVAILABLE: ", r"Connection reset by peer",
        ),
    ),
    ErrorPattern(
        code="INVALID_ARGUMENT",
        title="TensorFlow rejected an input",
        suggestion="An operation received a value it cannot handle. The raw details name the operation; "
        "check the feature kinds and the model config, and report it if the configs are valid.",
        regexes=(r"InvalidArgumentError", r"\bINVALID_ARGUMENT\b"),
    ),
    ErrorPattern(
        code="BUILD_FAILED",
        title="The pipeline compile step failed",
        suggestion="The build that compiles and submits the pipeline failed. Open the Compile log for "
        "the failing step.",
        regexes=(r"\bBuild failed\b", r"^ERROR: build step \d+ [^\n]+ failed", r"\bstatus: FAILURE\b"),
    ),
)

UNKNOWN = ErrorPattern(
    code="UNKNOWN",
    title="The experiment failed",
    suggestion="The error was not recognised. Read the raw details and the component logs; if it "
    "persists, report it with the experiment id.",
    regexes=(),
)


def _bounded(text: str) -> str:
    if len(text) <= EXCERPT_MAX_CHARS:
        return text
    half = EXCERPT_MAX_CHARS // 2
    return f"{text[:half]}\n…\n{text[-half:]}"


def excerpt_around(text: str, start: int, end: int) -> str:
    """The lines around ``text[start:end]``: a few before, a few after, at most EXCERPT_MAX_CHARS."""
    lines = text.splitlines()
    first = text.count("\n", 0, start)
    last = text.count("\n", 0, end)
    return _bounded("\n".join(lines[max(0, first - EXCERPT_BEFORE):last + EXCERPT_AFTER + 1]))


def tail(text: str, lines: int = UNKNOWN_TAIL_LINES) -> str:
    return _bounded("\n".join(text.strip().splitlines()[-lines:]))


def match(text: str) -> tuple[ErrorPattern, re.Match[str]] | None:
    """The first pattern (in priority order) that matches ``text``, with its match."""
    for pattern in PATTERNS:
        found = pattern.search(text)
        if found:
            return pattern, found
    return None


def classify(text: str, stage: Stage | None = None) -> ClassifiedError:
    """A ``ClassifiedError`` for raw failure text; ``UNKNOWN`` with the text's tail when nothing matches."""
    text = text or ""
    found = match(text)
    if found is None:
        return ClassifiedError(
            code=UNKNOWN.code, title=UNKNOWN.title, suggestion=UNKNOWN.suggestion, stage=stage, excerpt=tail(text)
        )
    pattern, hit = found
    return ClassifiedError(
        code=pattern.code,
        title=pattern.title,
        suggestion=pattern.suggestion_for(hit),
        stage=stage,
        excerpt=excerpt_around(text, hit.start(), hit.end()),
    )
