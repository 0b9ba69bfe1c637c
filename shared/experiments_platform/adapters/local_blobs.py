"""Local folder adapter of ``ports.blobs.BlobStore``: ``file:///abs/path`` URIs.

Behaves like Cloud Storage: objects are files, "folders" are only name prefixes (``list`` matches
the URI prefix as a string), writes are atomic (a reader never sees half an object), deleting a
missing object does nothing, and a folder left empty by a delete or a failed write is removed (a prefix
with no object left is gone, as in Cloud Storage; roots stay). With ``roots``, URIs outside them are
refused, so a URI from a request can never reach other files of the machine.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlparse

from experiments_platform.config import Settings
from experiments_platform.errors import InvalidInput, NotFound


def path_of(uri: str) -> Path:
    """The absolute path of a ``file://`` URI; raise ``InvalidInput`` naming the URI otherwise."""
    parsed = urlparse(uri) if isinstance(uri, str) else None
    if parsed is None or parsed.scheme != "file" or parsed.netloc not in ("", "localhost") or not parsed.path:
        raise InvalidInput(f"{uri!r} is not a local blob URI; expected file:///absolute/path", field="uri")
    return Path(unquote(parsed.path))


class LocalBlobStore:
    def __init__(self, root: str | Path | None = None, extra_roots: tuple[str | Path, ...] = ()) -> None:
        given = [root, *extra_roots] if root is not None else []
        self.roots = tuple(dict.fromkeys(Path(r).resolve() for r in given))
        self.finalized: Callable[[str, int, str], None] | None = None
        """Called with ``(file URI, size, generation)`` after each completed write (``web.push.embedded_subscriptions``
        emits Cloud Storage's object finalized CloudEvent from it on the embedded bus)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalBlobStore:
        """Confined to the data folder and any ``file://`` artifacts root or pipeline root configured elsewhere."""
        extra = tuple(path_of(uri) for uri in (settings.artifacts_uri, settings.pipeline_root, settings.uploads_uri)
                      if uri and uri.startswith("file:"))
        return cls(root=settings.data_dir, extra_roots=extra)

    def _inside(self, path: Path) -> bool:
        return not self.roots or any(path == root or root in path.parents for root in self.roots)

    def _path(self, uri: str) -> Path:
        path = Path(os.path.normpath(path_of(uri)))
        if not self._inside(path):
            roots = ", ".join(root.as_uri() for root in self.roots)
            raise InvalidInput(f"{uri!r} is outside the blob root(s) {roots}", field="uri")
        return path

    def read_bytes(self, uri: str) -> bytes:
        path = self._path(uri)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"blob {uri} does not exist", field="uri") from None

    def write_bytes(self, uri: str, data: bytes, content_type: str | None = None) -> None:
        self.write_stream(uri, io.BytesIO(data), content_type)

    def write_stream(self, uri: str, stream: IO[bytes], content_type: str | None = None) -> str:
        path = self._path(uri)
        if uri.endswith("/"):
            raise InvalidInput(f"{uri!r} names a folder; a blob URI must not end with '/'", field="uri")
        for attempt in range(3):  # a concurrent delete may remove the folder it left empty in between
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, 1024 * 1024)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            self._prune(path.parent)
            raise
        written = path.stat()
        generation = str(written.st_mtime_ns // 1000)  # as Cloud Storage's: a number per version, in µs
        if self.finalized is not None:  # as Cloud Storage's object finalized event (events.data_events)
            self.finalized(path.as_uri(), written.st_size, generation)
        return generation

    def exists(self, uri: str) -> bool:
        return self._path(uri).is_file()

    def list(self, prefix_uri: str) -> list[str]:
        base = self._path(prefix_uri)
        prefix = str(base) + ("/" if prefix_uri.endswith("/") and base != Path("/") else "")
        folder = base if prefix.endswith("/") else base.parent
        if not folder.is_dir():
            return []
        found = []
        for dirpath, _, filenames in os.walk(folder):
            for name in filenames:
                full = os.path.join(dirpath, name)
                if not full.startswith(prefix) or (name.startswith(".") and name.endswith(".tmp")):
                    continue
                if self._inside(Path(full)):
                    found.append(Path(full).as_uri())
        return sorted(found)

    def delete(self, uri: str) -> None:
        path = self._path(uri)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError):
            return
        self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        """Remove ``folder`` and its parents while they are empty, stopping at the roots (never pruned)."""
        while self.roots and folder not in self.roots and self._inside(folder):
            try:
                folder.rmdir()
            except OSError:  # not empty (or already gone): the prefix still holds objects
                return
            folder = folder.parent
