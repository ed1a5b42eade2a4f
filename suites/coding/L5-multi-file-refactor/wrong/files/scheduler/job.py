# file: scheduler/job.py
"""Jobs and their states."""

from __future__ import annotations

import enum
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
