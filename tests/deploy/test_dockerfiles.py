"""Dockerfiles, checked by reading them and by hadolint (no Docker engine runs here)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from deploy_model import IMAGE_DOCKERFILES, REPO, SERVICE_DOCKERFILES, command, dockerfile, final_stage
from experiments_platform.events import topology

HADOLINT = REPO / ".venv-tools" / "bin" / "hadolint"
PINNED_BASE = re.compile(r"^(python|node):\d+\.\d+\.\d+-[a-z0-9.-]+(@sha256:[0-9a-f]{64})?( AS \w+)?$")
ALL_DOCKERFILES = [*SERVICE_DOCKERFILES, *IMAGE_DOCKERFILES]


def label(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_every_service_has_a_dockerfile() -> None:
    assert {p.parent.name for p in SERVICE_DOCKERFILES} == set(topology.SERVICES)
    assert {p.parent.name for p in IMAGE_DOCKERFILES} == {"tfx-pipeline", "tfx-compiler", "mlflow"}


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=label)
def test_base_images_are_pinned_to_a_patch_release(path: Path) -> None:
    bases = [i.arguments for i in dockerfile(path) if i.keyword == "FROM"]
    assert bases
    for base in bases:
        assert PINNED_BASE.match(base), f"{label(path)}: base image {base!r} is not pinned to a patch release"


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=label)
def test_the_final_stage_runs_as_a_non_root_user(path: Path) -> None:
    users = [i.arguments for i in final_stage(dockerfile(path)) if i.keyword == "USER"]
    assert users, f"{label(path)} never leaves root"
    assert users[-1] not in ("root", "0", "0:0"), f"{label(path)} runs as root"


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=label)
def test_the_entry_command_is_present_in_exec_form(path: Path) -> None:
    assert command(path), f"{label(path)} has no CMD or ENTRYPOINT"


@pytest.mark.parametrize("path", SERVICE_DOCKERFILES, ids=label)
def test_services_serve_their_main_app_with_gunicorn_on_port(path: Path) -> None:
    argv = command(path)
    assert argv[0] == "gunicorn" and argv[-1] == "main:app"
    assert "--bind" not in argv, "gunicorn must bind $PORT, which Cloud Run sets"
    workdirs = [i.arguments for i in final_stage(dockerfile(path)) if i.keyword == "WORKDIR"]
    assert workdirs[-1] == f"/app/services/{path.parent.name}"


@pytest.mark.parametrize("path", [*SERVICE_DOCKERFILES, *IMAGE_DOCKERFILES], ids=label)
def test_copied_sources_exist(path: Path) -> None:
    for instruction in dockerfile(path):
        if instruction.keyword != "COPY" or "--from=" in instruction.arguments:
            continue
        *sources, _ = instruction.arguments.split()
        for source in sources:
            assert (REPO / source).exists(), f"{label(path)} copies {source}, which is not in the repository"


def test_the_pipeline_images_install_the_measured_lock() -> None:
    lock = REPO / "requirements" / "tfx-1.16-py3.10.lock"
    pins = lock.read_text()
    assert "tfx==1.16.0" in pins and "tensorflow-recommenders==0.7.7" in pins and "protobuf==3.20.3" in pins
    for name in ("tfx-pipeline", "tfx-compiler"):
        text = (REPO / "docker" / name / "Dockerfile").read_text()
        assert "-r tfx-1.16-py3.10.lock" in text and "TF_USE_LEGACY_KERAS=1" in text


def test_the_pipeline_image_starts_components_as_kubeflow_v2_does() -> None:
    argv = command(REPO / "docker" / "tfx-pipeline" / "Dockerfile")
    assert argv == ["python", "-m", "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"]


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=label)
def test_hadolint_finds_nothing(path: Path) -> None:
    assert HADOLINT.exists(), "hadolint is missing; install: .venv-tools/bin/pip install -r requirements/tools.txt"
    result = subprocess.run([str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
