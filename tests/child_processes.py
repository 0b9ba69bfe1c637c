"""Child processes started by tests: daemons that are always reaped, even when an assertion fails.

A child left alive after a failed test is joined by ``multiprocessing``'s exit handler, so the whole
session hangs after its last test instead of reporting the failure (a CI run timed out that way).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any


@contextmanager
def started(
    ctx: BaseContext, target: Callable[..., object], args: Sequence[tuple[Any, ...]]
) -> Iterator[list[BaseProcess]]:
    """Start one daemon process per argument tuple; on leaving, kill any still alive and reap them all."""
    workers = [ctx.Process(target=target, args=one, daemon=True) for one in args]  # type: ignore[attr-defined]
    try:
        for worker in workers:
            worker.start()
        yield workers
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
            worker.join(timeout=10)


def exit_codes(workers: Sequence[BaseProcess], timeout_s: float) -> list[int | None]:
    """Wait up to ``timeout_s`` in all for every worker; ``None`` for one still running."""
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()))
    return [worker.exitcode for worker in workers]
