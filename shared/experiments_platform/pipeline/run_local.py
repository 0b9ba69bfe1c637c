"""Run a compiled pipeline (IR JSON) with TFX's LocalDagRunner and report every task state.

``python -m experiments_platform.pipeline.run_local --compiled PATH --logs-dir DIR --artifacts-json PATH``

Each component runs through ``ObservedLauncher`` (TFX's launcher plus reporting): its Python log
records go to ``{logs_dir}/{Component}.log``; its state changes (RUNNING, then SUCCEEDED, SKIPPED
for a cache hit, or FAILED) are written to stdout as one JSON line each after ``EVENT_PREFIX``
with a UTC timestamp; after it finishes, ``artifacts.json`` (component → output key → URIs, read
from MLMD) is rewritten. The parent (the local pipeline service) turns the lines into Vertex AI
log-sink events.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

EVENT_PREFIX = "@@qt-task "
ERROR_CHARS = 2000
TaskCallback = Callable[[dict[str, Any]], None]


def print_event(event: dict[str, Any]) -> None:
    sys.stdout.write(EVENT_PREFIX + json.dumps(event) + "\n")
    sys.stdout.flush()


class ComponentLogFormatter(logging.Formatter):
    """``time LEVEL logger: message``, then the record's structured fields (``jsonlog.fields``) as one JSON
    object: ``epoch finished {"epoch": 2, "loss": 812.4, ...}`` (the bare message said nothing of the epoch)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        values = getattr(record, "fields", None)
        return f"{text} {json.dumps(values, default=str)}" if values else text


@contextlib.contextmanager
def component_log(logs_dir: Path, component: str) -> Iterator[None]:
    """Send every Python log record emitted while the component runs to its own file."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(logs_dir / f"{component}.log")
    handler.setFormatter(ComponentLogFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()


def failure_text(exc: BaseException, limit: int = ERROR_CHARS) -> str:
    """``Type: message`` and where it was raised (the innermost frame), the end kept when it is too long.

    Where matters: a bare ``KeyError: 'user_id'`` says nothing, raised in ``preprocessing_fn`` it
    says the column was missing from Transform's input.
    """
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        frame = frames[-1]
        where = f"\n  raised in {frame.name} ({Path(frame.filename).name}:{frame.lineno})"
    message = f"{type(exc).__name__}: {exc}"
    return message[-(limit - len(where)):] + where


def _execution_outcome(mlmd: Any, execution_id: int | None) -> tuple[bool, dict[str, list[str]]]:
    """(was it a cache hit, output key → artifact URIs) of one execution, read from MLMD."""
    from ml_metadata.proto import metadata_store_pb2

    if execution_id is None:
        return False, {}
    with mlmd as m:
        execution = m.store.get_executions_by_id([execution_id])[0]
        events = [e for e in m.store.get_events_by_execution_ids([execution_id])
                  if e.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)]
        artifacts = {a.id: a for a in m.store.get_artifacts_by_id([e.artifact_id for e in events])}
    outputs: dict[str, list[str]] = {}
    for event in events:
        key = event.path.steps[0].key if event.path.steps else "output"
        outputs.setdefault(key, []).append(_as_uri(artifacts[event.artifact_id].uri))
    return execution.last_known_state == metadata_store_pb2.Execution.CACHED, outputs


def _as_uri(location: str) -> str:
    """MLMD records local artifacts as plain paths; artifacts.json holds URIs (file:// or gs://)."""
    return location if "://" in location else Path(location).resolve().as_uri()


def run_compiled(ir_json: str, logs_dir: Path, artifacts_json: Path, on_task: TaskCallback = print_event) -> None:
    """Run the pipeline IR with LocalDagRunner, reporting each task through ``on_task``."""
    from absl import logging as absl_logging
    from google.protobuf import json_format
    from tfx.orchestration.local import local_dag_runner
    from tfx.orchestration.portable import launcher
    from tfx.proto.orchestration import pipeline_pb2

    absl_logging.set_verbosity(absl_logging.INFO)
    logging.getLogger().setLevel(logging.INFO)
    pipeline = json_format.Parse(ir_json, pipeline_pb2.Pipeline())
    artifacts: dict[str, dict[str, list[str]]] = {}

    def report(component: str, state: str, **extra: Any) -> None:
        on_task({"component": component, "state": state, "time": datetime.now(timezone.utc).isoformat(), **extra})

    class ObservedLauncher(launcher.Launcher):
        def launch(self) -> Any:
            component = self._pipeline_node.node_info.id
            started = time.monotonic()
            report(component, "RUNNING")
            with component_log(logs_dir, component):
                try:
                    info = super().launch()
                except BaseException as exc:
                    report(component, "FAILED", error=failure_text(exc), seconds=round(time.monotonic() - started, 3))
                    raise
            cached, outputs = _execution_outcome(self._mlmd_connection, getattr(info, "execution_id", None))
            artifacts[component] = outputs
            artifacts_json.parent.mkdir(parents=True, exist_ok=True)
            artifacts_json.write_text(json.dumps(artifacts, indent=2))
            report(component, "SKIPPED" if cached else "SUCCEEDED", cached=cached,
                   seconds=round(time.monotonic() - started, 3), outputs=outputs)
            return info

    original = local_dag_runner.launcher.Launcher
    local_dag_runner.launcher.Launcher = ObservedLauncher  # type: ignore[misc]
    try:
        local_dag_runner.LocalDagRunner().run_with_ir(pipeline)
    finally:
        local_dag_runner.launcher.Launcher = original  # type: ignore[misc]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiled", required=True, help="pipeline IR JSON written by the compile step")
    parser.add_argument("--logs-dir", required=True, type=Path, help="folder of the per-component log files")
    parser.add_argument("--artifacts-json", required=True, type=Path, help="where to write artifacts.json")
    args = parser.parse_args(argv)
    from experiments_platform.pipeline.compile import read_text

    run_compiled(read_text(args.compiled), args.logs_dir, args.artifacts_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
