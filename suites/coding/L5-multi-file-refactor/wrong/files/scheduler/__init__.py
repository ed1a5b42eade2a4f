# file: scheduler/__init__.py
"""Jobs, a priority queue of jobs, a retry policy and a scheduler that ties them together."""

from .runner import Scheduler
from .job import Job, JobStatus
from .queue import JobQueue
from .retry import RetryError, RetryPolicy

__all__ = ["Scheduler", "Job", "JobStatus", "JobQueue", "RetryError", "RetryPolicy"]
