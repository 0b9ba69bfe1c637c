"""What a user needs from a component's log, out of what TFX writes there.

A component log (``pipeline.run_local.ComponentLogFormatter``: ``2026-12-04 14:20:44,102 INFO logger: message``,
then the record's fields as JSON) is mostly TFX and ML Metadata dumps: the node's protobuf spec, the resolved
artifacts, the execution info with the spec JSON escaped three times. A record's header line starts with the
time; the dump lines that follow belong to it. ``summarize`` keeps, in order, one entry per meaningful record:

- ``stage``: the component started, reused a cached execution, finished or failed;
- ``progress``: what it is doing (examples generated, the rows written to each split, statistics and schema
  written, vocabularies built, training started, the model written, anything the platform's own loggers say,
  with their fields);
- ``epoch``: a finished training epoch with its losses;
- ``warning`` and ``error``: every warning and error (a Python traceback included), less known TFX noise.

Identical consecutive entries are folded into one with a ``count``. Lines without a time header (Cloud
Logging's entries, the compile step's output) are records of their own. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from experiments_platform.domain.pipeline_spec import SPLIT_WORDS

Kind = Literal["stage", "progress", "epoch", "warning", "error"]
Level = Literal["info", "warning", "error"]

_HEADER = re.compile(
    r"^(?P<at>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:[,.]\d+)? (?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) "
    r"(?P<logger>[\w.<>-]+): (?P<message>.*)$")
_ABSL_HEADER = re.compile(
    r"^(?P<level>[IWEF])(?P<month>\d{2})(?P<day>\d{2}) (?P<time>\d{2}:\d{2}:\d{2})\.\d+ +\d+ "
    r"(?P<logger>[\w.<>-]+):\d+\] (?P<message>.*)$")
"""absl's own format (``I1204 17:05:45.123456 140000 launcher.py:123] message``): TFX's lines as a container writes
them on Vertex AI, where Cloud Logging keeps the text without the local runner's header."""
_ABSL_LEVELS = {"I": "INFO", "W": "WARNING", "E": "ERROR", "F": "CRITICAL"}
_FIELDS = re.compile(r"^(?P<message>[^{]*?) (?P<fields>\{.*\})$")
TEXT_CHARS = 300
"""An entry's text is cut to this many characters (the raw log has the rest)."""

NOISE = (
    "ArtifactQuery.property_predicate is not supported",
    "Tables initialized inside a tf.function",
    "Couldn't find python-snappy",
    "Model's `__init__()` arguments contain non-serializable objects",
)
"""Warnings TFX, Beam and Keras print on every healthy run; they say nothing about this one."""

# (pattern on the message, kind, text): the text may use the pattern's groups.
_RULE_TEXTS: tuple[tuple[str, Kind, str], ...] = (
    (r"^Running launcher for node_info", "stage", "Started"),
    (r"^A cached execution \d+ is used", "stage", "Reused the cached result of an earlier run (not run again)"),
    (r"^Execution \d+ succeeded", "stage", "Finished"),
    (r"^Execution \d+ failed", "error", "Failed"),
    (r"^Generating examples", "progress", "Reading the examples"),
    (r"^Examples generated", "progress", "Examples written"),
    (r"^Generating statistics for split (\w+)", "progress", "Computing statistics of split {0}"),
    (r"^Processing schema from statistics for split (\w+)", "progress", "Inferring the schema from split {0}"),
    (r"^Schema written to", "progress", "Schema written"),
    (r"^Analyze the 'raw_data' dataset|^Not using the in-place Transform", "progress",
     "Analysing the training split (building vocabularies)"),
    (r"^Assets written to: .*/transform_graph/", "progress", "Transform graph written (vocabularies built)"),
    (r"^Training model", "progress", "Training started"),
    (r"^Training complete", "progress", "Model written"),
    (r"^Traceback \(most recent call last\)", "error", "{message}"),
)
_RULES = tuple((re.compile(pattern), kind, text) for pattern, kind, text in _RULE_TEXTS)
_EXCEPTION = re.compile(r"^[A-Z]\w*(Error|Exception|Exit|Interrupt)\b.*:")


@dataclass
class LogEntry:
    kind: Kind
    level: Level
    text: str
    at: str | None = None
    count: int = 1
    values: dict[str, Any] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind, "level": self.level, "text": self.text, "at": self.at,
                               "count": self.count}
        if self.values:
            doc["values"] = self.values
        return doc


@dataclass
class LogSummary:
    entries: list[LogEntry]
    scanned_lines: int
    started_at: str | None = None
    """The time of the first record as the log writes it (the runner's local time; absl's lines have no year)."""
    finished_at: str | None = None
    """The time of the record that finished (or failed) the component, else ``None``."""

    @property
    def seconds(self) -> float | None:
        """How long the component ran by its own log, from its first record to the one that finished it."""
        if not self.started_at or not self.finished_at:
            return None
        return (_time(self.finished_at) - _time(self.started_at)).total_seconds()

    def to_document(self) -> dict[str, Any]:
        return {"entries": [e.to_document() for e in self.entries], "scanned_lines": self.scanned_lines,
                "started_at": self.started_at, "finished_at": self.finished_at, "seconds": self.seconds}


