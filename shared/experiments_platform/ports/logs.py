"""Log store port (Cloud Logging; per-component log files locally)."""

from __future__ import annotations

from typing import Protocol


class LogStore(Protocol):
    def tail(self, experiment_id: str, component: str, lines: int = 200) -> list[str]:
        """The last ``lines`` log lines of one pipeline component (or ``Compile``) of an experiment."""
        ...
