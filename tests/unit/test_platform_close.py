"""Closing a platform while an event handler is still running (the local stack's stop, a test's teardown)."""

from __future__ import annotations

import threading
from pathlib import Path

from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings


def test_closing_while_a_handler_runs_lets_it_finish_with_the_platform_it_uses(tmp_path: Path) -> None:
    """Before: ``close`` held the platform's lock while the bus waited for its handlers, and a handler that
    reached for a port waited for that lock: the stop hung for good (a CI run's end, after its last test)."""
    platform = Platform(Settings(data_dir=tmp_path))
    bus = platform.bus
    handling, release = threading.Event(), threading.Event()
    seen: list[object] = []

    def handler(message: object) -> None:
        handling.set()
        release.wait(timeout=30)
        seen.append(platform.documents.get("experiments", "e1"))

    bus.subscribe("topic", "sub", handler)  # type: ignore[attr-defined]
    platform.documents.set("experiments", "e1", {"status": "running"})
    bus.publish("topic", b"{}")
    assert handling.wait(timeout=30)

    closer = threading.Thread(target=platform.close, daemon=True)
    closer.start()
    closer.join(timeout=0.5)  # close is waiting for the handler now
    release.set()
    closer.join(timeout=60)
    assert not closer.is_alive(), "close never returned"
    assert seen == [{"status": "running"}], "the handler read the store before it was closed"
