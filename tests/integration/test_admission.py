"""Admission control (issue 10 section 2, decision 052) through the submitter, the status watcher,
cancel, reconcile and the gateway, on the real SQLite store and DuckDB warehouse (builds and
pipelines recorded, ``fakes``).

Before: 50 concurrent starts started 49 TFX processes (free memory 16.3 → 5.4 GiB in 112 s); no
queue, no message.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from child_processes import exit_codes, started
from experiments_platform.adapters.duckdb_warehouse import DuckDBWarehouse
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.bootstrap import Platform
from experiments_platform.config import Settings
from experiments_platform.events.messages import (
    CancelExperiment,
    PipelineJobStateChanged,
    SubmitExperiment,
    Topics,
    decode,
)
from experiments_platform.handlers import cancel, compute, reconcile, submitter
from experiments_platform.web.app import create_app
from fakes import recording_ports

from .lifecycle_support import make_experiment, store, stored, write_interactions

LIMIT = 2


def make(tmp_path: Path, **settings: Any) -> Platform:
    return Platform(Settings(data_dir=tmp_path, max_concurrent_runs=LIMIT, **settings),
                    documents=SqliteDocumentStore(tmp_path / "documents.sqlite"), warehouse=DuckDBWarehouse(),
                    **recording_ports())


@pytest.fixture
def platform(tmp_path: Path):
    platform = make(tmp_path)
    yield platform
    platform.close()


def seed(platform: Platform, tmp_path: Path, count: int) -> list[str]:
    uri = write_interactions(tmp_path)
    return [store(platform, make_experiment(uri, number=n)).id for n in range(1, count + 1)]


def statuses(platform: Platform, ids: list[str]) -> dict[str, list[int]]:
    """Exp numbers by status."""
    found: dict[str, list[int]] = {}
    for experiment_id in ids:
        doc = stored(platform, experiment_id)
        found.setdefault(doc["status"], []).append(doc["number"])
    return {status: sorted(numbers) for status, numbers in found.items()}


def deliver_submits(platform: Platform) -> list[str]:
    """Hand the submits admission published to the submitter, as the bus would."""
    published = [m for m in platform.bus.published if m[0] == Topics.SUBMIT]  # type: ignore[attr-defined]
    platform.bus.published.clear()  # type: ignore[attr-defined]
    ids = [decode(data, attributes).experiment_id for _, data, attributes in published]  # type: ignore[attr-defined]
    for experiment_id in ids:
        submitter.on_submit(platform, SubmitExperiment(experiment_id=experiment_id))
    return ids


def finish(platform: Platform, experiment_id: str, state: str = "PIPELINE_STATE_FAILED") -> None:
    """The experiment's job ends (its build adopted a job first)."""
    doc = stored(platform, experiment_id)
    job = f"projects/local/locations/local/pipelineJobs/qt-{experiment_id}-20260101120000"
    platform.builds.states[doc["cloud_build_id"]] = "SUCCESS"  # type: ignore[attr-defined]
    platform.builds.job_names[doc["cloud_build_id"]] = job  # type: ignore[attr-defined]
    compute.apply_job(platform, PipelineJobStateChanged(experiment_id=experiment_id, job_name=job,
                                                        state=state, error_message="boom"))  # type: ignore[arg-type]
    assert stored(platform, experiment_id)["status"] in ("failed", "completed", "cancelled")


