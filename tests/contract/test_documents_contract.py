"""Contract of ports.documents.DocumentStore, run against the embedded SQLite store and Firestore (emulator)."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from child_processes import exit_codes, started
from experiments_platform.adapters._shared import ReadAfterWriteError
from experiments_platform.adapters.firestore_documents import FirestoreDocumentStore
from experiments_platform.adapters.sqlite_documents import SqliteDocumentStore
from experiments_platform.errors import AlreadyExists, InvalidInput
from experiments_platform.ports.documents import DocumentStore, Filter, Order


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.emulators)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DocumentStore]:
    if request.param == "sqlite":
        sqlite = SqliteDocumentStore(tmp_path / "documents.sqlite")
        yield sqlite
        sqlite.close()
    else:
        emulators = request.getfixturevalue("firestore_emulator")
        firestore = FirestoreDocumentStore(project=emulators.project)
        yield firestore
        firestore.close()


def experiment(doc_id: str, number: int, status: str, epochs: int, **extra: object) -> dict:
    return {
        "id": doc_id,
        "number": number,
        "status": status,
        "parameters": {"epochs": epochs, "split": {"strategy": "random"}},
        "created_at": f"2026-01-{number:02d}T10:00:00.000000Z",
        **extra,
    }


def test_get_missing_is_none(store: DocumentStore) -> None:
    assert store.get("experiments", "nope") is None


def test_create_then_get_round_trips_json_values(store: DocumentStore) -> None:
    doc = {
        "name": "Exp ünïcode <b>",
        "count": 3,
        "ratio": 0.25,
        "flag": True,
        "missing": None,
        "tags": ["a", "b"],
        "nested": {"deep": {"value": 7}},
    }
    store.create("experiments", "e1", doc)
    assert store.get("experiments", "e1") == doc


def test_create_twice_raises_already_exists(store: DocumentStore) -> None:
    store.create("experiments", "e1", {"v": 1})
    with pytest.raises(AlreadyExists):
        store.create("experiments", "e1", {"v": 2})
    assert store.get("experiments", "e1") == {"v": 1}


def test_set_creates_and_replaces_whole_document(store: DocumentStore) -> None:
    store.set("experiments", "e1", {"a": 1, "b": 2})
    store.set("experiments", "e1", {"a": 3})
    assert store.get("experiments", "e1") == {"a": 3}


def test_delete_reports_whether_something_was_deleted(store: DocumentStore) -> None:
    store.create("experiments", "e1", {"v": 1})
    assert store.delete("experiments", "e1") is True
    assert store.delete("experiments", "e1") is False
    assert store.get("experiments", "e1") is None


def test_collections_are_separate(store: DocumentStore) -> None:
    store.create("datasets", "x", {"kind": "dataset"})
    store.create("experiments", "x", {"kind": "experiment"})
    assert store.get("datasets", "x") == {"kind": "dataset"}
    assert [d["kind"] for d in store.query("experiments")] == ["experiment"]


@pytest.fixture
def five(store: DocumentStore) -> DocumentStore:
    store.create("experiments", "a", experiment("a", 1, "completed", 3, recall=0.2, tags=["x"]))
    store.create("experiments", "b", experiment("b", 2, "failed", 5, tags=["y"]))
    store.create("experiments", "c", experiment("c", 3, "completed", 5, recall=0.4, tags=["x", "y"]))
    store.create("experiments", "d", experiment("d", 4, "completed", 10, recall=0.3))
    store.create("experiments", "e", experiment("e", 5, "running", 3))
    return store


def ids(docs: list[dict]) -> list[str]:
    return [d["id"] for d in docs]


def test_query_filter_order_limit(five: DocumentStore) -> None:
    docs = five.query("experiments", [Filter("status", "==", "completed")], [Order("number", "desc")], limit=2)
    assert ids(docs) == ["d", "c"]


def test_query_on_nested_fields(five: DocumentStore) -> None:
    ordered = [Order("parameters.epochs"), Order("number")]
    docs = five.query("experiments", [Filter("parameters.epochs", ">=", 5)], ordered)
    assert ids(docs) == ["b", "c", "d"]
    docs = five.query("experiments", [Filter("parameters.split.strategy", "==", "random")], [Order("number", "desc")])
    assert ids(docs) == ["e", "d", "c", "b", "a"]


def test_query_offset_paginates(five: DocumentStore) -> None:
    ordered = [Order("created_at", "desc")]
    pages = [ids(five.query("experiments", order_by=ordered, limit=2, offset=o)) for o in (0, 2, 4)]
    assert pages == [["e", "d"], ["c", "b"], ["a"]]


def test_query_without_order_is_by_document_id(five: DocumentStore) -> None:
    assert ids(five.query("experiments")) == ["a", "b", "c", "d", "e"]


def test_order_by_skips_documents_without_the_field(five: DocumentStore) -> None:
    assert ids(five.query("experiments", order_by=[Order("recall", "desc")])) == ["c", "d", "a"]


def test_in_and_array_contains(five: DocumentStore) -> None:
    docs = five.query("experiments", [Filter("status", "in", ["failed", "running"])], [Order("number")])
    assert ids(docs) == ["b", "e"]
    docs = five.query("experiments", [Filter("tags", "array_contains", "y")], [Order("number")])
    assert ids(docs) == ["b", "c"]


def test_not_equal_skips_documents_without_the_field(five: DocumentStore) -> None:
    docs = five.query("experiments", [Filter("recall", "!=", 0.3)], [Order("recall")])
    assert ids(docs) == ["a", "c"]


def test_filters_compare_only_values_of_the_same_type(store: DocumentStore) -> None:
    for doc_id, value in [("int", 1), ("str", "1"), ("bool", True), ("null", None), ("float", 1.5)]:
        store.create("things", doc_id, {"id": doc_id, "v": value})
    assert ids(store.query("things", [Filter("v", "==", 1)])) == ["int"]
    assert ids(store.query("things", [Filter("v", "==", "1")])) == ["str"]
    assert ids(store.query("things", [Filter("v", "==", True)])) == ["bool"]
    assert ids(store.query("things", [Filter("v", "==", None)])) == ["null"]
    assert ids(store.query("things", [Filter("v", ">", 0)], [Order("v")])) == ["int", "float"]
    assert ids(store.query("things", order_by=[Order("v")])) == ["null", "bool", "int", "float", "str"]


def test_iso_timestamps_order_chronologically(store: DocumentStore) -> None:
    stamps = ["2026-03-01T00:00:00.000001Z", "2025-12-31T23:59:59.999999Z", "2026-01-15T12:00:00.500000Z"]
    for i, ts in enumerate(stamps):
        store.create("experiments", f"t{i}", {"created_at": ts})
    docs = store.query("experiments", [Filter("created_at", ">=", "2026-01-01")], [Order("created_at")])
    assert [d["created_at"][:10] for d in docs] == ["2026-01-15", "2026-03-01"]


def test_bad_field_path_is_rejected_with_the_field(store: DocumentStore) -> None:
    with pytest.raises(InvalidInput, match="parameters..epochs"):
        store.query("experiments", [Filter("parameters..epochs", "==", 1)])


def test_transaction_read_modify_write(store: DocumentStore) -> None:
    store.create("counters", "experiments", {"value": 4})

    def next_number(txn):
        current = txn.get("counters", "experiments")
        number = current["value"] + 1
        txn.set("counters", "experiments", {"value": number})
        txn.create("experiments", f"exp{number}", {"number": number})
        return number

    assert store.run_transaction(next_number) == 5
    assert store.get("counters", "experiments") == {"value": 5}
    assert store.get("experiments", "exp5") == {"number": 5}


def increment(txn) -> int:
    current = txn.get("counters", "c") or {"value": 0}
    txn.set("counters", "c", {"value": current["value"] + 1})
    return current["value"] + 1


def test_two_concurrent_writers_lose_no_update(store: DocumentStore) -> None:
    per_writer = 3
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            barrier.wait()
            for _ in range(per_writer):
                store.run_transaction(increment)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert store.get("counters", "c") == {"value": 2 * per_writer}


def test_failed_transaction_writes_nothing(store: DocumentStore) -> None:
    store.create("experiments", "taken", {"v": 1})

    def conflicting(txn):
        txn.set("experiments", "other", {"v": 2})
        txn.create("experiments", "taken", {"v": 3})

    with pytest.raises(AlreadyExists):
        store.run_transaction(conflicting)
    assert store.get("experiments", "other") is None

    def failing(txn):
        txn.get("experiments", "taken")
        txn.set("experiments", "taken", {"v": 9})
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError):
        store.run_transaction(failing)
    assert store.get("experiments", "taken") == {"v": 1}


def test_reads_must_come_before_writes(store: DocumentStore) -> None:
    def read_after_write(txn):
        txn.set("experiments", "a", {"v": 1})
        txn.get("experiments", "b")

    with pytest.raises(ReadAfterWriteError, match="before the first write"):
        store.run_transaction(read_after_write)
    assert store.get("experiments", "a") is None


def _process_writer(path: str, count: int) -> None:
    store = SqliteDocumentStore(path)
    for _ in range(count):
        store.run_transaction(increment)
    store.close()


def test_sqlite_transactions_are_serialized_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    SqliteDocumentStore(path).close()
    with started(multiprocessing.get_context("spawn"), _process_writer, [(path, 20)] * 2) as workers:
        assert exit_codes(workers, timeout_s=120) == [0, 0]
    assert SqliteDocumentStore(path).get("counters", "c") == {"value": 40}


def _open_fresh(path: str, barrier: object, failures: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        SqliteDocumentStore(path).close()
    except Exception as error:  # noqa: BLE001 - the test reports what the worker raised
        failures.append(repr(error))  # type: ignore[attr-defined]


def test_processes_opening_a_new_file_at_once_all_start(tmp_path: Path) -> None:
    """gunicorn's workers (the gateway image runs two) open the same new file at the same moment.

    Switching a new file to WAL raced between them: 'database is locked' killed a worker in CI; this test
    failed three runs in three before the fix.

    The workers come from a fork server: forking pytest itself, which holds gRPC threads by then, left a
    child deadlocked in CI, and the others waiting for it at the barrier."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["experiments_platform.adapters.sqlite_documents"])
    with ctx.Manager() as manager:
        failures = manager.list()
        for round_ in range(25):
            path = str(tmp_path / f"round{round_}.sqlite")
            barrier = manager.Barrier(8, timeout=60)
            with started(ctx, _open_fresh, [(path, barrier, failures)] * 8) as workers:
                assert exit_codes(workers, timeout_s=120) == [0] * 8, f"round {round_}: {list(failures)}"
        assert list(failures) == []


def test_sqlite_rejects_nested_transactions(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "d.sqlite")
    with pytest.raises(InvalidInput, match="cannot be nested"):
        store.run_transaction(lambda txn: store.run_transaction(increment))
    assert store.run_transaction(increment) == 1
    store.close()


def test_sqlite_threads_that_come_and_go_leave_no_open_handles(tmp_path: Path) -> None:
    import os

    store = SqliteDocumentStore(tmp_path / "d.sqlite")
    store.set("experiments", "e1", {"v": 1})
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        threads = [threading.Thread(target=store.get, args=("experiments", "e1")) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(os.listdir("/proc/self/fd")) - before <= 3 * 8
    store.close()
    assert len(os.listdir("/proc/self/fd")) <= before
