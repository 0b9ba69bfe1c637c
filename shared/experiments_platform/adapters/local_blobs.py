"""Local folder adapter of ``ports.blobs.BlobStore``: ``file:///abs/path`` URIs.

Behaves like Cloud Storage: objects are files, "folders" are only name prefixes (``list`` matches
the URI prefix as a string), writes are atomic (a reader never sees half an object), deleting a
missing object does nothing. With a ``root``, URIs outside it are refused, so a URI from a request
can never reach other files of the machine.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..config import Settings
from ..errors import InvalidInput, NotFound


def path_of(uri: str) -> Path:
    """The absolute path of a ``file://`` URI; raise ``InvalidInput`` naming the URI otherwise."""
    parsed = urlparse(uri) if isinstance(uri, str) else None
    if parsed is None or parsed.scheme != "file" or parsed.netloc not in ("", "localhost") or not parsed.path:
        raise InvalidInput(f"{uri!r} is not a local blob URI; expected file:///absolute/path", field="uri")
    return Path(unquote(parsed.path))


class LocalBlobStore:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).resolve() if root is not None else None

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalBlobStore:
        return cls(root=settings.data_dir)

    def _path(self, uri: str) -> Path:
        path = Path(os.path.normpath(path_of(uri)))
        if self.root is not None and path != self.root and self.root not in path.parents:
            raise InvalidInput(f"{uri!r} is outside the blob root {self.root.as_uri()}", field="uri")
        return path

    def read_bytes(self, uri: str) -> bytes:
        path = self._path(uri)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"blob {uri} does not exist", field="uri") from None

    def write_bytes(self, uri: str, data: bytes, content_type: str | None = None) -> None:
        path = self._path(uri)
        if uri.endswith("/"):
            raise InvalidInput(f"{uri!r} names a folder; a blob URI must not end with '/'", field="uri")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

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
                if self.root is None or self.root in Path(full).parents:
                    found.append(Path(full).as_uri())
        return sorted(found)

    def delete(self, uri: str) -> None:
        path = self._path(uri)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError):
            return
