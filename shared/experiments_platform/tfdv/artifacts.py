"""Find and read the statistics and schema files inside TFX artifact URIs.

A statistics URI is the StatisticsGen artifact folder (holding ``Split-<name>/FeatureStats.pb``)
or one statistics file. A schema URI is the SchemaGen artifact folder (holding ``schema.pbtxt``)
or the file itself. URIs are ``gs://`` or ``file://``, read through any blob store of the
``ports.blobs.BlobStore`` shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from experiments_platform.errors import InvalidInput, NotFound
from experiments_platform.tfdv.schema import SchemaReport, parse_schema
from experiments_platform.tfdv.statistics import StatisticsReport, parse_statistics, split_sort_key

STATISTICS_FILES = ("FeatureStats.pb", "stats_tfrecord")
SCHEMA_FILE = "schema.pbtxt"
SPLIT_PREFIX = "Split-"


class BlobReader(Protocol):
    """The part of ``ports.blobs.BlobStore`` this module needs."""

    def read_bytes(self, uri: str) -> bytes: ...

    def list(self, prefix_uri: str) -> list[str]: ...


class LocalFileReader:
    """Reads ``file://`` URIs from the local disk, without a blob store (scripts, tests).

    With ``root``, only files inside that folder can be read (the service passes its data folder).
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root.resolve() if root is not None else None

    def _path(self, uri: str) -> Path:
        path = _local_path(uri).resolve()
        if self.root is not None and not path.is_relative_to(self.root):
            raise InvalidInput(f"{uri} is outside the data folder {self.root.as_uri()}", field="uri")
        return path

    def read_bytes(self, uri: str) -> bytes:
        path = self._path(uri)
        if not path.is_file():
            raise NotFound(f"{uri} does not exist", field="uri")
        return path.read_bytes()

    def list(self, prefix_uri: str) -> list[str]:
        path = self._path(prefix_uri)
        if path.is_dir():
            return sorted(p.as_uri() for p in path.rglob("*") if p.is_file())
        parent = path.parent
        if not parent.is_dir():
            return []
        return sorted(p.as_uri() for p in parent.rglob("*") if p.is_file() and p.as_uri().startswith(path.as_uri()))


def _local_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise InvalidInput(f"{uri!r} is not a file:// URI; this reader only reads local files", field="uri")
    return Path(unquote(parsed.path))


def check_uri(uri: str | None) -> str:
    """Return ``uri`` when it is a ``gs://`` or ``file://`` URI, else raise ``InvalidInput``."""
    if not uri:
        raise InvalidInput("uri is required: the gs:// or file:// URI of a TFX artifact", field="uri")
    scheme = urlparse(uri).scheme
    if scheme not in ("gs", "file"):
        raise InvalidInput(
            f"uri {uri!r} has scheme {scheme or 'none'!r}; use gs://bucket/path or file:///absolute/path",
            field="uri",
        )
    return uri.rstrip("/")


def _basename(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def _split_of(file_uri: str) -> str:
    folder = _basename(file_uri.rsplit("/", 1)[0])
    return folder[len(SPLIT_PREFIX):] if folder.startswith(SPLIT_PREFIX) else folder


def statistics_files(blobs: BlobReader, uri: str) -> dict[str, str]:
    """Split name → statistics file URI, for an artifact folder or a single statistics file."""
    uri = check_uri(uri)
    if _basename(uri) in STATISTICS_FILES:
        return {_split_of(uri): uri}
    found: dict[str, str] = {}
    for name in STATISTICS_FILES:
        for file_uri in blobs.list(uri + "/"):
            if _basename(file_uri) == name and file_uri.rsplit("/", 2)[0] == uri:
                found.setdefault(_split_of(file_uri), file_uri)
    if not found:
        raise NotFound(
            f"no statistics under {uri}: expected Split-<name>/FeatureStats.pb, as StatisticsGen writes; "
            "pass the StatisticsGen output artifact URI",
            field="uri",
        )
    return dict(sorted(found.items(), key=lambda item: split_sort_key(item[0])))


def load_statistics(blobs: BlobReader, uri: str) -> StatisticsReport:
    """Every split's statistics found at ``uri``."""
    files = statistics_files(blobs, uri)
    splits = [parse_statistics(blobs.read_bytes(file_uri), split, source=file_uri) for split, file_uri in files.items()]
    return StatisticsReport(splits=splits)


def schema_file(uri: str) -> str:
    uri = check_uri(uri)
    return uri if _basename(uri).endswith(".pbtxt") else f"{uri}/{SCHEMA_FILE}"


def load_schema(blobs: BlobReader, uri: str) -> SchemaReport:
    file_uri = schema_file(uri)
    try:
        data = blobs.read_bytes(file_uri)
    except NotFound:
        raise NotFound(
            f"no schema at {file_uri}; pass the SchemaGen output artifact URI (the folder holding schema.pbtxt)",
            field="uri",
        ) from None
    return parse_schema(data, source=file_uri)
