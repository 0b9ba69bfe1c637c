"""Classify raw failure text (tracebacks, build logs, Vertex/Dataflow errors) into user-facing errors.

``classify(text, stage)`` tries ``PATTERNS`` in order (the most specific first) and returns a
``ClassifiedError`` with the pattern's code, title and fix (``domain.error_codes``) and the raw
lines around the match (bounded), so the details view can show what really happened. Text that
matches nothing becomes ``UNKNOWN`` with the last lines of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from experiments_platform.domain import error_codes
from experiments_platform.domain.error_codes import ErrorCode
from experiments_platform.domain.experiment import ClassifiedError
from experiments_platform.domain.status import Stage

EXCERPT_BEFORE = 3
EXCERPT_AFTER = 6
EXCERPT_MAX_CHARS = 4000
UNKNOWN_TAIL_LINES = 20


@dataclass(frozen=True)
class ErrorPattern:
    """The regexes that find one error code in failure text.

    ``detail`` is a more precise fix using named groups of the regexes (one text, or several tried
    in order): the first whose groups all matched is used, otherwise the code's own fix.
    """

    error: ErrorCode
    regexes: tuple[str, ...]
    detail: str | tuple[str, ...] | None = None
    compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", tuple(re.compile(r, re.IGNORECASE | re.MULTILINE) for r in self.regexes))

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def title(self) -> str:
        return self.error.title

    @property
    def suggestion(self) -> str:
        return self.error.fix

    def search(self, text: str) -> re.Match[str] | None:
        found = [m for m in (regex.search(text) for regex in self.compiled) if m]
        return min(found, key=lambda m: m.start()) if found else None

    def suggestion_for(self, match: re.Match[str]) -> str:
        groups = {k: v for k, v in match.groupdict().items() if v}
        details = (self.detail,) if isinstance(self.detail, str) else self.detail or ()
        for detail in details:
            try:
                return detail.format(**groups)
            except KeyError:
                continue
        return self.suggestion


PATTERNS: tuple[ErrorPattern, ...] = (
    ErrorPattern(
        error=error_codes.PIPELINE_CANCELLED,
        regexes=(
            r"PIPELINE_STATE_CANCELL(?:ED|ING)",
            r"\b(?:build|job|pipeline|run|experiment) (?:was|has been) cancell?ed\b",
            r"\bcancell?ed by (?:the )?user\b",
        ),
    ),
    ErrorPattern(
        error=error_codes.DISK_FULL,
        regexes=(r"No space left on device", r"\[Errno 28\]", r"Disk quota exceeded", r"\bDISK_FULL\b",
                 r"database or disk is full"),
    ),
    ErrorPattern(
        error=error_codes.QUOTA_EXCEEDED,
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
        error=error_codes.IMAGE_PULL_FAILED,
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
        error=error_codes.MLFLOW_UNREACHABLE,
        regexes=(
            r"MLflow tracking server (?P<url>\S+) did not answer",
            r"API request to (?P<url>\S*/api/2\.0/mlflow/\S*) failed with (?:timeout )?exception",
            r"MLflow tracking server (?:at (?P<url>\S+) )?(?:is )?(?:unreachable|not reachable|cannot be reached)",
            r"\bmlflow\b.*(?:Connection refused|Max retries exceeded)",
        ),
        detail="Training stopped because {url} did not answer. Check that the MLflow tracking server is "
        "running and that PLATFORM_MLFLOW_TRACKING_URI points to it, then start the experiment again.",
    ),
    ErrorPattern(
        error=error_codes.BIGQUERY_TABLE_NOT_FOUND,
        regexes=(r"Not found: (?:Table|Dataset|View) (?P<table>[\w.:-]+)",),
        detail="The table {table} does not exist, or it is in another location than the pipeline. "
        "Check the dataset's table reference and the region it lives in.",
    ),
    ErrorPattern(
        error=error_codes.BIGQUERY_ACCESS_DENIED,
        regexes=(
            r"Access Denied: (?:Table|Dataset|Project|BigQuery)\b[^\n]*",
            r"bigquery\.(?:tables|jobs|datasets|readsessions)\.\w+ permission",
            r"Permission bigquery\.\w+\.\w+ denied",
            r"User does not have bigquery\.\w+\.\w+ permission",
        ),
    ),
    ErrorPattern(
        error=error_codes.BIGQUERY_SYNTAX_ERROR,
        regexes=(r"Syntax error: [^\n]*? at \[\d+:\d+\]", r"\binvalidQuery\b"),
    ),
    ErrorPattern(
        error=error_codes.UNKNOWN_COLUMN,
        regexes=(
            r"Unrecognized name: (?P<column>\w+)",
            r"Referenced column \"(?P<column>\w+)\" not found",
            r"Name (?P<column>\w+) not found inside \w+",
            r"unknown column '(?P<column>\w+)'",
            r"Column '?(?P<column>\w+)'? (?:does not exist|not found)",
            r"Table \"\w+\" does not have a column named \"(?P<column>\w+)\"",
        ),
        detail="The column '{column}' is not in the data. Fix its name in the feature config (or the split's "
        "date column), or, if the dataset's file changed since it was registered, put the column back or "
        "register the file again.",
    ),
    ErrorPattern(
        error=error_codes.COLUMN_TYPE_MISMATCH,
        regexes=(
            r"Conversion Error: (?P<problem>[^\n]*?) when casting from source column (?P<column>\w+)",
            r"(?:date|id) column '(?P<column>\w+)' has type (?P<type>\w+)",
            r"StringToNumberOp could not correctly convert string: (?P<value>[^\n]+)",
        ),
        detail=(
            "The column '{column}' no longer has the type it had when the experiment was submitted "
            "({problem}): the dataset's file changed since. Restore the column's type, or register the dataset "
            "again and start a new experiment.",
            "The column '{column}' has type {type}: ids must be string or integer columns, a time split's date "
            "column a date or timestamp. Fix the column's type in the data and register the dataset again, or "
            "choose another column.",
            "A numeric feature's column holds text ('{value}'). Clean the column so it holds numbers only, or "
            "make the feature categorical (or text).",
        ),
    ),
    ErrorPattern(
        error=error_codes.EMPTY_SPLIT,
        regexes=(
            r"\(Empty logs\)",
            r"resulted in an empty dataset",
            r"\bsplit '?(?P<split>\w+)'? (?:is|was) empty",
            r"\bempty (?P<split>train|eval|validation|test) split\b",
            r"no examples in (?:the )?split '?(?P<split>\w+)",
            r"the split is empty: no rows after sampling and splitting",
            r"KeyError: '(?P<column>\w+)'\n\s*raised in preprocessing_fn\b",
        ),
        detail=(
            "The {split} split has no rows after sampling. Increase the sample percentage, widen the "
            "split's time windows, or check the date column's range.",
            "Transform's input has no column '{column}': the schema inferred from the splits' statistics drops "
            "the features a split does not have, which happens when a split (train, eval or test) has no rows. "
            "Widen the split's time windows or increase the sample percentage; Data insights shows each split's "
            "row count.",
        ),
    ),
    ErrorPattern(
        error=error_codes.EMPTY_VOCABULARY,
        regexes=(
            r"Cannot set an empty vocabulary",
            r"vocabulary (?:file )?(?:for '?(?P<feature>\w+)'? )?is empty",
            r"49d0cd50-04bb-48c0-bc6f-5b575dce351a",
        ),
        detail="The vocabulary of '{feature}' is empty. Check that the column is filled for the sampled "
        "rows, or remove it from the feature config.",
    ),
    ErrorPattern(
        error=error_codes.NAN_LOSS,
        regexes=(
            r"NaN or infinite loss(?:/weights)? at epoch (?P<epoch>\d+)",
            r"Invalid loss, terminating training",
            r"\bloss(?:\s*[:=]\s*|\s+is\s+)(?:nan|inf)\b",
            r"Tensor had (?:NaN|Inf) values",
            r"\bNaN loss\b",
        ),
        detail="The loss became NaN or infinite at epoch {epoch}. Lower the learning rate (Adagrad or Adam "
        "tolerate larger rates than SGD), add L2 regularisation, or normalise numeric features.",
    ),
    ErrorPattern(
        error=error_codes.EMBEDDING_INDEX_OUT_OF_RANGE,
        regexes=(r"indices\[[\d,]+\] = -?\d+ is not in \[0, \d+\)",),
    ),
    ErrorPattern(
        error=error_codes.SCHEMA_MISMATCH,
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
        error=error_codes.TRANSFORM_ANALYZER_FAILED,
        regexes=(
            r"\[while running '[^']*Analyze[^']*'\]",
            r"Analyze data list must not be empty",
            r"tensorflow_transform[\w./]*\.py\", line \d+[^\n]*\n[^\n]*\n\w*Error",
        ),
    ),
    ErrorPattern(
        error=error_codes.TOWER_WIDTH_MISMATCH,
        regexes=(r"the query tower outputs (?P<query>\d+) values and the candidate tower (?P<candidate>\d+)",),
        detail="The query tower ends in {query} values and the candidate tower in {candidate}; a pair is scored "
        "by their dot product, so both must be equal. Give both towers the same last layer, or set output_dim.",
    ),
    ErrorPattern(
        error=error_codes.TENSOR_SHAPE_MISMATCH,
        regexes=(
            r"Incompatible shapes: \[[\d,\s]*\] vs\. \[[\d,\s]*\]",
            r"Shapes \([\w,\s]*\) and \([\w,\s]*\) are incompatible",
            r"Matrix size-incompatible",
            r"Dimensions must be equal",
            r"has type \w+ that does not match type \w+",
        ),
    ),
    ErrorPattern(
        error=error_codes.OUT_OF_MEMORY,
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
            r"(?P<thread>pthread_create(?:\(\))? failed)",
            r"RuntimeError: (?P<thread>can't start new thread)",
            r"(?P<thread>cannot allocate memory for thread-local data)",
        ),
        detail="The pipeline worker could not start a thread ({thread}): it reached its memory or address-space "
        "limit. Reduce batch_size or the sample percentage, use smaller embeddings or towers, or select a larger "
        "hardware tier.",
    ),
    ErrorPattern(
        error=error_codes.WORKER_KILLED,
        regexes=(
            r"pipeline worker \(pid \d+\)(?: running (?P<task>\w+))? was killed by (?P<term>SIGTERM)",
            r"pipeline worker \(pid \d+\)(?: running (?P<task>\w+))?[^\n]*? was killed by (?P<signal>SIG\w+)",
        ),
        detail=(
            "The pipeline worker was stopped by {term} while {task} ran: something asked it to stop (a shutdown, "
            "a preempted machine, or a kill by hand). Start the experiment again.",
            "The pipeline worker was stopped by {term}: something asked it to stop (a shutdown, a preempted "
            "machine, or a kill by hand). Start the experiment again.",
            "The pipeline worker was killed by {signal} while {task} ran: the kernel's out-of-memory killer when "
            "the machine ran out of memory, a kill by hand, or a shutdown. Start the experiment again; if it is "
            "killed again in {task}, give it more memory (a smaller sample or batch_size, or a larger hardware "
            "tier).",
            "The pipeline worker was killed by {signal}: the kernel's out-of-memory killer when the machine ran "
            "out of memory, a kill by hand, or a shutdown. Start the experiment again; if it happens again, give "
            "it more memory (a smaller sample or batch_size, or a larger hardware tier).",
        ),
    ),
    ErrorPattern(
        error=error_codes.RUNNER_LOST,
        regexes=(
            r"pipeline worker \(pid \d+\)(?: running (?P<task>\w+))?, watched by no runner, ended without a result",
            r"the local build runner stopped before the build finished",
        ),
        detail="The local stack that ran this experiment stopped or crashed while {task} ran, and the pipeline "
        "worker then ended without a result. Start the experiment again, and keep the stack running until it "
        "finishes.",
    ),
    ErrorPattern(
        error=error_codes.DATAFLOW_WORKER_FAILED,
        regexes=(
            r"Workflow failed\. Causes:",
            r"work item (?:has )?failed \d+ times",
            r"The worker lost contact with the service",
            r"DataflowRuntimeException",
            r"Dataflow pipeline failed",
        ),
    ),
    ErrorPattern(
        error=error_codes.PERMISSION_DENIED,
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
        error=error_codes.TIMEOUT,
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
        error=error_codes.MISSING_MODULE,
        regexes=(r"ModuleNotFoundError: No module named '(?P<module>[\w.]+)'",),
        detail="The pipeline environment lacks the module '{module}'. On Google Cloud rebuild the pipeline image "
        "from the project's Dockerfile and make sure PLATFORM_PIPELINE_IMAGE points to it; on one machine "
        "PLATFORM_TFX_PYTHON must be the pipeline environment's python (.venv-tfx/bin/python).",
    ),
    ErrorPattern(
        error=error_codes.SERVICE_UNAVAILABLE,
        regexes=(
            r"\b503 Service Unavailable\b", r"\bServiceUnavailable\b", r"\bUNAVAILABLE: ", r"Connection reset by peer",
        ),
    ),
    ErrorPattern(
        error=error_codes.INVALID_ARGUMENT,
        regexes=(r"InvalidArgumentError", r"\bINVALID_ARGUMENT\b"),
    ),
    ErrorPattern(
        error=error_codes.BUILD_FAILED,
        regexes=(r"\bBuild failed\b", r"^ERROR: build step \d+ [^\n]+ failed", r"\bstatus: FAILURE\b"),
    ),
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
        return error_codes.UNKNOWN.error(stage=stage, excerpt=tail(text))
    pattern, hit = found
    return pattern.error.error(
        stage=stage, excerpt=excerpt_around(text, hit.start(), hit.end()), fix=pattern.suggestion_for(hit)
    )
