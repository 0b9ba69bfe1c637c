"""Blob store port: ``gs://bucket/path`` (Cloud Storage) and ``file:///path`` (local folder)."""

from __future__ import annotations

from typing import IO, Protocol


class BlobStore(Protocol):
    def read_bytes(self, uri: str) -> bytes:
        """Raise ``errors.NotFound`` when the object does not exist."""
        ...

    def write_bytes(self, uri: str, data: bytes, content_type: str | None = None) -> None: ...

    def write_stream(self, uri: str, stream: IO[bytes], content_type: str | None = None) -> str | None:
        """Write what ``stream`` holds, read in chunks (large files: uploads); the written object's
        generation when the store numbers versions (Cloud Storage's ``generation``, the local write time in
        µs), the value its object finalized event carries."""
        ...

    def exists(self, uri: str) -> bool: ...

    def list(self, prefix_uri: str) -> list[str]:
        """URIs of all objects under the prefix, sorted."""
        ...

    def delete(self, uri: str) -> None: ...
