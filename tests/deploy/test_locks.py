"""The services environment is locked with hashes, and every service image installs its lock (issue 13 item 9).

``requirements/lock.sh`` writes ``requirements/services.lock`` (every service dependency) and one
``requirements/images/SERVICE.lock`` per image, resolved within it; images install theirs with
``pip install --require-hashes``, so a tampered or re-released file fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from deploy_model import REPO, dockerfile, service_build
from experiments_platform.events import topology

LOCKS = REPO / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s\\;]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    """Package → version of a hashed lock; every pin must carry at least one sha256 hash."""
    found: dict[str, str] = {}
    text = lock.read_text()
    for block in re.split(r"\n(?=\S)", text):
        match = PIN.match(block)
        if not match:
            continue
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), f"{lock.name}: {match.group(1)} has no hash"
        found[canonical(match.group(1))] = match.group(3)
    assert found, f"{lock} pins nothing"
    return found


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(canonical(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]))
    return names


def test_the_services_lock_pins_every_requirement_with_hashes() -> None:
    locked = pins(LOCKS / "services.lock")
    missing = requirement_names(LOCKS / "services.txt") - set(locked)
    assert not missing, f"requirements/services.txt names {missing}, not in services.lock: run requirements/lock.sh"


@pytest.mark.parametrize("service", topology.SERVICES)
def test_each_image_lock_covers_its_service_and_agrees_with_the_services_lock(service: str) -> None:
    image_lock = pins(LOCKS / "images" / f"{service}.lock")
    missing = requirement_names(REPO / "services" / service / "requirements.txt") - set(image_lock)
    assert not missing, f"{service}: {missing} not in its lock: run requirements/lock.sh"
    services_lock = pins(LOCKS / "services.lock")
    differing = {name: (version, services_lock.get(name)) for name, version in image_lock.items()
                 if services_lock.get(name) not in (None, version)}
    assert not differing, f"{service}: versions differ from services.lock: {differing}"


@pytest.mark.parametrize("service", topology.SERVICES)
def test_each_service_image_installs_its_lock_with_hashes(service: str) -> None:
    path, args = service_build(service)
    instructions = dockerfile(path, args)
    copies = [i.arguments for i in instructions if i.keyword == "COPY"]
    assert f"requirements/images/{service}.lock /tmp/requirements.lock" in copies
    runs = " ".join(i.arguments for i in instructions if i.keyword == "RUN")
    assert "pip install --no-cache-dir --require-hashes --no-deps -r /tmp/requirements.lock" in runs


def test_the_artifact_reader_image_has_the_vertex_ai_client() -> None:
    """Component logs call GetPipelineJob (adapters/cloud_logging): issue 13 item 7."""
    assert "google-cloud-aiplatform" in pins(LOCKS / "images" / "artifact_reader.lock")


def test_the_gateway_image_has_the_vertex_ai_client() -> None:
    """A Vertex run's lineage view (gateway) queries Vertex ML Metadata (adapters/vertex_lineage imports
    google.cloud.aiplatform_v1); without the package the view says only "ModuleNotFoundError"."""
    assert "google-cloud-aiplatform" in pins(LOCKS / "images" / "api_gateway.lock")
