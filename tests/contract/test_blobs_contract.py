"""Contract of ports.blobs.BlobStore: the local folder store and Cloud Storage (fake-gcs-server)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from experiments_platform.adapters.gcs_blobs import GcsBlobStore
from experiments_platform.adapters.local_blobs import LocalBlobStore
from experiments_platform.errors import InvalidInput, NotFound
from experiments_platform.ports.blobs import BlobStore


@dataclass
class Blobs:
    store: BlobStore
    root: str

    def uri(self, name: str) -> str:
        return f"{self.root}/{name}"


@pytest.fixture(params=["local", pytest.param("gcs", marks=pytest.mark.emulators)])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Blobs]:
    if request.param == "local":
        yield Blobs(LocalBlobStore(root=tmp_path), tmp_path.resolve().as_uri())
        return
    request.getfixturevalue("emulators")
    from google.cloud.storage import Client

    client = Client(project="test")
    bucket = client.create_bucket(f"bucket-{uuid.uuid4().hex[:12]}")
    yield Blobs(GcsBlobStore(client=client), f"gs://{bucket.name}")
    for blob in client.list_blobs(bucket.name):
        blob.delete()
    bucket.delete()


def test_write_then_read(blobs: Blobs) -> None:
    uri = blobs.uri("experiments/e1/metrics.json")
    blobs.store.write_bytes(uri, b'{"recall_at_100": 0.39}', content_type="application/json")
    assert blobs.store.read_bytes(uri) == b'{"recall_at_100": 0.39}'
    assert blobs.store.exists(uri)


def test_overwrite_replaces(blobs: Blobs) -> None:
    uri = blobs.uri("spec.json")
    blobs.store.write_bytes(uri, b"one")
    blobs.store.write_bytes(uri, b"two")
    assert blobs.store.read_bytes(uri) == b"two"


def test_missing_blob_raises_not_found_naming_the_uri(blobs: Blobs) -> None:
    uri = blobs.uri("nope/missing.json")
    with pytest.raises(NotFound, match="missing.json"):
        blobs.store.read_bytes(uri)
    assert not blobs.store.exists(uri)


def test_list_is_a_sorted_string_prefix_match(blobs: Blobs) -> None:
    names = ["exp/e1/spec.json", "exp/e1/logs/Trainer.log", "exp/e10/spec.json", "exp/e2/spec.json", "other.txt"]
    for name in names:
        blobs.store.write_bytes(blobs.uri(name), name.encode())
    in_e1 = [blobs.uri("exp/e1/logs/Trainer.log"), blobs.uri("exp/e1/spec.json")]
    assert blobs.store.list(blobs.uri("exp/e1/")) == in_e1
    assert blobs.store.list(blobs.uri("exp/e1")) == [
        blobs.uri("exp/e1/logs/Trainer.log"), blobs.uri("exp/e1/spec.json"), blobs.uri("exp/e10/spec.json"),
    ]
    assert blobs.store.list(blobs.uri("absent/")) == []


def test_delete_is_idempotent(blobs: Blobs) -> None:
    uri = blobs.uri("tmp/x.bin")
    blobs.store.write_bytes(uri, bytes(range(256)))
    assert blobs.store.read_bytes(uri) == bytes(range(256))
    blobs.store.delete(uri)
    blobs.store.delete(uri)
    assert not blobs.store.exists(uri)
    assert blobs.store.list(blobs.uri("tmp/")) == []


def test_foreign_uris_are_rejected_naming_the_uri(blobs: Blobs) -> None:
    foreign = "gs://bucket/x" if blobs.root.startswith("file:") else "file:///etc/passwd"
    with pytest.raises(InvalidInput, match="expected"):
        blobs.store.read_bytes(foreign)
    with pytest.raises(InvalidInput):
        blobs.store.write_bytes(blobs.uri("folder/"), b"x")


def test_local_store_refuses_uris_outside_its_root(tmp_path: Path) -> None:
    store = LocalBlobStore(root=tmp_path / "root")
    with pytest.raises(InvalidInput, match="outside the blob root"):
        store.read_bytes((tmp_path / "root" / ".." / "secret").as_uri())
    with pytest.raises(InvalidInput, match="outside the blob root"):
        store.write_bytes("file:///etc/cron.d/x", b"x")


def test_local_store_from_settings_allows_configured_roots(tmp_path: Path) -> None:
    from experiments_platform.config import load_settings

    artifacts = tmp_path / "elsewhere" / "artifacts"
    settings = load_settings({"PLATFORM_DATA_DIR": str(tmp_path / "var"), "PLATFORM_ARTIFACTS_URI": artifacts.as_uri()})
    store = LocalBlobStore.from_settings(settings)
    store.write_bytes((artifacts / "e1" / "metrics.json").as_uri(), b"{}")
    store.write_bytes((tmp_path / "var" / "blobs" / "x").as_uri(), b"x")
    with pytest.raises(InvalidInput, match="outside the blob root"):
        store.write_bytes((tmp_path / "elsewhere" / "other").as_uri(), b"x")


def test_local_writes_are_atomic_for_concurrent_readers(tmp_path: Path) -> None:
    store = LocalBlobStore(root=tmp_path)
    uri = (tmp_path / "artifacts.json").as_uri()
    big_a, big_b = b"a" * 2_000_000, b"b" * 2_000_000
    store.write_bytes(uri, big_a)
    torn: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            data = store.read_bytes(uri)
            if data not in (big_a, big_b):
                torn.append(len(data))

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(20):
        store.write_bytes(uri, big_b if i % 2 else big_a)
    stop.set()
    thread.join()
    assert torn == []
    assert store.list(tmp_path.as_uri() + "/") == [uri]


def test_write_stream_stores_a_large_file_in_chunks(blobs: Blobs) -> None:
    """Uploads go through ``write_stream``: 9 MiB, above the GCS client's single-request size (8 MiB)."""
    import io

    data = bytes(range(256)) * (9 * 4096)
    blobs.store.write_stream(blobs.uri("uploads/u1/events.csv"), io.BytesIO(data), "text/csv")
    assert blobs.store.read_bytes(blobs.uri("uploads/u1/events.csv")) == data
    with pytest.raises(InvalidInput):
        blobs.store.write_stream(blobs.uri("uploads/"), io.BytesIO(b"x"))


def test_write_stream_answers_the_new_objects_generation(blobs: Blobs) -> None:
    """The generation an object finalized event carries: an upload keeps it, so its own event is a no-op
    (issue 13); each write of the object is a new one."""
    import io

    first = blobs.store.write_stream(blobs.uri("uploads/u2/a.csv"), io.BytesIO(b"x,y\n1,2\n"), "text/csv")
    second = blobs.store.write_stream(blobs.uri("uploads/u2/a.csv"), io.BytesIO(b"x,y\n1,3\n"), "text/csv")
    assert first and second and first.isdigit() and second.isdigit() and first != second


def test_local_store_removes_a_folder_its_last_delete_leaves_empty_but_never_a_root(tmp_path: Path) -> None:
    store = LocalBlobStore(root=tmp_path)
    store.write_bytes((tmp_path / "uploads/a1/x.csv").as_uri(), b"x")
    store.write_bytes((tmp_path / "uploads/a2/y.csv").as_uri(), b"y")
    store.delete((tmp_path / "uploads/a1/x.csv").as_uri())
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "uploads", "uploads/a2", "uploads/a2/y.csv"]
    store.delete((tmp_path / "uploads/a2/y.csv").as_uri())
    assert list(tmp_path.iterdir()) == [] and tmp_path.is_dir()
