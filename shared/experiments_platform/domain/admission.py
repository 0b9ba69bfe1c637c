"""Admission control (decision 052): at most ``limit`` experiments hold a run slot at once.

A new experiment is ``pending``; admission either gives it a free run slot (``submitting``: its
build may start) or puts it in the queue (``queued``). The queue is the experiments themselves in
the document store, in Exp #N order, so it survives restarts; the run-slot ledger (one document
the repository reads and writes in the admission transaction) names the experiments admitted,
so two admissions at once cannot both take the last slot. An experiment holds its slot while it
is ``submitting`` or ``running`` (``status.HOLDS_SLOT``); a holder that has ended (or vanished)
frees its slot the next time admission runs, so a lost release never leaks a slot.

Everything here is pure: the repository runs ``assign`` inside its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from experiments_platform.domain import lifecycle
from experiments_platform.domain.experiment import Experiment
from experiments_platform.domain.status import HOLDS_SLOT, WAITING

GiB = 1024 ** 3
CORES_PER_RUN = 2
MEMORY_PER_RUN = 8 * GiB
"""What one local quick test may use at its peak (TFX with Beam's workers, TensorFlow training)."""


def local_run_limit(cores: int, memory_bytes: int) -> int:
    """Runs a local machine takes at once: one per ``CORES_PER_RUN`` cores and ``MEMORY_PER_RUN``, at least one."""
    return max(1, min(cores // CORES_PER_RUN, memory_bytes // MEMORY_PER_RUN))


@dataclass
class Assignment:
    """What one admission decided: the new ledger, and the candidates it admitted or queued."""

    holders: list[str]
    admitted: list[Experiment] = field(default_factory=list)
    queued: list[Experiment] = field(default_factory=list)

    @property
    def changed(self) -> list[Experiment]:
        return [*self.admitted, *self.queued]


def holding(experiments: Sequence[Experiment | None]) -> list[str]:
    """The ids of the experiments that still hold a slot (an ended or missing one frees its slot)."""
    return [e.id for e in experiments if e is not None and e.status in HOLDS_SLOT]


def free_slots(holders: Sequence[str], limit: int) -> int:
    return max(0, limit - len(holders))


def assign(holders: Sequence[str], candidates: Sequence[Experiment], newcomer: Experiment | None, limit: int,
           now: datetime) -> Assignment:
    """Give the free slots to the waiting ``candidates`` in their order (the queue, Exp #N order), then
    to the ``newcomer`` (a pending experiment asking for the first time); a newcomer left without a
    slot is queued. An experiment whose cancel was requested is never admitted."""
    result = Assignment(holders=list(holders))
    for candidate in [*candidates, *([newcomer] if newcomer else [])]:
        if candidate.status not in WAITING or candidate.cancel_requested or candidate.id in result.holders:
            continue
        if free_slots(result.holders, limit) and lifecycle.admitted(candidate, now):
            result.holders.append(candidate.id)
            result.admitted.append(candidate)
        elif candidate is newcomer and lifecycle.queued(candidate, now):
            result.queued.append(candidate)
    return result


def queue_positions(waiting: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Position in the queue (1 is next) of each queued experiment, given as (id, Exp #N)."""
    return {experiment_id: position for position, (experiment_id, _) in
            enumerate(sorted(waiting, key=lambda pair: pair[1]), start=1)}
