"""make run's demo quick test: launched through the real HTTP API, once."""

from __future__ import annotations

from pathlib import Path

from experiments_platform.bootstrap import Platform
from experiments_platform.events.messages import SubmitExperiment, Topics
from experiments_platform.local.demo import launch_demo
from experiments_platform.local.stack import HttpServer, register_movielens

from .conftest import Published, gateway_app


def test_the_demo_starts_one_movielens_quick_test_and_only_once(platform: Platform, tmp_path: Path) -> None:
    register_movielens(platform)
    published = Published(platform.bus)  # type: ignore[arg-type]
    platform.bus.subscribe(Topics.SUBMIT, "test-submit", published.handler(Topics.SUBMIT))  # type: ignore[attr-defined]
    server = HttpServer(gateway_app(platform), "127.0.0.1", 0)
    server.start()
    try:
        experiment_id = launch_demo(server.url)
        assert experiment_id is not None
        assert launch_demo(server.url) is None
    finally:
        server.stop()

    assert published.on(Topics.SUBMIT) == [SubmitExperiment(experiment_id=experiment_id)]
    experiment = platform.documents.get("experiments", experiment_id)
    assert experiment is not None
    assert experiment["dataset_id"] == "movielens-100k"
    assert experiment["parameters"]["sample_percent"] == 25
    assert [f["column"] for f in experiment["feature_config_snapshot"]["query_features"]] == [
        "user_id", "age", "gender", "occupation"]
    assert len(platform.documents.query("feature_configs")) == 1
