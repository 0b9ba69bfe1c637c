"""The artifact reader on the real local blob and log stores, with real TFDV artifacts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from experiments_platform.adapters.local_blobs import LocalBlobStore
from experiments_platform.adapters.local_logs import LocalLogStore
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.domain.status import Stage, StageStatus, Status
from experiments_platform.errors import InvalidInput, NotFound
from experiments_platform.handlers import artifact_reader as reader
from experiments_platform.ports.logs import LogSource, LogStore

from .lifecycle_support import make_experiment, write_interactions

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tfdv" / "movielens"


@pytest.fixture
def platform(tmp_path: Path):
    platform = Platform(Settings(data_dir=tmp_path), documents=SqliteDocumentStore(tmp_path / "d.sqlite"),
                        blobs=LocalBlobStore(tmp_path), logs=LocalLogStore(tmp_path / "logs"))
    yield platform
    platform.close()


@pytest.fixture
def experiment(platform, tmp_path: Path):
    experiment = make_experiment(write_interactions(tmp_path), status=Status.RUNNING)
    experiment.stages[Stage.STATS].status = StageStatus.SUCCEEDED
    platform.documents.create("experiments", experiment.id, experiment.to_document())
    pipeline_root = tmp_path / "pipelines" / "qt-x"
    shutil.copytree(FIXTURES / "statistics", pipeline_root / "StatisticsGen" / "statistics" / "3")
    shutil.copytree(FIXTURES / "schema", pipeline_root / "SchemaGen" / "schema" / "4")
    index = {
        "StatisticsGen": {"statistics": (pipeline_root / "StatisticsGen" / "statistics" / "3").as_uri()},
        "SchemaGen": {"schema": (pipeline_root / "SchemaGen" / "schema" / "4").as_uri()},
    }
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment.id, "artifacts.json"),
                               json.dumps(index).encode())
    return experiment


def test_component_logs_are_the_last_lines(platform, experiment, tmp_path):
    log = tmp_path / "logs" / experiment.id / "Trainer.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"epoch {i}\n" for i in range(10)))
    assert reader.component_logs(platform, experiment.id, "Trainer", 3)["lines"] == ["epoch 7", "epoch 8", "epoch 9"]
    assert reader.component_logs(platform, experiment.id, "Transform")["lines"] == []
    with pytest.raises(InvalidInput, match="unknown component 'trainer'") as bad:
        reader.component_logs(platform, experiment.id, "trainer")
    assert bad.value.suggestions == ["Trainer"]
    with pytest.raises(NotFound):
        reader.component_logs(platform, "nope", "Trainer")


class RecordingLogs(LogStore):
    """Answers one line and keeps what each ``tail`` was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[LogSource, str, int]] = []

    def tail(self, source: LogSource, component: str, lines: int = 200) -> list[str]:
        self.asked.append((source, component, lines))
        return ["a line"]


def test_the_log_store_gets_the_ids_and_time_from_the_experiment_document(platform, tmp_path):
    job = "projects/p/locations/europe-west1/pipelineJobs/qt-1"
    experiment = make_experiment(write_interactions(tmp_path), status=Status.RUNNING, cloud_build_id="b-1",
                                 pipeline_job_name=job)
    platform.documents.create("experiments", experiment.id, experiment.to_document())
    logs = RecordingLogs()
    reading = Platform(platform.settings, documents=platform.documents, logs=logs)
    assert reader.component_logs(reading, experiment.id, "Trainer", 7)["lines"] == ["a line"]
    assert logs.asked == [(LogSource(experiment.id, since=experiment.created_at, build_id="b-1",
                                     pipeline_job_name=job), "Trainer", reader.SUMMARY_LINES)], \
        "the last lines asked for, out of the lines the summary reads"


def test_artifacts_of_each_stage_with_their_status(platform, experiment):
    components = {c["component"]: c for c in reader.artifacts(platform, experiment.id)["components"]}
    assert components["StatisticsGen"]["status"] == "succeeded" and components["StatisticsGen"]["stage"] == "stats"
    assert components["StatisticsGen"]["outputs"]["statistics"][0].endswith("/statistics/3")
    assert components["Trainer"]["outputs"] == {} and components["Trainer"]["status"] == "pending"


def test_statistics_and_schema_are_parsed(platform, experiment):
    statistics = reader.statistics(platform, experiment.id)
    assert {split["split"] for split in statistics["splits"]} >= {"train", "eval"}
    schema = reader.schema(platform, experiment.id)
    assert any(feature["name"] == "user_id" for feature in schema["features"])


def test_metrics_and_history_before_the_run_ends(platform, experiment):
    with pytest.raises(NotFound, match="no metrics yet"):
        reader.metrics(platform, experiment.id)
    history = reader.training_history(platform, experiment.id)
    assert history["available"] is False and "no MLflow run" in history["reason"]


def test_metrics_of_a_run_whose_document_has_none_yet_come_from_metrics_json(platform, experiment):
    written = Path(__file__).resolve().parents[1] / "fixtures" / "metrics" / "metrics.json"
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment.id, "metrics.json"), written.read_bytes())
    assert reader.metrics(platform, experiment.id)["metrics"] == json.loads(written.read_text())
