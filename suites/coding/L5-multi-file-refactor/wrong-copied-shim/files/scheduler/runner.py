# file: scheduler/runner.py
"""The scheduler: runs queued jobs with retries."""

from __future__ import annotations

from typing import Any, Callable

from .job import Job, JobStatus
from .queue import JobQueue
from .retry import RetryError, RetryPolicy


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
