"""The memory guard of local pipeline workers (issue 10 section 2, decision 052).

A ``MemoryGuard`` samples the resident memory of a worker's whole process group (the worker,
Beam's and TensorFlow's subprocesses: ``/proc/{pid}/stat`` RSS of every member) twice a second,
keeps the peak, and kills the group with SIGKILL once it holds more than the run's share of the
machine (``Settings.resolved_local_run_memory_bytes``), before the kernel's out-of-memory killer
picks a process of the machine at random. The job then fails as "ran out of memory (peak N GiB …)",
which ``error_patterns`` classifies OUT_OF_MEMORY; a worker killed by anything else still reports
its peak, so a SIGKILL from the kernel's killer shows how much the run held. Linux only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

from experiments_platform.adapters.local_jobs import PROC, _stat_fields

GiB = 1024 ** 3
SAMPLE_EVERY_S = 0.5
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def group_rss_bytes(pgid: int) -> int:
    """Resident memory of every live process of process group ``pgid``, in bytes."""
    total = 0
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
            total += int(fields[21]) * _PAGE_SIZE  # field 24, rss in pages
    return total


def gib(size: int) -> str:
    return f"{size / GiB:.1f} GiB"


def out_of_memory_text(peak: int, limit: int) -> str:
    return (f"ran out of memory (peak {gib(peak)}; a local run may hold {gib(limit)}, "
            "PLATFORM_LOCAL_RUN_MEMORY_GIB) and was stopped by the memory guard")


class MemoryGuard:
    """Watches process group ``pgid`` until ``stop``; kills it when it holds more than ``limit`` bytes."""

    def __init__(self, pgid: int, limit: int | None, every_s: float = SAMPLE_EVERY_S) -> None:
        self.pgid = pgid
        self.limit = limit
        self.every_s = every_s
        self.peak = 0
        self.exceeded = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name=f"memory-guard-{pgid}")

    def start(self) -> MemoryGuard:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.is_set():
            held = group_rss_bytes(self.pgid)
            self.peak = max(self.peak, held)
            if self.limit is not None and held > self.limit and not self.exceeded:
                self.exceeded = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pgid, signal.SIGKILL)
            self._stop.wait(self.every_s)

    def ended_text(self) -> str:
        """What the job's error says about memory: the guard's stop, else the peak held."""
        if self.exceeded and self.limit is not None:
            return out_of_memory_text(self.peak, self.limit)
        return f"peak memory {gib(self.peak)}"
