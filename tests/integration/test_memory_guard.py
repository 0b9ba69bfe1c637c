"""The memory guard of local workers (issue 10 section 2) on real processes: a process group that keeps
allocating is stopped once it holds more than its limit, and its job fails as out of memory with its
peak (classified OUT_OF_MEMORY), not as an unknown SIGKILL.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from experiments_platform.adapters.memory_guard import GiB, MemoryGuard, group_rss_bytes
from experiments_platform.domain import error_codes
from experiments_platform.domain.error_patterns import classify
from experiments_platform.domain.status import Stage

MiB = 1024 ** 2

# A parent and a child (as Beam's workers are), each allocating 20 MiB at a time up to 1 GiB.
HUNGRY = """
import subprocess, sys, time
if sys.argv[1:] != ["child"]:
    subprocess.Popen([sys.executable, __file__, "child"])
held = []
for _ in range(50):
    held.append(bytearray(20 * 1024 * 1024))
    time.sleep(0.05)
time.sleep(30)
"""


def start_hungry(tmp_path: Path) -> subprocess.Popen[bytes]:
    script = tmp_path / "hungry.py"
    script.write_text(HUNGRY)
    return subprocess.Popen([sys.executable, str(script)], start_new_session=True)


def test_a_group_over_its_limit_is_stopped_and_fails_as_out_of_memory_with_its_peak(tmp_path: Path) -> None:
    process = start_hungry(tmp_path)
    guard = MemoryGuard(process.pid, limit=300 * MiB, every_s=0.1).start()
    try:
        code = process.wait(timeout=60)
    finally:
        guard.stop()
    assert code == -9 and guard.exceeded
    assert 300 * MiB < guard.peak < 1.5 * GiB
    assert group_rss_bytes(process.pid) == 0, "the child was stopped too"

    error = classify(f"the pipeline worker (pid {process.pid}) running Trainer {guard.ended_text()}", Stage.TRAIN)
    assert error.code == error_codes.OUT_OF_MEMORY.code
    assert f"ran out of memory (peak {guard.peak / GiB:.1f} GiB; a local run may hold 0.3 GiB" in error.excerpt


def test_without_a_limit_the_guard_only_measures(tmp_path: Path) -> None:
    process = start_hungry(tmp_path)
    guard = MemoryGuard(process.pid, limit=None, every_s=0.1).start()
    try:
        while guard.peak < 200 * MiB and process.poll() is None:
            guard._stop.wait(0.1)
    finally:
        process.kill()
        process.wait()
        guard.stop()
    assert not guard.exceeded and guard.peak >= 200 * MiB
    assert guard.ended_text().startswith("peak memory 0.")
