"""Pre-imported pipeline-environment processes for the local runners (no TensorFlow here).

A ``Worker`` is ``{tfx_python} -m experiments_platform.pipeline.worker``: started in a session
(and process group) of its own, it imports TensorFlow, TFX, Beam and TFRS, then serves one
experiment (``compile``, then optionally ``run``, requests as JSON lines on its stdin, replies as
JSON lines on its stdout) and exits. ``WorkerPool`` keeps ``idle`` spares and starts a replacement
whenever one is taken, so a quick test does not wait for the imports. A spare imports at normal
priority when none of the pool's workers is busy and at idle priority beside a running one; a
spare still importing is handed over all the same, its first request promoting its imports to
normal priority (decision 096). A busy worker is still its own
process group, so cancel kills it (``local_jobs.kill_group``). Workers are
started with ``subprocess`` (fork + exec of a fresh interpreter), never forked after TF is loaded.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from experiments_platform.adapters.local_jobs import ProcessIdentity, kill_group

WORKER_MODULE = "experiments_platform.pipeline.worker"


def pipeline_env() -> dict[str, str]:
    """Environment of a pipeline-environment subprocess.

    The services' short MLflow HTTP limits (``MLFLOW_HTTP_REQUEST_*``, set so that UI requests fail
    fast) are dropped: a training run keeps MLflow's own patient retries.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_HTTP_REQUEST_")}
    return {**inherited, "TF_USE_LEGACY_KERAS": "1", "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "1"}


def resolve_python(python: str) -> str:
    """An interpreter path made absolute, symlinks kept (a venv's python is a symlink to its base)."""
    return os.path.abspath(python) if "/" in python else python


LOG_TAIL_LINES = 15
LOG_TAIL_CHARS = 1500
LOG_LINE_CHARS = 200


def how_it_ended(code: int | None) -> str:
    """A worker's exit code in words: ``killed by SIGKILL (signal 9)``, ``exited with code 1``."""
    if code is None:
        return "ended without a result (no exit code recorded)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "an unknown signal"
        return f"was killed by {name} (signal {-code})"
    return f"exited with code {code}"


def log_tail(path: Path, lines: int = LOG_TAIL_LINES, chars: int = LOG_TAIL_CHARS) -> str:
    """The last lines of a worker's log (empty when it wrote none): what it printed before it ended.

    Each line is cut to LOG_LINE_CHARS (TFX logs a component's whole config as one line), so the
    tail shows the last lines, not the end of one of them.
    """
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 64 * chars))
            text = log.read().decode(errors="replace")
    except OSError:
        return ""
    kept = [line if len(line) <= LOG_LINE_CHARS else line[:LOG_LINE_CHARS] + " …"
            for line in text.strip().splitlines()[-lines:]]
    return "\n".join(kept)[-chars:]


def ended_text(what: str, code: int | None, log: Path) -> str:
    """Why a job or build failed when its worker ended without reporting a failure: how, and its log's tail."""
    tail = log_tail(log)
    last = f"the last lines of {log.name}:\n{tail}" if tail else f"{log.name} is empty"
    return f"{what} {how_it_ended(code)}; {last}"


class WorkerGone(RuntimeError):
    """The worker process ended (killed, crashed) before answering."""


class Worker:
    """One pipeline-environment process, serving one experiment.

    A spare's ``ready`` reply is read by a thread of its own, so the pool can tell a spare that
    has finished importing (``is_ready``) from one still importing at idle priority.
    """

    def __init__(self, process: subprocess.Popen[str], spare: bool = False, idle_priority: bool = False) -> None:
        self.process = process
        identity = ProcessIdentity.of(process.pid)
        if identity is None:
            raise WorkerGone(f"pipeline worker {process.pid} ended at once; see its log")
        self.identity = identity
        self.spare = spare
        self.idle_priority = idle_priority
        self.started_at = datetime.now(timezone.utc)
        self.ready: dict[str, Any] | None = None
        self._ready = threading.Event()
        self._send_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        if spare:
            self._reader = threading.Thread(target=self._read_ready, daemon=True, name=f"worker-{self.pid}-ready")
            self._reader.start()

    def _read_ready(self) -> None:
        assert self.process.stdout is not None
        with contextlib.suppress(json.JSONDecodeError, ValueError):
            message = json.loads(self.process.stdout.readline() or "{}")
            if message.get("type") == "ready":
                self.ready = message
        self._ready.set()

    def is_ready(self) -> bool:
        return self._ready.is_set() and self.ready is not None

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            with self._send_lock:
                self.process.stdin.write(json.dumps({**request, "sent_at": time.time()}) + "\n")
                self.process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise WorkerGone(f"pipeline worker {self.pid} is gone ({exc})") from exc

    def messages(self) -> Iterator[dict[str, Any]]:
        """The worker's replies until it closes its channel; ``ready`` is kept in ``self.ready``."""
        if self._reader is not None:
            self._reader.join()
        channel: IO[str] | None = self.process.stdout
        assert channel is not None
        while True:
            line = channel.readline()
            if not line:
                return
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if message.get("type") == "ready":
                self.ready = message
                continue
            yield message

    def release(self) -> None:
        """Tell an idle or finished worker to exit (it also exits when its stdin closes)."""
        with contextlib.suppress(WorkerGone):
            self.send({"kind": "exit"})
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.close()

    def kill(self) -> None:
        kill_group(self.identity)
        self.wait()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def alive(self) -> bool:
        return self.process.poll() is None

    def describe(self) -> dict[str, Any]:
        """pid, spare or not, start time, import seconds and priority (once it answered ``ready``),
        whether a job promoted its imports: what records keep."""
        ready = self.ready or {}
        return {"pid": self.pid, "spare": self.spare, "started_at": self.started_at.isoformat(),
                "import_s": ready.get("import_s"), "idle_priority": self.idle_priority,
                "promoted": ready.get("promoted"), "promoted_after_s": ready.get("promoted_after_s")}


