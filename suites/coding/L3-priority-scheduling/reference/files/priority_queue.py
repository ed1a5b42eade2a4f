# file: priority_queue.py
"""A thread-safe priority job queue with FIFO ties and optional aging."""

from __future__ import annotations

import itertools
import threading


class _Entry:
    __slots__ = ("seq", "job_id", "data", "priority", "handed_out_at_add")

    def __init__(self, seq: int, job_id: str, data: object, priority: int, handed_out: int) -> None:
        self.seq = seq
        self.job_id = job_id
        self.data = data
        self.priority = priority
        self.handed_out_at_add = handed_out


class PriorityJobQueue:
    """Hands out the pending job with the highest effective priority; ties go first in, first out."""

    def __init__(self, aging_interval: int | None = None) -> None:
        if aging_interval is not None and (
            not isinstance(aging_interval, int) or isinstance(aging_interval, bool) or aging_interval < 1
        ):
            raise ValueError("aging_interval must be None or an int >= 1")
        self._aging = aging_interval
        self._lock = threading.Lock()
        self._pending: dict[str, _Entry] = {}
        self._seq = itertools.count()
        self._handed_out = 0

    def add_job(self, job_id: str, data: object, priority: int = 0) -> str:
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("job_id must be a non-empty str")
        with self._lock:
            if job_id in self._pending:
                raise ValueError(f"job {job_id!r} is already pending")
            self._pending[job_id] = _Entry(next(self._seq), job_id, data, priority, self._handed_out)
        return job_id

    def _effective(self, entry: _Entry) -> int:
        if self._aging is None:
            return entry.priority
        waited = self._handed_out - entry.handed_out_at_add
        return entry.priority + waited // self._aging

    def _best(self) -> _Entry | None:
        # Caller holds the lock.
        best: _Entry | None = None
        best_eff = 0
        for entry in self._pending.values():
            eff = self._effective(entry)
            if best is None or eff > best_eff or (eff == best_eff and entry.seq < best.seq):
                best, best_eff = entry, eff
        return best

    def get_next_job(self) -> tuple[str, object] | None:
        with self._lock:
            best = self._best()
            if best is None:
                return None
            del self._pending[best.job_id]
            self._handed_out += 1
            return best.job_id, best.data

    def peek(self) -> tuple[str, object] | None:
        with self._lock:
            best = self._best()
            return None if best is None else (best.job_id, best.data)

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            return self._pending.pop(job_id, None) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)
