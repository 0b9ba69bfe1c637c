"""Job records and process identities shared by every process of one machine (no TensorFlow).

The local build and pipeline services keep each build or job as a JSON record under the data
folder (``RecordStore``), so that any process (the one that started it, the emulated-mode status
watcher, a restarted stack) can read its state and cancel it. A record names its processes by
``ProcessIdentity`` (pid, start time in clock ticks since boot, boot id): a pid alone may have been
recycled by an unrelated process, the triple cannot. ``kill_group`` kills a recorded process
group only when it is still the recorded one. Linux only (``/proc``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")
KILL_GRACE_S = 5.0
KILL_CONFIRM_S = 10.0


def boot_id() -> str:
    try:
        return (PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return ""


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/{pid}/stat`` from field 3 (state) on; None when the pid does not exist."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text.rsplit(") ", 1)[1].split()


@dataclass(frozen=True)
class ProcessIdentity:
    """One process, told apart from any later process that reuses its pid."""

    pid: int
    start: int
    """Start time in clock ticks after boot (``/proc/{pid}/stat`` field 22)."""
    boot: str

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity | None:
        fields = _stat_fields(pid)
        return None if fields is None else cls(pid=pid, start=int(fields[19]), boot=boot_id())

    @classmethod
    def current(cls) -> ProcessIdentity:
        identity = cls.of(os.getpid())
        assert identity is not None
        return identity

    @classmethod
    def from_record(cls, value: Any) -> ProcessIdentity | None:
        if not isinstance(value, dict):
            return None
        return cls(pid=int(value["pid"]), start=int(value["start"]), boot=str(value["boot"]))

    def to_record(self) -> dict[str, Any]:
        return {"pid": self.pid, "start": self.start, "boot": self.boot}

    def is_alive(self) -> bool:
        """True while this very process runs (a zombie waiting for its parent counts as ended)."""
        if self.boot != boot_id():
            return False
        fields = _stat_fields(self.pid)
        return fields is not None and int(fields[19]) == self.start and fields[0] != "Z"

    def pid_taken_by_another(self) -> bool:
        fields = _stat_fields(self.pid)
        return fields is not None and int(fields[19]) != self.start


def group_members(pgid: int) -> list[int]:
    """Pids of the live (non-zombie) processes of process group ``pgid``."""
    members = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _wait_group_empty(pgid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while group_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def kill_group(leader: ProcessIdentity, grace_s: float = KILL_GRACE_S) -> bool:
    """SIGTERM the process group led by ``leader``, SIGKILL what is left after ``grace_s``.

    Does nothing when the group cannot be ours: a record from another boot, or the leader's pid
    now belongs to a different process (the kernel never reuses a pid while it still names a
    process group, so members of a group whose leader has gone are still ours). Returns True
    once no process of the group is left, False when nothing was ours to kill.
    """
    if leader.boot != boot_id() or leader.pid_taken_by_another():
        return False
    pgid = leader.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    if not _wait_group_empty(pgid, grace_s):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        if not _wait_group_empty(pgid, KILL_CONFIRM_S):
            raise RuntimeError(f"process group {pgid} survived SIGKILL: {group_members(pgid)}")
    return True


class RecordStore:
    """JSON records in one folder; ``locked`` is a read-modify-write under an exclusive file lock.

    The lock is ``flock`` on a sidecar ``.lock`` file, so it serialises threads and processes
    alike; records are replaced atomically, so readers without the lock never see half a file.
    Never nest ``locked`` calls on the same record.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def read(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.path(key).read_text()))
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[dict[str, Any]]:
        """The record (``{}`` when new), written back when the block ends without an exception."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{key}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                record = self.read(key) or {}
                before = json.dumps(record, sort_keys=True)
                yield record
                if json.dumps(record, sort_keys=True) != before:
                    self._write(key, record)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, key: str, record: dict[str, Any]) -> None:
        target = self.path(key)
        scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        scratch.write_text(json.dumps(record, indent=2, sort_keys=True))
        os.replace(scratch, target)


def wait_until(predicate: Any, timeout_s: float, every_s: float = 0.1) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout_s`` has passed; its last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every_s)