class WorkerPool:
    """Keeps ``idle`` pre-imported workers; ``take`` hands one over and starts its replacement.

    Nothing starts until ``prewarm`` or the first ``take`` (a process that only reads states or
    cancels, like the emulated-mode status watcher, never starts a worker). With ``idle=0`` every
    ``take`` starts a fresh worker that imports while its job waits.
    """

    def __init__(self, python: str, log_path: Path, idle: int = 1) -> None:
        self.python = resolve_python(python)
        self.log_path = log_path
        self.idle = idle
        self._idle: list[Worker] = []
        self._busy: list[Worker] = []
        self._lock = threading.Lock()
        self.started = 0
        _POOLS.add(self)

    def _spawn(self, spare: bool, idle_priority: bool = False) -> Worker:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [self.python, "-m", WORKER_MODULE, *(["--spare"] if spare else []),
                   *(["--idle-priority"] if idle_priority else [])]
        with self.log_path.open("a") as log:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                text=True, bufsize=1, start_new_session=True, env=pipeline_env(), close_fds=True,
            )
        self.started += 1
        return Worker(process, spare=spare, idle_priority=idle_priority)

    def _top_up(self) -> None:
        """Spares up to ``idle``: at idle priority while a worker of the pool is busy, else at normal priority."""
        self._idle = [w for w in self._idle if w.alive()]
        self._busy = [w for w in self._busy if w.alive()]
        while len(self._idle) < self.idle:
            self._idle.append(self._spawn(spare=True, idle_priority=bool(self._busy)))

    def prewarm(self) -> None:
        """Start the idle workers now (a stack calls this at start so the first quick test is warm)."""
        with self._lock:
            self._top_up()

    def take(self) -> Worker:
        """A worker for one experiment: a spare that has finished importing, else the spare furthest
        into its imports (its first request promotes them to normal priority), else a new one.

        A spare importing at idle priority is handed over only where this process may raise a
        thread's priority again (``can_promote``): otherwise it would keep the job waiting behind
        everything else on the machine, and the job gets a worker of its own instead.
        """
        with self._lock:
            self._idle = [w for w in self._idle if w.alive()]
            ready = [w for w in self._idle if w.is_ready()]
            importing = [w for w in self._idle if not w.is_ready() and (not w.idle_priority or can_promote())]
            if ready or importing:
                worker = (ready or sorted(importing, key=lambda w: w.started_at))[0]
                self._idle.remove(worker)
            else:
                worker = self._spawn(spare=False)
            self._busy.append(worker)
            self._top_up()
            return worker

    def idle_workers(self) -> list[Worker]:
        with self._lock:
            return list(self._idle)

    def close(self) -> None:
        """Stop the idle workers (busy ones belong to their jobs)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


@functools.cache
def can_promote() -> bool:
    """Whether a thread of this user may go from SCHED_IDLE back to the normal policy (root, or
    CAP_SYS_NICE, or an RLIMIT_NICE allowing nice 0): tried once on a thread of this process."""
    outcome: list[bool] = []

    def probe() -> None:
        tid = threading.get_native_id()
        try:
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
            outcome.append(True)
        except (AttributeError, OSError):
            outcome.append(False)

    thread = threading.Thread(target=probe, name="priority-probe")
    thread.start()
    thread.join()
    return outcome == [True]


_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


@atexit.register
def _close_pools() -> None:
    for pool in list(_POOLS):
        with contextlib.suppress(Exception):
            pool.close()
