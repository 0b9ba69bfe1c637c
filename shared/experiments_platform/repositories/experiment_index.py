"""Every experiment's summary in memory, for lists and the dashboard: one per process and store.

A read costs no document reads when nothing changed: the index asks the store at most every
``refresh_every_s`` for the summaries updated since the newest it holds (less ``skew_s``, for
writers whose clocks lag), and the repository's own writes in this process reach it at once
(``experiments.watch``). One thread asks; readers meanwhile get what the index holds instead of
waiting for the store (only the first load is waited for). A ``Snapshot`` is an immutable view at
one version; views computed from it (a sorted list, a leaderboard) are kept with it until the next
change.

The first read of a process loads every summary, after writing the missing ones when the store
holds documents from before summaries (``ExperimentRepository.backfill_summaries``).
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import TypeAdapter

from experiments_platform.domain.base import Timestamp
from experiments_platform.ports.documents import Doc, DocumentStore, Filter
from experiments_platform.repositories.experiments import ExperimentRepository, watch

T = TypeVar("T")
MAX_VIEWS = 1024
"""Computed views kept per snapshot (distinct sorts, filters, pages and their answers asked since the last change)."""
_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(Timestamp)


class Snapshot:
    """The summaries at one version (read-only: share, never change them) and the views computed from them."""

    def __init__(self, version: int, documents: tuple[Doc, ...]) -> None:
        self.version = version
        self.documents = documents
        self._views: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def view(self, key: Hashable, compute: Callable[[tuple[Doc, ...]], T]) -> T:
        """``compute(documents)``, computed once per snapshot and ``key`` (exceptions are not kept)."""
        found = self.kept(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        value = compute(self.documents)
        self.keep(key, value)
        return value

    def kept(self, key: Hashable) -> Any:
        """What ``keep`` or ``view`` kept under ``key`` for this snapshot, or None."""
        with self._lock:
            return self._views.get(key)

    def keep(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` (computed from this snapshot) under ``key`` until the experiments change."""
        with self._lock:
            if len(self._views) >= MAX_VIEWS:
                self._views.clear()
            self._views[key] = value


class ExperimentIndex:
    def __init__(self, documents: DocumentStore, *, refresh_every_s: float = 0.5, skew_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._repository = ExperimentRepository(documents)
        self.refresh_every_s = refresh_every_s
        self.skew = timedelta(seconds=skew_s)
        self._clock = clock
        self._by_id: dict[str, Doc] = {}
        self._newest = ""
        self._loaded = False
        self._checked = float("-inf")
        self._version = 0
        self._snapshot = Snapshot(0, ())
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        watch(documents, self.note)

    _instances: weakref.WeakKeyDictionary[Any, ExperimentIndex] = weakref.WeakKeyDictionary()
    _instances_lock = threading.Lock()

    @classmethod
    def of(cls, documents: DocumentStore) -> ExperimentIndex:
        """This process's index of ``documents``."""
        with cls._instances_lock:
            index = cls._instances.get(documents)
            if index is None:
                index = cls._instances[documents] = cls(documents)
            return index

    def note(self, summary: Doc) -> None:
        """A summary this process has just written."""
        with self._lock:
            if self._loaded:
                self._merge([summary])

    def snapshot(self) -> Snapshot:
        """The summaries as of now (at most ``refresh_every_s`` behind other processes' writes)."""
        self._refresh()
        with self._lock:
            if self._snapshot.version != self._version:
                self._snapshot = Snapshot(self._version, tuple(self._by_id.values()))
            return self._snapshot

    def _refresh(self) -> None:
        if self._loaded and self._clock() - self._checked < self.refresh_every_s:
            return
        if not self._refreshing.acquire(blocking=not self._loaded):
            return  # another thread is asking the store: read what is held (as fresh as the interval allows)
        try:
            self._refresh_held()
        finally:
            self._refreshing.release()

    def _refresh_held(self) -> None:
        started = self._clock()
        if self._loaded and started - self._checked < self.refresh_every_s:
            return
        if not self._loaded:
            if not self._repository.summaries_current():
                self._repository.backfill_summaries()
            rows = self._repository.summaries()
            with self._lock:
                self._by_id.clear()
                self._loaded = True
                self._merge(rows)
        else:
            since = _TIMESTAMP.dump_python(_TIMESTAMP.validate_python(self._newest) - self.skew, mode="json")
            rows = self._repository.summaries([Filter("updated_at", ">=", since)])
            with self._lock:
                self._merge(rows)
        self._checked = started

    def _merge(self, rows: list[Doc]) -> None:
        for row in rows:
            if self._by_id.get(row["id"]) != row:
                self._by_id[row["id"]] = row
                self._version += 1
            stamp = row.get("updated_at")
            if isinstance(stamp, str) and stamp > self._newest:
                self._newest = stamp
        if not self._newest:
            self._newest = _TIMESTAMP.dump_python(datetime.fromtimestamp(0).astimezone(), mode="json")


def warm(documents: DocumentStore) -> None:
    """Load this process's index of ``documents`` now, then leave every object alive (the summaries,
    the modules) out of the cyclic collector's full collections (``gc.freeze``): with 1,000 summaries
    one took 0.3-0.6 s on this machine, a pause of every request in flight. Frozen objects are still
    freed when no longer referenced (summaries hold no cycles)."""
    ExperimentIndex.of(documents).snapshot()
    gc.freeze()
