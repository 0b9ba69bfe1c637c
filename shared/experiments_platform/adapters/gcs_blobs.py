"""Cloud Storage adapter of ``ports.blobs.BlobStore``: ``gs://bucket/object`` URIs.

The client follows STORAGE_EMULATOR_HOST (fake-gcs-server in the tests) and is built on first use.
"""

from __future__ import annotations

import re
from typing import IO, TYPE_CHECKING

from google.api_core import exceptions as gexc

from experiments_platform.config import Settings
from experiments_platform.errors import InvalidInput, NotFound, TransientError

if TYPE_CHECKING:
    from google.cloud.storage import Blob, Client

_GS_URI = re.compile(r"^gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/(?P<name>.*)$")


def split_uri(uri: str, allow_empty_name: bool = False) -> tuple[str, str]:
    """``gs://bucket/a/b`` → ``("bucket", "a/b")``; raise ``InvalidInput`` naming the URI otherwise."""
    match = _GS_URI.match(uri) if isinstance(uri, str) else None
    if not match or (not match["name"] and not allow_empty_name):
        raise InvalidInput(f"{uri!r} is not a Cloud Storage URI; expected gs://bucket/object", field="uri")
    return match["bucket"], match["name"]


class GcsBlobStore:
    def __init__(self, project: str | None = None, client: Client | None = None) -> None:
        self.project = project
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> GcsBlobStore:
        return cls(project=settings.gcp_project)

    @property
    def client(self) -> Client:
        if self._client is None:
            from google.cloud.storage import Client

            self._client = Client(project=self.project)
        return self._client

    def _blob(self, uri: str) -> Blob:
        bucket, name = split_uri(uri)
        return self.client.bucket(bucket).blob(name)

    def read_bytes(self, uri: str) -> bytes:
        try:
            return bytes(self._blob(uri).download_as_bytes())
        except gexc.NotFound:
            raise NotFound(f"blob {uri} does not exist", field="uri") from None
        except gexc.GoogleAPICallError as exc:
            raise TransientError(f"reading {uri} failed: {exc}") from exc

    def write_bytes(self, uri: str, data: bytes, content_type: str | None = None) -> None:
        if uri.endswith("/"):
            raise InvalidInput(f"{uri!r} names a folder; a blob URI must not end with '/'", field="uri")
        try:
            self._blob(uri).upload_from_string(data, content_type=content_type or "application/octet-stream")
        except gexc.NotFound:
            raise NotFound(f"bucket of {uri} does not exist", field="uri") from None
        except gexc.GoogleAPICallError as exc:
            raise TransientError(f"writing {uri} failed: {exc}") from exc

    def write_stream(self, uri: str, stream: IO[bytes], content_type: str | None = None) -> str | None:
        """A resumable upload in chunks (the client's default above 8 MiB), never the whole file in memory;
        the new object's generation (what its object finalized event carries)."""
        if uri.endswith("/"):
            raise InvalidInput(f"{uri!r} names a folder; a blob URI must not end with '/'", field="uri")
        blob = self._blob(uri)
        try:
            blob.upload_from_file(stream, content_type=content_type or "application/octet-stream")
        except gexc.NotFound:
            raise NotFound(f"bucket of {uri} does not exist", field="uri") from None
        except gexc.GoogleAPICallError as exc:
            raise TransientError(f"writing {uri} failed: {exc}") from exc
        return str(blob.generation) if blob.generation else None

    def exists(self, uri: str) -> bool:
        return bool(self._blob(uri).exists())

    def list(self, prefix_uri: str) -> list[str]:
        bucket, prefix = split_uri(prefix_uri, allow_empty_name=True)
        try:
            blobs = self.client.list_blobs(bucket, prefix=prefix or None)
            return sorted(f"gs://{bucket}/{blob.name}" for blob in blobs)
        except gexc.NotFound:
            return []

    def delete(self, uri: str) -> None:
        try:
            self._blob(uri).delete()
        except gexc.NotFound:
            return
