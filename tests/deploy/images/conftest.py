"""Images built from the repository's Dockerfiles and run with rootful podman (``make test-images``).

Collected only when ``PLATFORM_IMAGE_TESTS=1`` (the make target sets it): building every image
takes minutes, so ``make test`` leaves this folder to its own target, which ``.ci/run`` calls.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parents[1])]  # podman helpers, deploy_model, grpc_recorder

if os.environ.get("PLATFORM_IMAGE_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]
