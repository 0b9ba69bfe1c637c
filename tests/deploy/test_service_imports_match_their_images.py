"""A service's entry point imports with only what its image installs (``requirements/images/SERVICE.lock``).

The images are built and started in ``make test-images`` (tests/deploy/images); this is the fast check the
suite runs on every change: each service's ``main`` module is imported in a fresh interpreter in which the
packages its image lacks cannot be imported (numpy reached the submitter through the watches' noise bands
once, and every service without numpy failed to boot on Cloud Run).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "pandas", "pyarrow", "tensorflow")
"""Packages of the services environment that some images leave out (the lock says which)."""
SERVICES = sorted(p.stem for p in (REPO / "requirements" / "images").glob("*.lock"))

BLOCKER = """
import importlib.abc, runpy, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in the image)")
        return None
sys.meta_path.insert(0, Block())
sys.path.insert(0, {service_dir!r})
runpy.run_path({main!r}, run_name="imported")
"""


def missing_from_image(service: str) -> set[str]:
    lock = (REPO / "requirements" / "images" / f"{service}.lock").read_text().lower()
    return {name for name in HEAVY if f"\n{name}==" not in f"\n{lock}"}


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_imports_without_what_its_image_lacks(service: str, tmp_path: Path) -> None:
    service_dir = REPO / "services" / service
    code = BLOCKER.format(blocked=sorted(missing_from_image(service)), service_dir=str(service_dir),
                          main=str(service_dir / "main.py"))
    env = {**os.environ, "PLATFORM_DATA_DIR": str(tmp_path)}  # importing main builds its platform: state stays here
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, f"{service} lacks {sorted(missing_from_image(service))}:\n{run.stderr[-3000:]}"
