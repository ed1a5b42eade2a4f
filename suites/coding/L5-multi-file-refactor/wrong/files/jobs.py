# file: jobs.py
"""Backward compatibility: the code moved to the `scheduler` package."""

from scheduler import Job, JobQueue, JobStatus, RetryError, RetryPolicy, Scheduler

__all__ = ["Job", "JobStatus", "JobQueue", "RetryError", "RetryPolicy", "Scheduler"]
