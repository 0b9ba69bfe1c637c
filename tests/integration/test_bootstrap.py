"""The bootstrap wires the configured adapter into each port, lazily."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiments_platform.adapters.embedded_bus import EmbeddedBus
from experiments_platform.adapters.local_blobs import LocalBlobStore
from experiments_platform.adapters.local_logs import LocalLogStore
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import PORTS, Platform
from experiments_platform.config import Settings, load_settings


def test_adapters_are_built_on_first_use_from_the_settings(tmp_path: Path):
    platform = Platform(Settings(data_dir=tmp_path))
    assert not any(platform.is_built(port) for port in PORTS)
    assert isinstance(platform.documents, SqliteDocumentStore)
    assert platform.is_built("documents") and not platform.is_built("bus")
    assert isinstance(platform.blobs, LocalBlobStore) and isinstance(platform.logs, LocalLogStore)
    assert isinstance(platform.bus, EmbeddedBus)
    assert platform.documents is platform.documents
    expected = (tmp_path / "artifacts/experiments/e1/spec.json").resolve().as_uri()
    assert platform.experiment_artifacts_uri("e1", "spec.json") == expected
    platform.close()


def test_overrides_replace_a_port_and_unknown_ports_are_named(tmp_path: Path):
    store = SqliteDocumentStore(tmp_path / "mine.sqlite")
    assert Platform(Settings(data_dir=tmp_path), documents=store).documents is store
    with pytest.raises(TypeError, match="unknown port override"):
        Platform(Settings(data_dir=tmp_path), database=store)


def test_cloud_adapters_need_a_project():
    with pytest.raises(Exception, match="PLATFORM_GCP_PROJECT is required"):
        load_settings({"PLATFORM_DOCUMENT_STORE": "firestore"})
