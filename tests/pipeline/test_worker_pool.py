"""The local runners' pool of pre-imported pipeline workers (issue 14, first and under contention;
decision 096): real worker processes of this pipeline environment."""

from __future__ import annotations

import sys
from pathlib import Path

from experiments_platform.adapters.local_workers import WorkerPool, can_promote


def test_a_spare_imports_at_normal_priority_while_nothing_runs_and_is_handed_over_still_importing(tmp_path: Path):
    """Before: the spare imported at idle priority whatever ran, and a job that came before its imports
    were done got a second, fresh worker, both importing at once; the spare was never promoted."""
    pool = WorkerPool(sys.executable, tmp_path / "workers.log", idle=1)
    try:
        pool.prewarm()
        [spare] = pool.idle_workers()
        assert not spare.idle_priority
        assert not spare.is_ready(), "precondition: the imports take seconds"
        taken = pool.take()
        assert taken.pid == spare.pid
        assert pool.started == 2
        [replacement] = pool.idle_workers()
        assert replacement.idle_priority, "beside a busy worker a spare imports at idle priority"
        taken.kill()
    finally:
        pool.close()


def test_the_first_request_promotes_a_spare_importing_at_idle_priority(tmp_path: Path):
    assert can_promote(), "this test runs where a thread may leave SCHED_IDLE (root or CAP_SYS_NICE)"
    pool = WorkerPool(sys.executable, tmp_path / "workers.log", idle=1)
    try:
        pool.prewarm()
        busy = pool.take()
        second = pool.take()
        assert second.idle_priority and second.spare and not second.is_ready()
        second.send({"kind": "compile", "experiment_id": "promoted", "spec_uri": str(tmp_path / "missing.json"),
                     "output": str(tmp_path / "compiled.json"), "target": "local", "log": str(tmp_path / "c.log")})
        replies = list(second.messages())
        assert second.ready is not None
        assert second.ready["priority"] == "idle"
        assert second.ready["promoted"] == "normal"
        assert 0 < second.ready["promoted_after_s"] < second.ready["import_s"]
        assert [r["type"] for r in replies] == ["compiled", "exit"] and replies[0]["ok"] is False
        assert second.describe()["promoted"] == "normal"
        busy.kill()
    finally:
        pool.close()
