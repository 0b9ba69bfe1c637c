"""Local adapter of ``ports.logs.LogStore``: ``{data_dir}/logs/{experiment_id}/{Component}.log``.

The local build and pipeline runners write one file per component (``Compile`` for the build);
``tail`` reads only the end of the file, however large it grows.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..config import Settings
from ..errors import InvalidInput

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_BLOCK = 64 * 1024
MAX_LINES = 10_000


def check_log_name(value: str, field: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value) or ".." in value:
        raise InvalidInput(
            f"{field} {value!r} is invalid: use letters, digits, '_', '.' or '-' (for example 'Trainer')", field=field
        )
    return value


def check_lines(lines: int) -> int:
    if not isinstance(lines, int) or isinstance(lines, bool) or not 1 <= lines <= MAX_LINES:
        raise InvalidInput(f"lines must be an integer from 1 to {MAX_LINES}, got {lines!r}", field="lines")
    return lines


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

    def tail(self, experiment_id: str, component: str, lines: int = 200) -> list[str]:
        """The last ``lines`` lines; ``[]`` while the component has not written anything."""
        path = self.path(experiment_id, component)
        check_lines(lines)
        try:
            return last_lines(path, lines)
        except FileNotFoundError:
            return []