def _time(at: str) -> datetime:
    """A record's time: ``YYYY-MM-DD HH:MM:SS`` (the local runner), or ``MM-DD HH:MM:SS`` (absl writes no year)."""
    return datetime.strptime(at, "%Y-%m-%d %H:%M:%S" if len(at) > 14 else "%m-%d %H:%M:%S")


@dataclass
class _Record:
    at: str | None
    level: str
    logger: str
    message: str
    more: list[str]


def records(lines: Iterable[str]) -> list[_Record]:
    """The log's records: a header line and the lines that follow it until the next header."""
    out: list[_Record] = []
    in_traceback = False
    for line in lines:
        match = _HEADER.match(line)
        absl = None if match else _ABSL_HEADER.match(line)
        if match:
            out.append(_Record(match["at"], match["level"], match["logger"], match["message"], []))
            in_traceback = False
        elif absl:
            at = f"{absl['month']}-{absl['day']} {absl['time']}"
            out.append(_Record(at, _ABSL_LEVELS[absl["level"]], absl["logger"], absl["message"], []))
            in_traceback = False
        elif line.startswith("Traceback (most recent call last)"):
            out.append(_Record(out[-1].at if out else None, "ERROR", "", line, []))
            in_traceback = True
        elif in_traceback:
            out[-1].more.append(line)
            in_traceback = not _EXCEPTION.match(line)
        elif out and out[-1].at is not None and not _EXCEPTION.match(line):
            out[-1].more.append(line)
        elif line.strip():
            out.append(_Record(None, "ERROR" if _EXCEPTION.match(line) else "INFO", "", line, []))
    return out


def _fields(message: str) -> tuple[str, dict[str, Any]]:
    """A message and the JSON fields ``ComponentLogFormatter`` appended to it, if any."""
    match = _FIELDS.match(message)
    if match:
        try:
            values = json.loads(match["fields"])
        except ValueError:
            return message, {}
        if isinstance(values, dict):
            return match["message"], values
    return message, {}


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.1f}"


_LOSSES = (("loss", "loss"), ("val_loss", "validation loss"), ("total_loss", "total loss"))


def _epoch_text(values: dict[str, Any]) -> str:
    losses = [f"{label} {_number(values[key])}" for key, label in _LOSSES
              if key in values and not (key == "total_loss" and values[key] == values.get("loss"))]
    head = f"Epoch {values['epoch']}" if "epoch" in values else "Epoch finished"
    return head + (": " + ", ".join(losses) if losses else "")


_ROWS = {"split written": "Wrote {rows} rows to split {split}", "split read": "Read {rows} {words} rows"}
"""The platform's records of the rows a component wrote or read (``pipeline.example_gen``, ``pipeline.trainer``)."""


def _own(message: str, values: dict[str, Any]) -> tuple[Kind, str]:
    """A record of the platform's own loggers (``experiments_platform.*``)."""
    if message == "epoch finished":
        return "epoch", _epoch_text(values)
    if message in _ROWS and "rows" in values:
        split = str(values.get("split", "?"))
        return "progress", _ROWS[message].format(rows=_number(values["rows"]), split=split,
                                                 words=SPLIT_WORDS.get(split, f"split {split}"))
    shown = {k: v for k, v in values.items() if not isinstance(v, (dict, list))}
    detail = ", ".join(f"{k.replace('_', ' ')} {_number(v)}" for k, v in list(shown.items())[:6])
    text = message[:1].upper() + message[1:]
    return "progress", f"{text}: {detail}" if detail else text


def _classify(record: _Record) -> tuple[Kind, str, dict[str, Any]] | None:
    message, values = _fields(record.message)
    for pattern, kind, text in _RULES:
        match = pattern.search(message)
        if match:
            return kind, text.format(*match.groups(), message=message), {}
    if record.level in ("ERROR", "CRITICAL"):
        return "error", message, {}
    if record.level == "WARNING":
        if any(noise in message for noise in NOISE):
            return None
        return "warning", message, {}
    if record.logger.startswith("experiments_platform"):
        kind, text = _own(message, values)
        return kind, text, values
    if record.at is None and record.message.startswith(("pipeline worker", "{\"compiled\"")):
        return "progress", message, {}
    return None


_LEVELS: dict[Kind, Level] = {"stage": "info", "progress": "info", "epoch": "info", "warning": "warning",
                              "error": "error"}


def summarize(lines: list[str]) -> LogSummary:
    """The summary of a component's log lines (oldest first)."""
    entries: list[LogEntry] = []
    parsed = records(lines)
    started = next((r.at for r in parsed if r.at), None)
    finished: str | None = None
    for record in parsed:
        classified = _classify(record)
        if classified is None:
            continue
        kind, text, values = classified
        if kind == "error" and record.message.startswith("Traceback"):
            tail = [line for line in record.more if line.strip()]
            text = tail[-1].strip() if tail else text
        text = " ".join(text.split())
        text = text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1] + "…"
        if text in ("Finished", "Failed") or text.startswith("Reused the cached"):
            finished = record.at or finished
        last = entries[-1] if entries else None
        if last and last.kind == kind and last.text == text:
            last.count += 1
            continue
        entries.append(LogEntry(kind=kind, level=_LEVELS[kind], text=text, at=record.at, values=values))
    return LogSummary(entries=entries, scanned_lines=len(lines), started_at=started, finished_at=finished)
