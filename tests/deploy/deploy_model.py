"""The Terraform and Dockerfiles of the repository, read as data for the deploy tests."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
ENVIRONMENT = TERRAFORM / "environments" / "dev"
MODULES = TERRAFORM / "modules"
SERVICE_DOCKERFILES = sorted((REPO / "services").glob("*/Dockerfile"))
IMAGE_DOCKERFILES = sorted((REPO / "docker").glob("*/Dockerfile"))
EVENT_SERVICE_DOCKERFILE = REPO / "docker" / "service" / "Dockerfile"
"""The four event services' one Dockerfile, the service chosen by ``--build-arg SERVICE`` (decision 081)."""


def service_build(service: str) -> tuple[Path, dict[str, str]]:
    """The Dockerfile and build arguments of one Cloud Run service's image."""
    own = REPO / "services" / service / "Dockerfile"
    return (own, {}) if own.exists() else (EVENT_SERVICE_DOCKERFILE, {"SERVICE": service})


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals (``'"firestore"'``); drop them, keep expressions."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


def tf_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return unquote(hcl2.load(handle))


def blocks(folder: Path, kind: str) -> list[dict[str, Any]]:
    """Every top-level block of one kind (``resource``, ``variable``, ``locals`` ...) in a folder."""
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.tf")):
        found.extend(parse(path).get(kind, []))
    return found


def resources(folder: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """``(type, name, body)`` of every resource in a folder."""
    return [
        (rtype, name, body)
        for block in blocks(folder, "resource")
        for rtype, named in block.items()
        for name, body in named.items()
    ]


@cache
def environment_locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in blocks(ENVIRONMENT, "locals"):
        merged.update(block)
    return merged


def environment_text() -> str:
    return "\n".join(path.read_text() for path in sorted(ENVIRONMENT.glob("*.tf")))


def service_env(service: str) -> dict[str, str]:
    """The environment of one Cloud Run service, merged as ``module "services"`` merges it."""
    local = environment_locals()
    spec = local["services"][service]
    env: dict[str, str] = dict(local["common_env"])
    if spec["builds"]:
        env.update(local["build_env"])
    env.update(spec["env"])
    env["PLATFORM_SERVICE"] = service
    return env


def firestore_indexes() -> list[dict[str, Any]]:
    return json.loads((MODULES / "firestore" / "indexes.json").read_text())


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    stage: int


def build_args(path: Path, given: dict[str, str] | None = None) -> dict[str, str]:
    """Every ``ARG`` of a Dockerfile with its default, overridden by ``given`` (as ``--build-arg``)."""
    declared: dict[str, str] = {}
    for instruction in _instructions(path):
        if instruction.keyword == "ARG":
            name, has_default, default = instruction.arguments.partition("=")
            if has_default:  # an ARG without a default stays ${NAME} until given
                declared.setdefault(name, default)
    return {**declared, **(given or {})}


def substitute(text: str, args: dict[str, str]) -> str:
    """``${NAME}`` and ``$NAME`` replaced by build arguments (unknown names are left as they are)."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text)


def dockerfile(path: Path, given: dict[str, str] | None = None) -> list[Instruction]:
    """Instructions of a Dockerfile with build arguments substituted (defaults, then ``given``)."""
    args = build_args(path, given)
    return [Instruction(i.keyword, substitute(i.arguments, args), i.stage) for i in _instructions(path)]


def _instructions(path: Path) -> list[Instruction]:
    """Instructions of a Dockerfile (continuations joined, comments dropped), with their build stage."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, arguments.strip(), stage))
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def exec_form(arguments: str) -> list[str]:
    """The argv of an exec-form ``CMD``/``ENTRYPOINT`` (a JSON array); shell form is refused."""
    value = json.loads(arguments)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"not an exec-form JSON array: {arguments}")
    return value


def command(path: Path, given: dict[str, str] | None = None) -> list[str]:
    """The container's start command: ENTRYPOINT followed by CMD of the final stage."""
    stage = final_stage(dockerfile(path, given))
    entry = [exec_form(i.arguments) for i in stage if i.keyword == "ENTRYPOINT"]
    cmd = [exec_form(i.arguments) for i in stage if i.keyword == "CMD"]
    return (entry[-1] if entry else []) + (cmd[-1] if cmd else [])


def shell_words(text: str) -> list[str]:
    return shlex.split(text)
