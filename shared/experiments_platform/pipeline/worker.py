"""A pre-imported pipeline-environment process that serves one experiment, then exits.

``python -m experiments_platform.pipeline.worker [--spare] [--idle-priority]`` (started by
``local_workers.WorkerPool`` in a process group of its own). It imports TensorFlow, TFX, Beam, TFDV,
TFT, TFRS, MLflow and the pipeline modules on a thread of its own and answers ``ready`` as soon as
they are in; meanwhile it already reads requests, one JSON object a line, on stdin. With
``--idle-priority`` (a spare started beside a running quick test) the import thread runs at the
lowest priority, SCHED_IDLE, so that it yields the CPU to that test; the first ``compile`` or
``run`` request promotes it (every SCHED_IDLE thread of the process back to the normal policy), so
a job handed a spare still importing never waits behind the machine's other work (decision 096).
TensorFlow's compute threads are created later by the job, on the main thread. Requests:

- ``{"kind": "compile", "experiment_id", "spec_uri", "output", "target", "log"}``: what the
  build's compile step does (``compile.main``), output appended to ``log`` (``Compile.log``);
  replies ``{"type": "compiled", "ok", "seconds", "error"}``.
- ``{"kind": "run", "experiment_id", "compiled", "logs_dir", "artifacts_json", "log", "record"}``:
  ``run_local.run_compiled`` on the compiled IR, each task state as ``{"type": "task", ...}``;
  the exit code is written into the job record (``record``: ``{"folder", "key"}``), so a job
  whose runner process has gone still tells how it ended.
- ``{"kind": "exit"}`` or the end of stdin: exit.

Replies go to the stdout the worker was started with; the worker then points its own stdout and
stderr at the request's log. It compiles at most once and runs at most once, compile first, and
exits after a run or a failed compile: nothing of one experiment reaches another. While busy its
process title names the experiment (``ps``, ``/proc/{pid}/cmdline``).
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from experiments_platform.adapters.local_jobs import RecordStore

PRELOAD = (
    "tensorflow",
    "tf_keras",
    "apache_beam",
    "tensorflow_transform",
    "tensorflow_transform.beam",
    "tensorflow_data_validation",
    "tensorflow_recommenders",
    "tfx.dsl.compiler.compiler",
    "tfx.orchestration.local.local_dag_runner",
    "tfx.components.statistics_gen.executor",
    "tfx.components.schema_gen.executor",
    "tfx.components.transform.executor",
    "tfx.components.trainer.executor",
    "mlflow",
    "experiments_platform.pipeline.definition",
    "experiments_platform.pipeline.compile",
    "experiments_platform.pipeline.run_local",
    "experiments_platform.pipeline.trainer",
)
IMPORT_NICE = 10
ERROR_CHARS = 2000


class Channel:
    """The reply stream; a reader that went away (its process died) does not stop the job."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.open = True

    def send(self, message: dict[str, Any]) -> None:
        if not self.open:
            return
        try:
            self.stream.write(json.dumps(message) + "\n")
            self.stream.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.open = False


def lower_priority(thread_id: int, nice: int) -> str:
    """Make one thread yield the CPU to everything else: SCHED_IDLE, else a higher nice value.

    Linux applies both per thread; threads it starts inherit the setting.
    """
    try:
        os.sched_setscheduler(thread_id, os.SCHED_IDLE, os.sched_param(0))
        return "idle"
    except (AttributeError, OSError):
        pass
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, thread_id, nice)
        return f"nice {nice}"
    return "unchanged"


def promote_idle_threads() -> str:
    """Every SCHED_IDLE thread of this process back to the normal policy: ``normal``, or why not."""
    refused = ""
    for name in os.listdir("/proc/self/task"):
        tid = int(name)
        try:
            if os.sched_getscheduler(tid) == os.SCHED_IDLE:
                os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
        except ProcessLookupError:
            continue
        except (AttributeError, OSError) as exc:
            refused = f"not permitted ({exc})"
    return refused or "normal"


class Preload(threading.Thread):
    """Imports ``modules`` on a thread of its own (of the lowest priority with ``idle``), then sends
    ``ready`` on ``channel``."""

    def __init__(self, modules: tuple[str, ...] = PRELOAD, idle: bool = False, channel: Channel | None = None) -> None:
        super().__init__(name="preload")
        self.modules = modules
        self.idle = idle
        self.channel = channel
        self.error = ""
        self.started_at = time.monotonic()
        self.seconds = 0.0
        self.ready_at = 0.0
        self.priority = "normal"
        self.promoted: str | None = None
        self.promoted_after_s: float | None = None

    def run(self) -> None:
        if self.idle:
            self.priority = lower_priority(threading.get_native_id(), IMPORT_NICE)
        try:
            for name in self.modules:
                importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - reported with the first request
            self.error = traceback.format_exc()
        self.seconds = time.monotonic() - self.started_at
        self.ready_at = time.time()
        if self.channel is not None:
            self.channel.send({"type": "ready", "pid": os.getpid(), "import_s": round(self.seconds, 3),
                               "error": bool(self.error), "priority": self.priority, "promoted": self.promoted,
                               "promoted_after_s": self.promoted_after_s})

    def promote(self) -> None:
        """A job waits for these imports now: run them (and whatever they started) at normal priority."""
        if self.priority != "normal" and self.promoted is None and self.is_alive():
            self.promoted_after_s = round(time.monotonic() - self.started_at, 3)
            self.promoted = promote_idle_threads()


