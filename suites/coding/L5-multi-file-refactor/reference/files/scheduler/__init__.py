# file: scheduler/__init__.py
"""Jobs, a priority queue of jobs, a retry policy and a scheduler that ties them together."""

from .job import Job, JobStatus
from .queue import JobQueue
from .retry import RetryError, RetryPolicy
from .runner import Scheduler

__all__ = ["Job", "JobStatus", "JobQueue", "RetryError", "RetryPolicy", "Scheduler"]
