# file: scheduler/queue.py
"""The queue of pending jobs."""

from __future__ import annotations

import heapq
import itertools

from .job import Job


class JobQueue:
    """Pending jobs: the highest priority comes out first, ties first in, first out."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Job]] = []
        self._counter = itertools.count()

    def push(self, job: Job) -> None:
        heapq.heappush(self._heap, (-job.priority, next(self._counter), job))

    def pop(self) -> Job | None:
        if not self._heap:
            return None
        return heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return len(self._heap)
