"""Local adapter of ``ports.logs.LogStore``: ``{data_dir}/logs/{experiment_id}/{Component}.log``.

The local build and pipeline runners write one file per component (``Compile`` for the build);
``tail`` reads only the end of the file, however large it grows.
"""

from __future__ import annotations

import os
from pathlib import Path

from experiments_platform.adapters._shared import check_lines, check_log_name
from experiments_platform.config import Settings
from experiments_platform.ports.logs import LogSource

_BLOCK = 64 * 1024


def last_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines of a text file, reading backwards in blocks."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        chunks: list[bytes] = []
        newlines = 0
        while position > 0 and newlines <= count:
            step = min(_BLOCK, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step)
            chunks.insert(0, chunk)
            newlines += chunk.count(b"\n")
    text = b"".join(chunks).decode("utf-8", errors="replace")
    lines = text.splitlines()
    return lines[-count:]


class LocalLogStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalLogStore:
        return cls(settings.data_dir / "logs")

    def path(self, experiment_id: str, component: str) -> Path:
        folder = self.root / check_log_name(experiment_id, "experiment_id")
        return folder / f"{check_log_name(component, 'component')}.log"

    def tail(self, source: LogSource, component: str, lines: int = 200) -> list[str]:
        """The last ``lines`` lines; ``[]`` while the component has not written anything."""
        path = self.path(source.experiment_id, component)
        check_lines(lines)
        try:
            return last_lines(path, lines)
        except FileNotFoundError:
            return []