def redirect_output(log: str) -> None:
    """Point fds 1 and 2 (print, logging, absl, TF's C++ logs) at the end of ``log``."""
    sys.stdout.flush()
    sys.stderr.flush()
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def set_title(request: dict[str, Any]) -> None:
    try:
        from setproctitle import getproctitle, setproctitle
    except ImportError:
        return
    title = getproctitle().split(" --serving ")[0]
    setproctitle(f"{title} --serving {request['kind']} --experiment {request.get('experiment_id', '?')}")


def compile_job(request: dict[str, Any]) -> tuple[bool, str]:
    from experiments_platform.pipeline.compile import main as compile_main

    try:
        compile_main(["--spec-uri", request["spec_uri"], "--output", request["output"],
                      "--target", request.get("target", "local")])
    except BaseException as exc:  # noqa: BLE001 - the build reports it
        traceback.print_exc()
        return False, f"{type(exc).__name__}: {exc}"[-ERROR_CHARS:]
    return True, ""


def run_job(request: dict[str, Any], channel: Channel) -> int:
    from experiments_platform.pipeline.compile import read_text
    from experiments_platform.pipeline.run_local import run_compiled

    def on_task(event: dict[str, Any]) -> None:
        channel.send({"type": "task", **event})

    try:
        run_compiled(read_text(request["compiled"]), Path(request["logs_dir"]), Path(request["artifacts_json"]),
                     on_task=on_task)
    except BaseException:  # noqa: BLE001 - the failing task was reported; the job fails
        traceback.print_exc()
        return 1
    return 0


def record_exit(request: dict[str, Any], code: int) -> None:
    record = request.get("record")
    if not isinstance(record, dict):
        return
    store = RecordStore(Path(record["folder"]))
    with contextlib.suppress(OSError), store.locked(str(record["key"])) as job:
        if job:
            job["exit_code"] = code


def describe_start(request: dict[str, Any], import_s: float, ready_at: float) -> None:
    """One line at the top of the job's log: which worker, how long its imports took, who waited."""
    sent_at = float(request.get("sent_at") or ready_at)
    waited = max(0.0, ready_at - sent_at)
    print(f"pipeline worker {os.getpid()}: TensorFlow, TFX, Beam and TFRS imported in {import_s:.1f} s; "
          f"this {request['kind']} request waited {waited:.1f} s for them", flush=True)


def serve(requests: Iterable[str], channel: Channel, import_error: str, import_s: float = 0.0,
          ready_at: float = 0.0) -> int:
    compiled = False
    for line in requests:
        try:
            request = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind = request.get("kind")
        if kind == "exit":
            return 0
        if kind not in ("compile", "run") or (kind == "compile" and compiled):
            channel.send({"type": "error", "error": f"unexpected request {kind!r}; a worker compiles once, "
                                                    "then runs once"})
            return 2
        redirect_output(request["log"])
        set_title(request)
        describe_start(request, import_s, ready_at)
        if import_error:
            print(f"the pipeline environment failed to import:\n{import_error}", file=sys.stderr)
            if kind == "compile":
                channel.send({"type": "compiled", "ok": False, "seconds": 0.0, "error": import_error[-ERROR_CHARS:]})
            record_exit(request, 1)
            return 1
        started = time.monotonic()
        if kind == "compile":
            ok, error = compile_job(request)
            channel.send({"type": "compiled", "ok": ok, "seconds": round(time.monotonic() - started, 3),
                          "error": error})
            if not ok:
                return 1
            compiled = True
            continue
        code = run_job(request, channel)
        record_exit(request, code)
        return code
    return 0


def request_kind(line: str) -> str | None:
    with contextlib.suppress(json.JSONDecodeError, AttributeError):
        kind = json.loads(line).get("kind")
        return kind if isinstance(kind, str) else None
    return None


def first_request(lines: IO[str]) -> list[str]:
    """Wait for the first request while the imports run; name its experiment in the title at once."""
    line = lines.readline()
    if not line:
        return []
    with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
        request = json.loads(line)
        if request.get("kind") in ("compile", "run"):
            set_title(request)
    return [line]


def main() -> int:
    channel = Channel(os.fdopen(os.dup(1), "w", buffering=1))
    os.dup2(2, 1)
    imports = Preload(idle="--idle-priority" in sys.argv[1:], channel=channel)
    imports.start()
    first = first_request(sys.stdin)
    if first and request_kind(first[0]) in ("compile", "run"):
        imports.promote()
    imports.join()
    code = serve(itertools.chain(first, sys.stdin), channel, imports.error, imports.seconds, imports.ready_at)
    channel.send({"type": "exit", "code": code})
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    main()
