# file: job_queue.py
"""A thread-safe first-in, first-out job queue."""

from __future__ import annotations

import threading
from collections import deque

PENDING = "pending"
RUNNING = "running"
DONE = "done"


class _Job:
    __slots__ = ("job_id", "data", "status", "result")

    def __init__(self, job_id: str, data: object) -> None:
        self.job_id = job_id
        self.data = data
        self.status = PENDING
        self.result: object = None


class JobQueue:
    """FIFO job queue; every method is safe to call from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._pending: deque[_Job] = deque()

    def add_job(self, job_id: str, data: object) -> str:
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("job_id must be a non-empty str")
        with self._lock:
            if job_id in self._jobs:
                raise ValueError(f"duplicate job_id: {job_id!r}")
            job = _Job(job_id, data)
            self._jobs[job_id] = job
            self._pending.append(job)
        return job_id

    def get_next_job(self) -> tuple[str, object] | None:
        with self._lock:
            if not self._pending:
                return None
            job = self._pending.popleft()
            job.status = RUNNING
            return job.job_id, job.data

    def complete_job(self, job_id: str, result: object) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise KeyError(job_id)
            if job.status != RUNNING:
                raise ValueError(f"job {job_id!r} is {job.status}, not running")
            job.result = result
            job.status = DONE

    def get_result(self, job_id: str) -> dict | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            return {"job_id": job.job_id, "status": job.status, "result": job.result}

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)
