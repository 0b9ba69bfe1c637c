"""Rootful podman for the image tests: stand-in bases, builds one at a time with timings, containers.

Base images are build arguments of every Dockerfile; each official default maps to the stand-in
``docker/standins/build.sh`` makes from Debian packages (decision 080 says what they differ in).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from deploy_model import REPO, build_args

CONTAINERS_CONF = REPO / "docker" / "standins" / "containers.conf"
STANDINS_SCRIPT = REPO / "docker" / "standins" / "build.sh"
TIMINGS = REPO / "test-results" / "image-times.json"
BUILD_TIMEOUT_S = 3600
STANDIN_OF = (
    (re.compile(r"^python:(\d+\.\d+)\.\d+-slim-bookworm"), r"localhost/standin/python:\1-slim-bookworm"),
    (re.compile(r"^node:(\d+)\.[\d.]+-bookworm-slim"), r"localhost/standin/node:\1-bookworm-slim"),
    (re.compile(r"^apache/beam_python(\d+\.\d+)_sdk:[\d.]+"), r"localhost/standin/beam_python\1_sdk"),
)


def environment() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman(*args: str, timeout: float = 600, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], env=environment(), capture_output=True, text=True, timeout=timeout,
                            **kwargs)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} ... failed ({result.returncode}):\n"
                             f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result


def require_podman() -> None:
    missing = [tool for tool in ("podman", "runc", "debootstrap") if shutil.which(tool) is None]
    assert not missing, f"{missing} missing: apt-get install podman buildah runc debootstrap (.ci/run does)"


def record(kind: str, name: str, seconds: float) -> None:
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    times = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    times.setdefault(kind, {})[name] = round(seconds, 1)
    TIMINGS.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")


def build_standins() -> None:
    require_podman()
    started = time.monotonic()
    result = subprocess.run(["bash", str(STANDINS_SCRIPT)], env=environment(), capture_output=True, text=True,
                            timeout=BUILD_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-4000:]
    record("build", "standins", time.monotonic() - started)


def standin_args(dockerfile: Path) -> dict[str, str]:
    """The stand-in for every base-image argument whose default is an official image."""
    mapped = {}
    for name, default in build_args(dockerfile).items():
        for pattern, standin in STANDIN_OF:
            if pattern.match(default):
                mapped[name] = pattern.sub(standin, default).split("@")[0]
    return mapped


def build(dockerfile: Path, tag: str, args: dict[str, str] | None = None) -> str:
    """Build one image from the repository root with the stand-in bases; podman's layer cache applies."""
    given = {**standin_args(dockerfile), **(args or {})}
    argv = ["build", "--format", "docker", "--network", "host", "-f", str(dockerfile), "-t", tag]
    for name, value in given.items():
        argv += ["--build-arg", f"{name}={value}"]
    started = time.monotonic()
    podman(*argv, str(REPO), timeout=BUILD_TIMEOUT_S)
    record("build", tag.rsplit("/", 1)[-1], time.monotonic() - started)
    return tag


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def container(image: str, *options: str, argv: Sequence[str] = ()) -> Iterator[str]:
    """A detached container with its CMD as PID 1 (as Cloud Run starts it), removed afterwards."""
    cid = podman("run", "-d", *options, image, *argv).stdout.strip()
    try:
        yield cid
    finally:
        podman("rm", "-f", "-t", "2", cid, check=False)


def logs(cid: str) -> str:
    result = podman("logs", cid, check=False)
    return result.stdout + result.stderr


def image_config(image: str) -> dict[str, object]:
    [info] = json.loads(podman("image", "inspect", image).stdout)
    return dict(info["Config"])
