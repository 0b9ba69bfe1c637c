"""Settings from PLATFORM_* variables: defaults are the embedded stack; every error names the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiments_platform.config import Settings, load_settings
from experiments_platform.errors import ConfigurationError


def test_defaults_are_the_embedded_local_stack() -> None:
    settings = load_settings({})
    assert (settings.document_store, settings.event_bus, settings.blob_store, settings.warehouse) == (
        "sqlite", "embedded", "local", "duckdb")
    assert (settings.build_service, settings.pipeline_service, settings.log_store) == ("local", "local", "local")
    assert settings.data_dir == Path("var")
    assert settings.gcp_project is None
    assert settings.mlflow_tracking_uri == "http://127.0.0.1:5000"


def test_reads_only_platform_variables_and_ignores_empty_ones() -> None:
    settings = load_settings({
        "PLATFORM_SERVICE": "submitter", "PLATFORM_DATA_DIR": "/tmp/x", "PLATFORM_GCP_PROJECT": "",
        "HOME": "/root", "PUBSUB_EMULATOR_HOST": "127.0.0.1:8085",
    })
    assert settings.service == "submitter"
    assert settings.data_dir == Path("/tmp/x")
    assert settings.gcp_project is None


def test_local_uris_derive_from_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"PLATFORM_DATA_DIR": str(tmp_path)})
    assert settings.resolved_pipeline_root == (tmp_path / "pipelines").as_uri()
    assert settings.resolved_artifacts_uri == (tmp_path / "artifacts").as_uri()
    assert settings.local_uri("logs", "e1") == (tmp_path / "logs" / "e1").as_uri()
    cloud = load_settings({"PLATFORM_ARTIFACTS_URI": "gs://bucket/artifacts", "PLATFORM_PIPELINE_ROOT": "gs://b/root"})
    assert (cloud.resolved_artifacts_uri, cloud.resolved_pipeline_root) == ("gs://bucket/artifacts", "gs://b/root")


def test_gcp_settings() -> None:
    settings = load_settings({
        "PLATFORM_DOCUMENT_STORE": "firestore", "PLATFORM_EVENT_BUS": "pubsub", "PLATFORM_BLOB_STORE": "gcs",
        "PLATFORM_GCP_PROJECT": "demo", "PLATFORM_GCP_REGION": "us-central1",
    })
    assert (settings.document_store, settings.event_bus, settings.blob_store) == ("firestore", "pubsub", "gcs")
    assert settings.gcp_region == "us-central1"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PLATFORM_DOCUMENT_STORE": "mongodb"}, "PLATFORM_DOCUMENT_STORE: Input should be 'sqlite' or 'firestore'"),
        ({"PLATFORM_EVENT_BUS": "kafka"}, "PLATFORM_EVENT_BUS: Input should be 'embedded' or 'pubsub'"),
        ({"PLATFORM_LOG_STORE": "stdout"}, "PLATFORM_LOG_STORE: Input should be 'local' or 'cloudlogging'"),
        ({"PLATFORM_DOCUMNT_STORE": "sqlite"}, "PLATFORM_DOCUMNT_STORE: Extra inputs are not permitted"),
        ({"PLATFORM_DOCUMENT_STORE": "firestore"},
         "PLATFORM_GCP_PROJECT is required by PLATFORM_DOCUMENT_STORE=firestore"),
        ({"PLATFORM_EVENT_BUS": "pubsub", "PLATFORM_PIPELINE_SERVICE": "vertex"},
         "PLATFORM_GCP_PROJECT is required by PLATFORM_EVENT_BUS=pubsub, PLATFORM_PIPELINE_SERVICE=vertex"),
    ],
)
def test_errors_name_the_variable_and_the_reason(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environ)
    assert expected in raised.value.message
    assert raised.value.to_dict()["error_code"] == "CONFIGURATION_ERROR"


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"PLATFORM_WAREHOUSE": "snowflake", "PLATFORM_BLOB_STORE": "s3"})
    assert "PLATFORM_WAREHOUSE" in raised.value.message
    assert "PLATFORM_BLOB_STORE" in raised.value.message


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.service = "other"  # type: ignore[misc]


def test_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_SERVICE", "status_watcher")
    assert load_settings().service == "status_watcher"
