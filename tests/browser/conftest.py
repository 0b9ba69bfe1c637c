"""Browser tests: Playwright driving Debian's Chromium against the real gateway of the local stack.

``stack`` is the all-in-one local stack (embedded store and bus, local build and pipeline runners,
MovieLens registered) in a temporary data folder, served on a free port, tracking to the session's
real ``mlflow server``. ``page`` is a fresh browser context at laptop size; it fails the test on any
uncaught page error, and records every ``alert`` so the XSS test can assert none fired.
Screenshots go to ``test-results/screenshots/`` (issue 15's committed pictures: ``issue_shot``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from experiments_platform.config import Settings
from experiments_platform.domain.dataset import Dataset
from experiments_platform.local.stack import LocalStack
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"
CHROMIUM = os.environ.get("PLATFORM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LAPTOP: ViewportSize = {"width": 1366, "height": 800}
SAMPLE_DATASET = "movielens-100k-first-50-users"


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium (``apt-get install chromium``); Playwright's own browsers are never downloaded."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium with `apt-get install -y chromium` "
                    "(.ci/run does), or point PLATFORM_CHROMIUM at a Chromium binary")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@dataclass
class Gateway:
    """The running stack and a JSON client for its API."""

    stack: LocalStack
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return self.stack.url

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self.url + path, timeout=30, **kwargs)
        assert response.ok, f"{method} {path} answered {response.status_code}: {response.text[:500]}"
        return response.json() if response.content else None

    def dataset(self, dataset_id: str = SAMPLE_DATASET) -> Dataset:
        doc = self.stack.platform.documents.get("datasets", dataset_id)
        assert doc is not None, f"dataset {dataset_id} is not registered"
        return Dataset.model_validate(doc)


def running_stack(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[Gateway]:
    """A local stack of its own (documents, run slots, pipelines) behind a gateway, stopped afterwards."""
    data_dir = tmp_path_factory.mktemp("ui-stack")
    settings = Settings(data_dir=data_dir, mlflow_tracking_uri=mlflow_server,
                        tfx_python=str(ROOT / ".venv-tfx" / "bin" / "python"))
    stack = LocalStack(settings, port=0, with_mlflow=False, load_data=True, reconcile_every_s=5.0)
    stack.start()
    try:
        yield Gateway(stack)
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory, mlflow_server: str) -> Iterator[Gateway]:
    yield from running_stack(tmp_path_factory, mlflow_server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@dataclass
class PageProbe:
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def probe() -> PageProbe:
    return PageProbe()


@pytest.fixture
def page(browser: Browser, gateway: Gateway, probe: PageProbe) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP, base_url=gateway.url, accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.on("pageerror", lambda error: probe.errors.append(str(error)))

    def on_dialog(dialog: Any) -> None:
        probe.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    yield tab
    context.close()
    assert not probe.errors, f"uncaught errors in the page: {probe.errors}"


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def issue_shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """A before/after picture of issue 15, in 128 colours (a third of the bytes, the UI's flat colours kept).

    Only ``ISSUE15_PHASE=before|after`` writes ``docs/screenshots/issue15/<name>-<phase>.png``, the
    committed pictures; a plain test run writes under ``test-results/screenshots/issue15/`` and leaves
    the work tree clean."""
    from PIL import Image

    phase = os.environ.get("ISSUE15_PHASE")
    folder = ROOT / "docs" / "screenshots" / "issue15" if phase else SCREENSHOTS / "issue15"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{phase or 'after'}.png"
    page.screenshot(path=str(path), full_page=full_page)
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    return path


FIXTURES = ROOT / "tests" / "fixtures" / "tfdv" / "movielens"


def attach_pipeline_outputs(gateway: Gateway, experiment_id: str) -> None:
    """Give a seeded experiment what the local pipeline runner leaves behind: ``artifacts.json``
    pointing at real StatisticsGen/SchemaGen outputs (the TFX MovieLens fixtures) and component logs."""
    from experiments_platform.handlers.artifact_reader import PIPELINE_COMPONENTS

    settings = gateway.stack.settings
    outputs = settings.data_dir / "pipelines" / "seeded" / experiment_id
    shutil.copytree(FIXTURES / "statistics", outputs / "StatisticsGen" / "statistics")
    shutil.copytree(FIXTURES / "schema", outputs / "SchemaGen" / "schema")
    index = {
        "ExampleGen": {"examples": [(outputs / "ExampleGen" / "examples").as_uri()]},
        "StatisticsGen": {"statistics": [(outputs / "StatisticsGen" / "statistics").as_uri()]},
        "SchemaGen": {"schema": [(outputs / "SchemaGen" / "schema").as_uri()]},
        "Transform": {"transform_graph": [(outputs / "Transform" / "transform_graph").as_uri()],
                      "transformed_examples": [(outputs / "Transform" / "transformed_examples").as_uri()]},
        "Trainer": {"model": [(outputs / "Trainer" / "model").as_uri()],
                    "model_run": [(outputs / "Trainer" / "model_run").as_uri()]},
    }
    platform = gateway.stack.platform
    platform.blobs.write_bytes(platform.experiment_artifacts_uri(experiment_id, "artifacts.json"),
                               json.dumps(index).encode())
    logs = settings.data_dir / "logs" / experiment_id
    logs.mkdir(parents=True, exist_ok=True)
    for component in ("Compile", *PIPELINE_COMPONENTS[:-1]):
        (logs / f"{component}.log").write_text(
            "".join(f"{component} step {i}: processing <b>batch</b> {i}\n" for i in range(1, 31)))


@dataclass(frozen=True)
class SeededRuns:
    ids: list[str]
    completed: list[str]
    best: str


@pytest.fixture(scope="session")
def seeded(gateway: Gateway, mlflow_server: str) -> SeededRuns:
    return seed_runs(gateway, mlflow_server)


def seed_runs(gateway: Gateway, mlflow_server: str) -> SeededRuns:
    """Thirty finished experiments with MLflow runs; the best one has statistics, schema and logs."""
    from .seeding import seed_experiments

    result = seed_experiments(gateway.stack.platform.documents, gateway.dataset(), 30, mlflow_uri=mlflow_server)
    board = gateway.api("GET", "/api/dashboard/leaderboard?metric=recall_at_100&page_size=1")
    best = board["items"][0]["id"]
    attach_pipeline_outputs(gateway, best)
    return SeededRuns(ids=result.ids, completed=result.completed, best=best)
