"""Dockerfiles, checked by reading them and by hadolint (no Docker engine runs here)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from deploy_model import (
    EVENT_SERVICE_DOCKERFILE,
    IMAGE_DOCKERFILES,
    REPO,
    SERVICE_DOCKERFILES,
    command,
    dockerfile,
    final_stage,
    service_build,
)
from experiments_platform.events import topology

HADOLINT = REPO / ".venv-tools" / "bin" / "hadolint"
PINNED_BASE = re.compile(
    r"^(python|node|apache/beam_python3\.\d+_sdk):\d+\.\d+\.\d+(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?( AS \w+)?$"
)
ALL_DOCKERFILES = [*SERVICE_DOCKERFILES, *IMAGE_DOCKERFILES]


def label(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_every_service_has_a_dockerfile() -> None:
    """The gateway has its own; the four event services share docker/service (decision 081)."""
    assert {p.parent.name for p in SERVICE_DOCKERFILES} == {"api_gateway"}
    assert {p.parent.name for p in IMAGE_DOCKERFILES} == {"tfx-pipeline", "tfx-compiler", "mlflow", "service"}
    for service in topology.SERVICES:
        path, args = service_build(service)
        assert path.exists()
        copied = [i.arguments for i in dockerfile(path, args) if i.keyword == "COPY"]
        assert f"services/{service} services/{service}" in copied, f"{service}: its folder is not in its image"


def test_the_event_service_dockerfile_refuses_an_unknown_service() -> None:
    text = EVENT_SERVICE_DOCKERFILE.read_text()
    event_services = sorted(set(topology.SERVICES) - {"api_gateway"})
    case = re.search(r'case "\$\{SERVICE\}" in ([a-z_|]+)\)', text)
    assert case and sorted(case.group(1).split("|")) == event_services


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=label)
def test_base_images_are_pinned_to_a_patch_release(path: Path) -> None:
    bases = [i.arguments for i in dockerfile(path) if i.keyword == "FROM"]
    assert bases
    for base in bases:
        assert PINNED_BASE.match(base), f"{label(path)}: base image {base!r} is not pinned to a patch release"


@pytest.mark.parametrize("path", [p for p in ALL_DOCKERFILES if p.parent.name != "tfx-compiler"], ids=label)
def test_the_final_stage_runs_as_a_non_root_user(path: Path) -> None:
    users = [i.arguments for i in final_stage(dockerfile(path)) if i.keyword == "USER"]
    assert users, f"{label(path)} never leaves root"
    assert users[-1] not in ("root", "0", "0:0"), f"{label(path)} runs as root"


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=label)
def test_the_entry_command_is_present_in_exec_form(path: Path) -> None:
    assert command(path), f"{label(path)} has no CMD or ENTRYPOINT"


@pytest.mark.parametrize("service", topology.SERVICES)
def test_services_serve_their_main_app_with_gunicorn_on_port(service: str) -> None:
    path, args = service_build(service)
    argv = command(path, args)
    assert argv[0] == "gunicorn" and argv[-1] == "main:app"
    assert "--bind" not in argv, "gunicorn must bind $PORT, which Cloud Run sets"
    workdirs = [i.arguments for i in final_stage(dockerfile(path, args)) if i.keyword == "WORKDIR"]
    assert workdirs[-1] == f"/app/services/{service}"


@pytest.mark.parametrize("path", [*SERVICE_DOCKERFILES, *IMAGE_DOCKERFILES], ids=label)
def test_copied_sources_exist(path: Path) -> None:
    for instruction in dockerfile(path):
        if instruction.keyword != "COPY" or "--from=" in instruction.arguments:
            continue
        *sources, _ = instruction.arguments.split()
        for source in sources:
            if "${SERVICE}" in source:  # docker/service: every event service's files
                services = [s for s in topology.SERVICES if s != "api_gateway"]
                missing = [s for s in services if not (REPO / source.replace("${SERVICE}", s)).exists()]
                assert not missing, f"{label(path)} copies {source}, missing for {missing}"
                continue
            assert (REPO / source).exists(), f"{label(path)} copies {source}, which is not in the repository"


def test_the_pipeline_images_install_the_measured_lock() -> None:
    lock = REPO / "requirements" / "tfx-1.16-py3.10.lock"
    pins = lock.read_text()
    assert "tfx==1.16.0" in pins and "tensorflow-recommenders==0.7.7" in pins and "protobuf==3.20.3" in pins
    for name in ("tfx-pipeline", "tfx-compiler"):
        text = (REPO / "docker" / name / "Dockerfile").read_text()
        assert "-r tfx-1.16-py3.10.lock" in text and "TF_USE_LEGACY_KERAS=1" in text


def test_the_pipeline_image_is_a_beam_sdk_container() -> None:
    """Dataflow needs Beam's boot program as the entrypoint (issue 13, blocker 2; decision 080).

    Vertex AI does not use it: every executor of the compiled spec names its command
    (tests/deploy/test_images.py runs one that way).
    """
    path = REPO / "docker" / "tfx-pipeline" / "Dockerfile"
    assert command(path) == ["/opt/apache/beam/boot"]
    stages = dockerfile(path)
    beam_base = next(i.arguments for i in stages if i.keyword == "FROM" and i.arguments.endswith(" AS beam"))
    copies = [i.arguments for i in final_stage(stages) if i.keyword == "COPY"]
    assert "--from=beam /opt/apache/beam /opt/apache/beam" in copies
    lock = (REPO / "requirements" / "tfx-1.16-py3.10.lock").read_text()
    beam_version = re.search(r"^apache-beam==([\d.]+)", lock, re.M)
    assert beam_version, "the lock pins apache-beam"
    python_base = next(i.arguments for i in final_stage(stages) if i.keyword == "FROM")
    minor = re.match(r"python:(\d+\.\d+)\.", python_base)
    assert minor
    assert beam_base == f"apache/beam_python{minor.group(1)}_sdk:{beam_version.group(1)} AS beam", (
        "the boot program must come from the SDK image of the installed Beam and Python versions"
    )


def test_the_compiler_image_runs_as_root_for_cloud_build() -> None:
    """Blocker 1 of issue 13: Cloud Build's /workspace and $BUILDER_OUTPUT are root-owned."""
    users = [i.arguments for i in final_stage(dockerfile(REPO / "docker" / "tfx-compiler" / "Dockerfile"))
             if i.keyword == "USER"]
    assert users[-1] in ("0", "root", "0:0")


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=label)
def test_hadolint_finds_nothing(path: Path) -> None:
    assert HADOLINT.exists(), "hadolint is missing; install: .venv-tools/bin/pip install -r requirements/tools.txt"
    result = subprocess.run([str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