def test_fifty_concurrent_starts_run_at_most_the_limit_and_queue_the_rest_in_order(platform, tmp_path):
    ids = seed(platform, tmp_path, 50)
    threads = [threading.Thread(target=submitter.on_submit, args=(platform, SubmitExperiment(experiment_id=i)))
               for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    found = statuses(platform, ids)
    assert sorted(found) == ["queued", "submitting"] and len(found["submitting"]) == LIMIT
    assert len(found["queued"]) == 50 - LIMIT, "none lost"
    assert len(platform.builds.started) == LIMIT, "only admitted experiments start a build"

    # Each run that ends hands its slot to the next in the queue, in Exp #N order.
    expected_next = found["queued"][:3]
    admitted_numbers = []
    for _ in range(3):
        running = [i for i in ids if stored(platform, i)["status"] == "submitting"]
        finish(platform, running[0])
        admitted = deliver_submits(platform)
        assert len(admitted) == 1
        admitted_numbers.append(stored(platform, admitted[0])["number"])
        assert stored(platform, admitted[0])["cloud_build_id"], "its build started"
    assert admitted_numbers == expected_next
    assert len(statuses(platform, ids)["submitting"]) == LIMIT


def test_cancelling_a_queued_experiment_never_starts_it(platform, tmp_path):
    first, second, third = seed(platform, tmp_path, LIMIT + 1)
    for experiment_id in (first, second, third):
        submitter.on_submit(platform, SubmitExperiment(experiment_id=experiment_id))
    assert stored(platform, third)["status"] == "queued"

    from experiments_platform.handlers import experiments
    experiments.cancel_experiment(platform.documents, platform.bus, third)
    cancel.on_cancel(platform, CancelExperiment(experiment_id=third))
    assert stored(platform, third)["status"] == "cancelled"

    finish(platform, first)
    assert deliver_submits(platform) == []
    submitter.on_submit(platform, SubmitExperiment(experiment_id=third))  # a late or repeated submit
    assert stored(platform, third)["status"] == "cancelled" and stored(platform, third)["cloud_build_id"] is None
    assert len(platform.builds.started) == LIMIT


def test_the_queue_survives_a_restart_and_reconcile_admits_when_a_release_was_lost(tmp_path):
    platform = make(tmp_path)
    ids = seed(platform, tmp_path, LIMIT + 2)
    for experiment_id in ids:
        submitter.on_submit(platform, SubmitExperiment(experiment_id=experiment_id))
    # The first run ends, but the process dies before it hands its slot on (the release is lost).
    from experiments_platform.domain import lifecycle
    from experiments_platform.domain.base import utcnow
    from experiments_platform.repositories.experiments import ExperimentRepository
    ExperimentRepository(platform.documents).update(
        ids[0], lambda e: lifecycle.fail(e, lifecycle.error_codes.TIMEOUT.error(), utcnow()))
    platform.close()

    restarted = make(tmp_path)
    assert statuses(restarted, ids)["queued"] == [3, 4], "the queue is in the document store"
    reconcile.reconcile(restarted)
    assert deliver_submits(restarted) == [ids[2]]
    assert statuses(restarted, ids) == {"failed": [1], "submitting": [2, 3], "queued": [4]}
    restarted.close()


def test_beyond_the_queue_bound_starting_answers_429_with_retry_after(tmp_path):
    platform = make(tmp_path, max_queued_runs=3)
    ids = seed(platform, tmp_path, LIMIT + 3)
    for experiment_id in ids:
        submitter.on_submit(platform, SubmitExperiment(experiment_id=experiment_id))
    client = create_app("api_gateway", platform).test_client()

    answer = client.post("/api/experiments", json={})
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "60"
    body = answer.get_json()
    assert body["error_code"] == "QUEUE_FULL" and "3 experiments are already waiting" in body["message"]
    assert body["details"] == {"waiting": 3, "max_queued_runs": 3, "max_concurrent_runs": LIMIT}

    listed = {item["number"]: item for item in client.get("/api/experiments").get_json()["items"]}
    assert [(listed[n].get("queue_position"), listed[n].get("queue_length")) for n in (3, 4, 5)] == [
        (1, 3), (2, 3), (3, 3)]
    assert "queue_position" not in listed[1]
    assert client.get(f"/api/experiments/{ids[3]}").get_json()["queue_position"] == 2

    cancelled = ids[2]
    client.post(f"/api/experiments/{cancelled}/cancel")
    assert client.post("/api/experiments", json={}).status_code == 400, "room again: the body is read"
    platform.close()


BOUND = 3
EACH = 4  # every gateway process tries to start more than the bound: together 8 against 3


def _gateway_process(path: str, uri: str, barrier: Any, outcomes: Any) -> None:
    """One gateway process (a Cloud Run instance or gunicorn worker): its own store client and its own
    in-memory index, which never sees the other process's experiments (refreshed hourly here, so the
    check cannot depend on timing), starting experiments as the gateway does (``room_in_queue``)."""
    from experiments_platform.errors import ContentionError, PlatformError
    from experiments_platform.handlers import admission
    from experiments_platform.repositories.experiment_index import ExperimentIndex
    from experiments_platform.repositories.experiments import ExperimentRepository

    platform = make(Path(path), max_queued_runs=BOUND)
    ExperimentIndex._instances[platform.documents] = ExperimentIndex(platform.documents, refresh_every_s=3600)
    ExperimentIndex.of(platform.documents).snapshot()  # loaded before either starts: empty
    barrier.wait()
    for _ in range(EACH):
        for _attempt in range(50):
            try:
                with admission.room_in_queue(platform):
                    ExperimentRepository(platform.documents).create(lambda n: make_experiment(uri, number=n))
                outcomes.append("started")
            except ContentionError:
                continue  # the store was busy: the client retries
            except PlatformError as exc:
                outcomes.append(f"{type(exc).__name__} {exc.code} {getattr(exc, 'retry_after_s', '')}")
            break
    platform.close()


def test_the_queue_bound_holds_across_gateway_processes(tmp_path):
    """Before: each gateway process counted the waiting experiments in its own in-memory index, so two
    processes starting at once queued 6 behind a bound of 3 (decision 052, amendment)."""
    import multiprocessing

    make(tmp_path).close()  # the store's schema, before the processes open it
    uri = write_interactions(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier, outcomes = manager.Barrier(2, timeout=120), manager.list()
        with started(ctx, _gateway_process, [(str(tmp_path), uri, barrier, outcomes)] * 2) as workers:
            assert exit_codes(workers, timeout_s=240) == [0, 0]
        outcomes = list(outcomes)

    platform = make(tmp_path)
    waiting = [d for d in platform.documents.query("experiments") if d["status"] in ("pending", "queued")]
    platform.close()
    assert len(outcomes) == 2 * EACH
    assert len(waiting) == outcomes.count("started") == BOUND, outcomes
    assert sorted(set(outcomes) - {"started"}) == ["QueueFull QUEUE_FULL 60"], "every refusal is the queue's 429"
