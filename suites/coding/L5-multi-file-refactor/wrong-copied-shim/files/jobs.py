# file: jobs.py
"""Jobs, a priority queue of jobs, a retry policy and a scheduler that ties them together."""

from __future__ import annotations

import enum
import heapq
import itertools
import time
from dataclasses import dataclass
from typing import Any, Callable


class JobStatus(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass
class Job:
    """One unit of work: fn(*args), run by the scheduler."""

    job_id: str
    fn: Callable[..., Any]
    args: tuple = ()
    priority: int = 0
    status: JobStatus = JobStatus.PENDING
    attempts: int = 0
    result: Any = None
    error: BaseException | None = None


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


class RetryError(Exception):
    """Every attempt failed; the last exception is also the __cause__."""

    def __init__(self, attempts: int, last_exception: BaseException) -> None:
        super().__init__(f"failed after {attempts} attempts: {last_exception!r}")
        self.attempts = attempts
        self.last_exception = last_exception


class RetryPolicy:
    """Calls a function up to max_attempts times, with exponential backoff in between."""

    def __init__(self, max_attempts: int = 3, base_delay: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.sleep = sleep

    def delay(self, retry_number: int) -> float:
        return self.base_delay * 2 ** (retry_number - 1)

    def call(self, fn: Callable[..., Any], *args: Any) -> tuple[Any, int]:
        """Returns (result, attempts used); raises RetryError when every attempt fails."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn(*args), attempt
            except Exception as exc:
                if attempt == self.max_attempts:
                    raise RetryError(attempt, exc) from exc
                self.sleep(self.delay(attempt))
        raise AssertionError("unreachable")


class Scheduler:
    """Runs submitted jobs in priority order, retrying failures with a RetryPolicy."""

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy if policy is not None else RetryPolicy()
        self.queue = JobQueue()
        self.jobs: dict[str, Job] = {}

    def submit(self, job_id: str, fn: Callable[..., Any], *args: Any, priority: int = 0) -> Job:
        if job_id in self.jobs:
            raise ValueError(f"duplicate job id {job_id!r}")
        job = Job(job_id, fn, args, priority)
        self.jobs[job_id] = job
        self.queue.push(job)
        return job

    def run_next(self) -> Job | None:
        job = self.queue.pop()
        if job is None:
            return None
        job.status = JobStatus.RUNNING
        try:
            job.result, job.attempts = self.policy.call(job.fn, *job.args)
            job.status = JobStatus.SUCCEEDED
        except RetryError as exc:
            job.attempts = exc.attempts
            job.error = exc.last_exception
            job.status = JobStatus.FAILED
        return job

    def run_all(self) -> list[Job]:
        done = []
        while (job := self.run_next()) is not None:
            done.append(job)
        return done

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)
